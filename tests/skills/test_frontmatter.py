from __future__ import annotations

from pathlib import Path

import pytest

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import MAX_FILE_BYTES, parse_frontmatter, read_document


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


def test_yaml_is_read_with_the_1_2_core_schema_like_claude_code() -> None:
    doc = parse_frontmatter(
        "---\nuser-invocable: no\non: yes\nversion: 2024-01-01\nn: 010\nh: 0x1F\n"
        "o: 0o17\nf: 1.5\nt: True\nz: ~\n<<: merge\n---\n"
    )
    assert doc.metadata == {
        "user-invocable": "no",
        "on": "yes",
        "version": "2024-01-01",
        "n": 10,
        "h": 31,
        "o": 15,
        "f": 1.5,
        "t": True,
        "z": None,
        "<<": "merge",
    }


def test_tabs_and_an_unquoted_colon_together_are_repaired() -> None:
    doc = parse_frontmatter("---\ndescription: Use when: x\nmetadata:\n\tauthor: me\n---\n")
    assert doc.metadata == {"description": "Use when: x", "metadata": {"author": "me"}}
    (warning,) = doc.diagnostics
    assert "tab indentation and quoting" in warning.message
    assert warning.fix is not None


def test_tab_repair_names_tabs_in_its_warning() -> None:
    doc = parse_frontmatter("---\nmetadata:\n\tauthor: me\n---\n")
    assert "tab indentation" in doc.diagnostics[0].message
    assert doc.diagnostics[0].line == 3


def test_flow_style_frontmatter() -> None:
    doc = parse_frontmatter(
        "---\nallowed-tools: [Read, Grep]\nmetadata: {author: me, tags: [a, b]}\n---\n"
    )
    assert doc.metadata == {
        "allowed-tools": ["Read", "Grep"],
        "metadata": {"author": "me", "tags": ["a", "b"]},
    }
    assert doc.diagnostics == ()


def test_cjk_frontmatter_and_dollars_in_the_body() -> None:
    doc = parse_frontmatter(
        "---\nname: 研究助成金\ndescription: 助成金の申請書を書く: 日本語\n---\n"
        "Costs $5.00, then $1.\n"
    )
    assert doc.metadata["name"] == "研究助成金"
    assert doc.metadata["description"] == "助成金の申請書を書く: 日本語"
    assert doc.body == "Costs $5.00, then $1.\n"


def test_a_fence_of_dashes_in_the_body_stays_in_the_body() -> None:
    doc = parse_frontmatter("---\nname: x\n---\nintro\n---\nnot: frontmatter\n---\n")
    assert doc.metadata == {"name": "x"}
    assert doc.body == "intro\n---\nnot: frontmatter\n---\n"


def test_delimiters_must_be_whole_lines() -> None:
    assert not parse_frontmatter("---- \nname: x\n---\n").has_frontmatter
    assert not parse_frontmatter("--- name: x\n---\n").has_frontmatter
    doc = parse_frontmatter("---  \nname: x\n---\t\nbody")
    assert doc.metadata == {"name": "x"}
    assert doc.body == "body"
    doc = parse_frontmatter("---\nname: x\n---not-a-close\n---\nbody")
    assert doc.body == "body"  # '---not-a-close' is not a delimiter line


def test_empty_frontmatter_and_frontmatter_at_end_of_file() -> None:
    assert parse_frontmatter("---\n---\nbody").metadata == {}
    doc = parse_frontmatter("---\nname: x\n---")
    assert doc.metadata == {"name": "x"}
    assert doc.body == ""


def test_pathological_yaml_is_an_error_not_a_crash() -> None:
    doc = parse_frontmatter("---\nx: " + "[" * 5000 + "\n---\nbody")
    assert doc.metadata == {"x": "[" * 5000}  # unclosed: read as text, with a warning
    assert doc.diagnostics[-1].level == "warning"
    doc = parse_frontmatter("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nbody")
    assert isinstance(doc.metadata["x"], list)
    doc = parse_frontmatter("---\nn: 1" + "0" * 5000 + "\n---\n")
    assert doc.metadata == {}
    assert "not valid YAML" in doc.diagnostics[-1].message
    # tags the safe schema refuses are never constructed: the values are read as text
    doc = parse_frontmatter("---\nn: !!int nope\npython: !!python/object:os.system ls\n---\n")
    assert doc.metadata == {"n": "!!int nope", "python": "!!python/object:os.system ls"}
    assert doc.diagnostics[-1].level == "warning"


def test_oversized_frontmatter_is_skipped_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "SKILL.md"
    doc = parse_frontmatter("---\ndescription: " + "x" * 70_000 + "\n---\nbody", path=path)
    assert doc.metadata == {}
    assert doc.body == "body"
    assert doc.diagnostics[0].path == path
    assert "larger than" in doc.diagnostics[0].message


def test_read_document_names_the_file_when_it_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SkillParseError) as caught:
        read_document(tmp_path / "missing" / "SKILL.md")
    assert caught.value.path == tmp_path / "missing" / "SKILL.md"
    big = tmp_path / "SKILL.md"
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    with pytest.raises(SkillParseError, match="limit"):
        read_document(big)


def test_raw_value_is_what_the_author_typed() -> None:
    doc = parse_frontmatter(
        "---\nname: 1.10  # version-like\nargument-hint: [file]\nd: |\n  x\n---\n"
    )
    assert doc.raw_value("name") == "1.10"
    assert doc.raw_value("argument-hint") == "[file]"
    assert doc.raw_value("d") == "|"
    assert doc.raw_value("missing") is None


def test_duplicate_keys_keep_the_last_value_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "SKILL.md"
    for raw in ("name: a\ndescription: d\nname: b\n", "name: a\nmetadata:\n  - x\nname: 'b'\n"):
        doc = parse_frontmatter(f"---\n{raw}---\n", path=path)
        assert doc.metadata["name"] == "b"
        (warning,) = doc.diagnostics
        assert (warning.level, warning.field, warning.line, warning.path) == (
            "warning",
            "name",
            raw.count("\n") + 1,
            path,
        )
