from __future__ import annotations

from pathlib import Path

import pytest

from skilld.skills.loader import (
    coerce_bool,
    description_from_body,
    load_skill_file,
    skill_from_text,
    split_paths,
    split_tool_list,
)
from skilld.skills.model import LoadedFrom, Source
from tests.helpers import write_skill


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("on", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("No", False),
        ("OFF", False),
        ("0", False),
        (0, False),
        (True, True),
        (False, False),
        ("maybe", None),
        (2, None),
        (None, None),
    ],
)
def test_coerce_bool(value: object, expected: bool | None) -> None:
    assert coerce_bool(value) is expected


def test_split_tool_list_keeps_parentheses_whole() -> None:
    assert split_tool_list("Read, Bash(git add:*) Grep,Write") == [
        "Read",
        "Bash(git add:*)",
        "Grep",
        "Write",
    ]


def test_description_from_body_takes_the_first_paragraph() -> None:
    body = "# Title\n\nFirst line\nsecond line.\n\nOther paragraph."
    assert description_from_body(body) == "First line second line."
    assert description_from_body("# Only a heading\n") == "Only a heading"
    assert description_from_body("") is None


def test_skill_takes_the_folder_name_and_coerces_fields(tmp_path: Path) -> None:
    path = write_skill(
        tmp_path,
        "my-skill",
        """
name: 123
description: 4.5
allowed-tools: Read, Bash(git add:*)
arguments: first second
user-invocable: "no"
disable-model-invocation: YES
model: inherit
context: fork
effort: HIGH
paths: "src/**, docs/*.md"
""",
    )
    skill = load_skill_file(path, source=Source.PROJECT)
    assert skill.name == "my-skill"
    assert skill.display_name == "123"
    assert skill.description == "4.5"
    assert skill.allowed_tools == ("Read", "Bash(git add:*)")
    assert skill.arguments == ("first", "second")
    assert skill.user_invocable is False
    assert skill.disable_model_invocation is True
    assert skill.model is None
    assert skill.context == "fork"
    assert skill.effort == "high"
    assert skill.paths == ("src", "docs/*.md")
    assert skill.conditional
    assert skill.directory == path.parent
    assert skill.diagnostics == ()


def test_lists_are_accepted_too(tmp_path: Path) -> None:
    path = write_skill(
        tmp_path, "s", "description: d\nallowed-tools: [Read, Grep]\narguments: [a, b]"
    )
    skill = load_skill_file(path, source=Source.USER)
    assert skill.allowed_tools == ("Read", "Grep")
    assert skill.arguments == ("a", "b")


