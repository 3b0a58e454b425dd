from __future__ import annotations

from pathlib import Path

import pytest

from skilld.skills.loader import (
    coerce_bool,
    description_from_body,
    load_skill_file,
    skill_from_text,
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
