from __future__ import annotations

from pathlib import Path

import pytest

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import MAX_FILE_BYTES, parse_frontmatter


def test_splits_metadata_and_body() -> None:
    doc = parse_frontmatter("---\nname: a\ndescription: b\n---\n# Title\nText\n")
    assert doc.metadata == {"name": "a", "description": "b"}
    assert doc.body == "# Title\nText\n"
    assert doc.body_line == 5
    assert doc.diagnostics == ()


def test_no_frontmatter_means_the_whole_file_is_the_body() -> None:
    doc = parse_frontmatter("# Just markdown\n---\nnot: yaml\n")
    assert doc.metadata == {}
    assert not doc.has_frontmatter
    assert doc.body.startswith("# Just markdown")


def test_delimiter_inside_a_value_does_not_close() -> None:
    doc = parse_frontmatter("---\ndescription: a --- b\nname: x\n---\nbody")
    assert doc.metadata == {"description": "a --- b", "name": "x"}
    assert doc.body == "body"


def test_bom_and_crlf() -> None:
    doc = parse_frontmatter("\ufeff---\r\nname: x\r\n---\r\nline1\r\nline2".encode())
    assert doc.metadata == {"name": "x"}
    assert doc.body == "line1\nline2"


def test_folded_and_literal_scalars() -> None:
    doc = parse_frontmatter("---\ndescription: >\n  one\n  two\nwhen_to_use: |\n  a\n  b\n---\n")
    assert doc.metadata["description"] == "one two\n"
    assert doc.metadata["when_to_use"] == "a\nb\n"


def test_unquoted_colon_fallback_reads_the_value_and_warns() -> None:
    doc = parse_frontmatter("---\nname: x\ndescription: Use when: the user asks\n---\nb")
    assert doc.metadata == {"name": "x", "description": "Use when: the user asks"}
    assert [d.level for d in doc.diagnostics] == ["warning"]
    assert doc.diagnostics[0].line == 3


def test_argument_hint_with_brackets_and_pipe() -> None:
    doc = parse_frontmatter("---\nargument-hint: [file] | [dir]\ndescription: d\n---\n")
    assert doc.metadata["argument-hint"] == "[file] | [dir]"


def test_tab_indentation_is_repaired() -> None:
    doc = parse_frontmatter("---\nmetadata:\n\tauthor: me\n---\n")
    assert doc.metadata == {"metadata": {"author": "me"}}


def test_malformed_yaml_gives_empty_metadata_and_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "SKILL.md"
    doc = parse_frontmatter("---\nname: x\nmetadata:\n  a: 'open\n---\nbody", path=path)
    assert doc.metadata == {}
    assert doc.body == "body"
    (diag,) = doc.diagnostics
    assert diag.level == "error"
    assert diag.path == path
    assert diag.line == 4


def test_a_broken_flow_value_is_read_as_text_with_a_warning() -> None:
    doc = parse_frontmatter("---\nname: x\nhooks: {a: [1, 2}\n---\nbody")
    assert doc.metadata == {"name": "x", "hooks": "{a: [1, 2}"}
    assert doc.diagnostics[0].level == "warning"


def test_non_mapping_frontmatter_is_an_error() -> None:
    doc = parse_frontmatter("---\n- a\n- b\n---\nbody")
    assert doc.metadata == {}
    assert "mapping" in doc.diagnostics[0].message


def test_unclosed_frontmatter_keeps_everything_as_body() -> None:
    doc = parse_frontmatter("---\nname: x\nbody without end")
    assert doc.metadata == {}
    assert "never closed" in doc.diagnostics[0].message


def test_invalid_utf8_is_replaced_with_a_warning() -> None:
    doc = parse_frontmatter(b"---\nname: x\n---\nbad \xff byte")
    assert doc.metadata == {"name": "x"}
    assert "\ufffd" in doc.body
    assert doc.diagnostics[0].line == 4


def test_alias_bomb_is_refused() -> None:
    anchors = "a: &a [x]\n" + "".join(f"k{i}: [*a, *a]\n" for i in range(60))
    doc = parse_frontmatter(f"---\n{anchors}---\n")
    assert doc.metadata == {}
    assert "aliases" in doc.diagnostics[0].message


def test_oversized_file_raises_the_library_error() -> None:
    with pytest.raises(SkillParseError, match="limit"):
        parse_frontmatter(b"x" * (MAX_FILE_BYTES + 1))


def test_line_of_points_at_a_key() -> None:
    doc = parse_frontmatter("---\nname: x\n\ndescription: y\n---\n")
    assert doc.line_of("description") == 4
    assert doc.line_of("missing") is None