def test_bad_types_are_dropped_with_a_located_warning(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d\nuser-invocable: maybe\nhooks: [1]")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.user_invocable is True
    fields = {d.field: d.line for d in skill.diagnostics}
    assert fields == {"user-invocable": 3, "hooks": 4}


def test_description_falls_back_to_the_body(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "name: s", "# Heading\n\nDoes things.\n")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.description == "Does things."
    assert skill.description_from_body


def test_command_file_is_named_after_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "commit.md"
    path.write_text("Commit the staged changes.\n")
    skill = load_skill_file(path, source=Source.PROJECT, loaded_from=LoadedFrom.COMMANDS)
    assert skill.name == "commit"
    assert skill.directory is None
    assert skill.description == "Commit the staged changes."


def test_version_changes_with_any_file_of_the_folder(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d")
    first = load_skill_file(path, source=Source.USER).version
    assert first == load_skill_file(path, source=Source.USER).version
    (path.parent / "ref.md").write_text("more")
    second = load_skill_file(path, source=Source.USER).version
    assert second != first
    assert second.startswith("sha256:")


def test_skill_from_text_for_code_registered_skills() -> None:
    skill = skill_from_text("---\ndescription: hi\n---\nbody", name="b")
    assert skill.source is Source.BUNDLED
    assert skill.description == "hi"
    assert skill.version.startswith("sha256:")


def test_numeric_name_and_description_keep_their_written_text(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "name: 1.10\ndescription: 2.50 # price")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.display_name == "1.10"
    assert skill.description == "2.50"
    assert skill.diagnostics == ()


def test_yes_no_on_off_in_any_case_are_booleans(tmp_path: Path) -> None:
    path = write_skill(
        tmp_path, "s", "description: d\nuser-invocable: Off\ndisable-model-invocation: ON"
    )
    skill = load_skill_file(path, source=Source.USER)
    assert skill.user_invocable is False
    assert skill.disable_model_invocation is True


def test_argument_hint_that_yaml_reads_as_a_list_keeps_its_text(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d\nargument-hint: [file-path] # one file")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.argument_hint == "[file-path]"
    assert skill.diagnostics == ()


def test_unquoted_argument_hint_with_a_pipe_loads(tmp_path: Path) -> None:
    path = tmp_path / "deploy.md"
    path.write_text("---\nargument-hint: [env] | [version]\ndescription: Deploy\n---\nGo $1\n")
    skill = load_skill_file(path, source=Source.PROJECT, loaded_from=LoadedFrom.COMMANDS)
    assert skill.argument_hint == "[env] | [version]"
    assert skill.description == "Deploy"
    assert [d.level for d in skill.diagnostics] == ["warning"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Read", ("Read",)),
        ("Read Grep", ("Read", "Grep")),
        ("Read,Grep", ("Read", "Grep")),
        ("Bash(git add:*), Bash(npm run test *)", ("Bash(git add:*)", "Bash(npm run test *)")),
        ("[Read, 'Bash(git status)']", ("Read", "Bash(git status)")),
        ("\n  - Read\n  - Grep", ("Read", "Grep")),
    ],
)
def test_allowed_tools_in_every_real_shape(
    tmp_path: Path, value: str, expected: tuple[str, ...]
) -> None:
    path = write_skill(tmp_path, "s", f"description: d\nallowed-tools: {value}")
    assert load_skill_file(path, source=Source.USER).allowed_tools == expected


def test_paths_expand_braces_and_split_outside_them(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", 'description: d\npaths: "src/**/*.{ts,tsx}, docs/**"')
    skill = load_skill_file(path, source=Source.USER)
    assert skill.paths == ("src/**/*.ts", "src/**/*.tsx", "docs")
    listed = write_skill(tmp_path, "t", "description: d\npaths: ['lib/*.{py,pyi}', '**']")
    assert load_skill_file(listed, source=Source.USER).paths == ("lib/*.py", "lib/*.pyi", "**")


def test_paths_that_match_everything_are_not_conditional(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d\npaths: '**'")
    assert not load_skill_file(path, source=Source.USER).conditional


def test_split_paths_bounds_brace_bombs() -> None:
    assert len(split_paths("{a,b}" * 30)) <= 300


def test_a_bad_arguments_value_warns_once(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d\narguments: {a: b}")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.arguments == ()
    assert [d.field for d in skill.diagnostics] == ["arguments"]


def test_numeric_argument_names_are_dropped_with_a_warning(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: d\narguments: [1, env, 2]")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.arguments == ("env",)
    assert [d.field for d in skill.diagnostics] == ["arguments"]


def test_malformed_yaml_still_loads_the_skill(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "s", "description: 'open\nname: x", "Fallback text.\n")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.description == "Fallback text."
    assert skill.has_errors
    assert skill.diagnostics[0].path == path


def test_capitalised_skill_md_and_cjk_load(tmp_path: Path) -> None:
    folder = tmp_path / "grants"
    folder.mkdir()
    path = folder / "SKILL.MD"
    path.write_text("---\ndescription: 助成金の申請\n---\n本文\n", encoding="utf-8")
    skill = load_skill_file(path, source=Source.USER)
    assert skill.name == "grants"
    assert skill.description == "助成金の申請"


def test_command_without_frontmatter_takes_its_description_from_the_body(tmp_path: Path) -> None:
    path = tmp_path / "review.md"
    path.write_text("# Review\n\nReview the diff; it costs $5.00 and uses $1.\n")
    skill = load_skill_file(path, source=Source.PROJECT, loaded_from=LoadedFrom.COMMANDS)
    assert skill.description == "Review the diff; it costs $5.00 and uses $1."
    assert skill.description_from_body
    assert skill.body.startswith("# Review")


def test_description_from_body_skips_code_fences_and_truncates() -> None:
    assert description_from_body("```\ncode\n```\n\nReal text.") == "Real text."
    long = description_from_body("word " * 400)
    assert long is not None
    assert len(long) == 1024
    assert long.endswith("...")


def test_effort_as_integer_or_level(tmp_path: Path) -> None:
    assert load_skill_file(write_skill(tmp_path, "a", "effort: 3"), source=Source.USER).effort == 3
    assert (
        load_skill_file(write_skill(tmp_path, "b", "effort: '5'"), source=Source.USER).effort == 5
    )
    assert (
        load_skill_file(write_skill(tmp_path, "c", "effort: Max"), source=Source.USER).effort
        == "max"
    )


def test_unknown_context_runs_inline_with_a_warning(tmp_path: Path) -> None:
    skill = load_skill_file(write_skill(tmp_path, "s", "context: forked"), source=Source.USER)
    assert skill.context == "inline"
    assert [d.field for d in skill.diagnostics] == ["context"]


def test_version_of_a_fileless_skill_survives_absurd_nesting() -> None:
    deep = "a: " + "[" * 3000 + "]" * 3000
    skill = skill_from_text(f"---\ndescription: d\n{deep}\n---\nbody", name="deep")
    assert skill.version.startswith("sha256:")


def test_skills_compare_by_every_field() -> None:
    one = skill_from_text("---\ndescription: d\n---\nbody", name="s")
    assert one == skill_from_text("---\ndescription: d\n---\nbody", name="s")
    from dataclasses import replace

    assert replace(one, description="other") != one
    assert hash(replace(one, description="other")) == hash(one)
