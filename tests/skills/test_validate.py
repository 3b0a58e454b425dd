from __future__ import annotations

import os
from pathlib import Path

import pytest

from skilld.skills.frontmatter import MAX_FILE_BYTES
from skilld.skills.loader import load_skill_file, skill_from_text
from skilld.skills.model import Diagnostic, LoadedFrom, Source
from skilld.skills.validate import (
    Profile,
    validate_path,
    validate_paths,
    validate_skill,
)
from tests.helpers import CORPUS, write_skill

CLEAN_SPEC = "name: pdf\ndescription: Read and fill PDF forms. Use when a PDF is mentioned."

FULL_CLAUDE_CODE = """
name: deploy
description: Deploy the app
when_to_use: when the user says ship it
argument-hint: "[env] [version]"
arguments: env version
allowed-tools: Read, Bash(git push:*), mcp__github__create_pr
disallowed-tools: [Write]
model: sonnet
effort: high
context: fork
agent: general-purpose
hooks:
  PreToolUse:
    - matcher: Bash
      hooks:
        - type: command
          command: ./check.sh
          timeout: 30
          once: true
  Stop:
    - hooks:
        - {type: prompt, prompt: "Did the deploy finish?"}
        - {type: http, url: "http://127.0.0.1:9/hook"}
        - {type: agent, prompt: "verify", model: haiku}
paths: "src/**/*.{ts,tsx}, deploy/**"
shell: bash
disable-model-invocation: "yes"
user-invocable: true
license: MIT
compatibility: Needs git
metadata:
  author: me
version: 1.2.0
"""


def check(
    tmp_path: Path,
    frontmatter: str,
    profile: str = "claude-code",
    *,
    folder: str = "deploy",
    body: str = "Body.\n",
) -> list[Diagnostic]:
    path = write_skill(tmp_path, folder, frontmatter, body)
    report = validate_path(path, profile)
    (file,) = report.files
    assert file.path == path
    for diagnostic in file.diagnostics:  # every finding says where and how to fix it
        assert diagnostic.path == path
        assert diagnostic.fix
    return list(file.diagnostics)


def found(
    diagnostics: list[Diagnostic], level: str | None = None
) -> list[tuple[str, str | None, int | None]]:
    return [(d.level, d.field, d.line) for d in diagnostics if level is None or d.level == level]


# --------------------------------------------------------------------------- spec


def test_spec_accepts_a_clean_skill(tmp_path: Path) -> None:
    text = (
        CLEAN_SPEC
        + "\nlicense: MIT\ncompatibility: Python 3\nmetadata:\n  a: b\nallowed-tools: Read Grep"
    )
    assert check(tmp_path, text, "spec", folder="pdf") == []


def test_spec_requires_frontmatter(tmp_path: Path) -> None:
    assert found(check(tmp_path, "", "spec", folder="pdf")) == [("error", None, 1)]


def test_spec_requires_name_and_description(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "license: MIT", "spec", folder="pdf")
    assert found(diagnostics) == [("error", "name", 2), ("error", "description", 2)]
    assert diagnostics[0].fix == "add 'name: pdf'"


def test_spec_empty_values_count_as_missing(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "name:\ndescription: ''", "spec", folder="pdf")
    assert found(diagnostics) == [("error", "name", 2), ("error", "description", 3)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("PDF", "capital"),
        ("-pdf", "starts or ends"),
        ("pdf-", "starts or ends"),
        ("pdf--tools", "'--'"),
        ("pdf_tools", "characters other"),
        ("pdf tools", "characters other"),
    ],
)
def test_spec_name_format(tmp_path: Path, name: str, reason: str) -> None:
    diagnostics = check(tmp_path, f"name: '{name}'\ndescription: d", "spec", folder=name)
    (diagnostic,) = diagnostics
    assert (diagnostic.level, diagnostic.field, diagnostic.line) == ("error", "name", 2)
    assert reason in diagnostic.message
    assert diagnostic.fix is not None
    assert "name: pdf" in diagnostic.fix


def test_spec_name_length(tmp_path: Path) -> None:
    name = "a" * 65
    diagnostics = check(tmp_path, f"name: {name}\ndescription: d", "spec", folder=name)
    assert found(diagnostics) == [("error", "name", 2)]
    assert "65 characters" in diagnostics[0].message
    assert check(tmp_path, f"name: {'b' * 64}\ndescription: d", "spec", folder="b" * 64) == []


def test_spec_name_must_equal_the_folder(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "name: pdf-tools\ndescription: d", "spec", folder="pdf")
    assert (diagnostic.level, diagnostic.field, diagnostic.line) == ("error", "name", 2)
    assert "'pdf-tools' differs from its folder 'pdf'" in diagnostic.message
    assert diagnostic.fix == "rename the folder to 'pdf-tools' or write name: pdf"


def test_spec_description_length(tmp_path: Path) -> None:
    ok = check(tmp_path, f"name: pdf\ndescription: {'d' * 1024}", "spec", folder="pdf")
    assert ok == []
    (diagnostic,) = check(tmp_path, f"name: pdf\ndescription: {'d' * 1025}", "spec", folder="pdf")
    assert (diagnostic.field, diagnostic.line) == ("description", 3)
    assert "1025 characters" in diagnostic.message


def test_spec_description_must_be_text(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "name: pdf\ndescription: [a, b]", "spec", folder="pdf")
    assert found(diagnostics) == [("error", "description", 3)]


def test_spec_compatibility_length_and_type(tmp_path: Path) -> None:
    base = CLEAN_SPEC + "\ncompatibility: "
    assert check(tmp_path, base + "x" * 500, "spec", folder="pdf") == []
    assert found(check(tmp_path, base + "x" * 501, "spec", folder="pdf")) == [
        ("error", "compatibility", 4)
    ]
    assert found(check(tmp_path, base + "''", "spec", folder="pdf")) == [
        ("error", "compatibility", 4)
    ]
    assert found(check(tmp_path, base + "{a: b}", "spec", folder="pdf")) == [
        ("error", "compatibility", 4)
    ]


def test_spec_metadata_is_a_map_of_strings(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path, CLEAN_SPEC + "\nmetadata:\n  v: 1.0\n  ok: 'x'\n  l: [a]", "spec", folder="pdf"
    )
    assert found(diagnostics) == [("error", "metadata", 5), ("error", "metadata", 7)]
    assert diagnostics[0].fix == 'quote it: v: "1.0"'
    assert "metadata.l" in diagnostics[1].message
    listed = check(tmp_path, CLEAN_SPEC + "\nmetadata: [a]", "spec", folder="pdf")
    assert found(listed) == [("error", "metadata", 4)]


def test_spec_allows_only_its_own_keys(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, CLEAN_SPEC + "\nmodel: opus\nversion: 1", "spec", folder="pdf")
    assert found(diagnostics) == [("error", "model", 4), ("error", "version", 5)]
    assert "not a field of the Agent Skills spec" in diagnostics[0].message
    assert diagnostics[0].fix == "remove it, or move it under metadata:"


def test_spec_allowed_tools_is_a_space_delimited_string(tmp_path: Path) -> None:
    assert (
        check(tmp_path, CLEAN_SPEC + "\nallowed-tools: Read Bash(git:*)", "spec", folder="pdf")
        == []
    )
    (diagnostic,) = check(
        tmp_path, CLEAN_SPEC + "\nallowed-tools: [Read, Grep]", "spec", folder="pdf"
    )
    assert (diagnostic.field, diagnostic.line) == ("allowed-tools", 4)
    assert diagnostic.fix == "write allowed-tools: Read Grep"


def test_spec_license_must_be_text(tmp_path: Path) -> None:
    assert found(check(tmp_path, CLEAN_SPEC + "\nlicense: [MIT]", "spec", folder="pdf")) == [
        ("error", "license", 4)
    ]


def test_spec_notes_a_long_body(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, CLEAN_SPEC, "spec", folder="pdf", body="line\n" * 501)
    assert found(diagnostics) == [("info", None, 5)]
    assert check(tmp_path, CLEAN_SPEC, "spec", folder="pdf", body="line\n" * 500) == []


def test_spec_checks_command_files_with_the_claude_code_rules(tmp_path: Path) -> None:
    command = tmp_path / "commit.md"
    command.write_text("---\ndescription: Commit\ncontext: forked\n---\nDo it.\n")
    (file,) = validate_path(command, Profile.SPEC).files
    assert file.kind == "command"
    assert found(list(file.diagnostics)) == [("info", None, None), ("error", "context", 3)]


# --------------------------------------------------------------------------- claude-code


def test_claude_code_accepts_every_field(tmp_path: Path) -> None:
    assert check(tmp_path, FULL_CLAUDE_CODE) == []


def test_claude_code_warns_about_unknown_keys_with_a_suggestion(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path, "description: d\nallowed_tools: Read\ntools: Grep\nglobs: a\nauthor: me"
    )
    assert found(diagnostics) == [
        ("warning", "allowed_tools", 3),
        ("warning", "tools", 4),
        ("warning", "globs", 5),
        ("warning", "author", 6),
    ]
    fixes = [d.fix for d in diagnostics]
    assert fixes[:3] == [
        "rename it to allowed-tools",
        "rename it to allowed-tools",
        "rename it to paths",
    ]
    assert fixes[3] == "remove it, or move it under metadata:"
    assert "did you mean 'allowed-tools'" in diagnostics[0].message


def test_claude_code_checks_text_fields(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path,
        "name: [a]\ndescription: {a: b}\nwhen_to_use: [x]\nmodel: [opus]\nlicense: {}\n"
        "version: [1]\nagent: [x]\ncontext: fork",
    )
    assert found(diagnostics) == [
        ("error", "name", 2),
        ("error", "description", 3),
        ("error", "when_to_use", 4),
        ("error", "model", 5),
        ("error", "license", 6),
        ("error", "version", 7),
        ("error", "agent", 8),
    ]


def test_claude_code_numbers_are_text_enough(tmp_path: Path) -> None:
    assert check(tmp_path, "name: deploy\ndescription: 42\nversion: 1.0\nmodel: 4") == []


@pytest.mark.parametrize("value", ["low", "medium", "HIGH", "max", "3", "'7'"])
def test_claude_code_effort_accepted(tmp_path: Path, value: str) -> None:
    assert check(tmp_path, f"description: d\neffort: {value}") == []


@pytest.mark.parametrize("value", ["extreme", "0", "-1", "true", "[high]", "1.5"])
def test_claude_code_effort_refused(tmp_path: Path, value: str) -> None:
    assert found(check(tmp_path, f"description: d\neffort: {value}")) == [("error", "effort", 3)]


def test_claude_code_effort_suggests_the_closest_level(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "description: d\neffort: hihg")
    assert diagnostic.fix == "write effort: high"


def test_claude_code_context(tmp_path: Path) -> None:
    assert check(tmp_path, "description: d\ncontext: inline") == []
    (diagnostic,) = check(tmp_path, "description: d\ncontext: forked")
    assert (diagnostic.level, diagnostic.field, diagnostic.line) == ("error", "context", 3)
    assert diagnostic.fix == "write context: fork"
    (capital,) = check(tmp_path, "description: d\ncontext: Fork")
    assert (capital.level, capital.field) == ("warning", "context")


def test_claude_code_shell(tmp_path: Path) -> None:
    assert check(tmp_path, "description: d\nshell: powershell") == []
    assert found(check(tmp_path, "description: d\nshell: zsh")) == [("error", "shell", 3)]


@pytest.mark.parametrize("value", ["true", "False", "yes", "NO", "on", "Off", "1", "0"])
def test_claude_code_booleans_accepted(tmp_path: Path, value: str) -> None:
    assert check(tmp_path, f"description: d\nuser-invocable: {value}") == []


def test_claude_code_booleans_refused(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path, "description: d\nuser-invocable: maybe\ndisable-model-invocation: 2"
    )
    assert found(diagnostics) == [
        ("error", "user-invocable", 3),
        ("error", "disable-model-invocation", 4),
    ]


def test_claude_code_warns_when_nobody_can_invoke(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path, "description: d\ndisable-model-invocation: true\nuser-invocable: false"
    )
    assert found(diagnostics) == [("warning", "user-invocable", 4)]


def test_claude_code_agent_needs_fork(tmp_path: Path) -> None:
    assert found(check(tmp_path, "description: d\nagent: Explore")) == [("warning", "agent", 3)]


def test_claude_code_arguments(tmp_path: Path) -> None:
    assert check(tmp_path, "description: d\narguments: [env, version]") == []
    assert found(check(tmp_path, "description: d\narguments: {a: b}")) == [
        ("error", "arguments", 3)
    ]
    assert found(check(tmp_path, "description: d\narguments: env 1")) == [
        ("warning", "arguments", 3)
    ]
    assert found(check(tmp_path, "description: d\narguments: env, env")) == [
        ("warning", "arguments", 3)
    ]
    assert found(check(tmp_path, "description: d\narguments: [env, [x]]")) == [
        ("error", "arguments", 3)
    ]


def test_claude_code_tool_rules(tmp_path: Path) -> None:
    diagnostics = check(
        tmp_path,
        "description: d\nallowed-tools: Bash(git add, bash, Read\ndisallowed-tools: [Write, 3]",
    )
    assert found(diagnostics) == [
        ("error", "allowed-tools", 3),
        ("error", "disallowed-tools", 4),
    ]
    lowercase = check(tmp_path, "description: d\nallowed-tools: bash(git:*) Read")
    assert found(lowercase) == [("warning", "allowed-tools", 3)]
    assert lowercase[0].fix == "write Bash(git:*)"
    assert found(check(tmp_path, "description: d\nallowed-tools: {Read: 1}")) == [
        ("error", "allowed-tools", 3)
    ]


def test_claude_code_paths(tmp_path: Path) -> None:
    assert check(tmp_path, "description: d\npaths: [src/**, '*.md']") == []
    diagnostics = check(tmp_path, "description: d\npaths: /etc/*, ../x/*, C:\\x")
    assert found(diagnostics) == [("warning", "paths", 3)] * 3
    assert found(check(tmp_path, "description: d\npaths: []")) == [("warning", "paths", 3)]


def test_claude_code_argument_hint_read_as_a_list(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "description: d\nargument-hint: [file]")
    assert (diagnostic.level, diagnostic.field, diagnostic.line) == (
        "warning",
        "argument-hint",
        3,
    )
    assert diagnostic.fix == 'quote it: argument-hint: "[file]"'


def test_unquoted_argument_hint_with_a_pipe_is_a_repaired_parse(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "description: d\nargument-hint: [x] | [y]")
    assert (diagnostic.level, diagnostic.line) == ("warning", 3)
    assert diagnostic.field is None
    assert "quoting" in diagnostic.message


def test_claude_code_missing_description(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "name: deploy", body="# Deploy\n\nShips the app.\n")
    assert (diagnostic.level, diagnostic.field) == ("warning", "description")
    assert "'Ships the app.'" in diagnostic.message
    (empty,) = check(tmp_path, "name: deploy\ndescription:", body="")
    assert (empty.level, empty.line) == ("warning", 3)
    assert "no paragraph" in empty.message


def test_claude_code_long_description_and_compatibility(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, f"description: {'d' * 1100}\ncompatibility: {'c' * 501}")
    assert found(diagnostics) == [("warning", "description", 2), ("warning", "compatibility", 3)]


def test_claude_code_metadata_must_be_a_map(tmp_path: Path) -> None:
    assert found(check(tmp_path, "description: d\nmetadata: text")) == [("error", "metadata", 3)]
    assert check(tmp_path, "description: d\nmetadata: {n: 1, l: [a]}") == []


def test_claude_code_notes_a_display_name(tmp_path: Path) -> None:
    (diagnostic,) = check(tmp_path, "name: Deploy App\ndescription: d")
    assert (diagnostic.level, diagnostic.field, diagnostic.line) == ("info", "name", 2)
    assert "invoked as /deploy" in diagnostic.message


def test_command_without_frontmatter_gets_a_note_not_a_warning(tmp_path: Path) -> None:
    command = tmp_path / "commands" / "review.md"
    command.parent.mkdir()
    command.write_text("Review the diff. It costs $5.00.\n")
    (file,) = validate_path(command).files
    assert file.kind == "command"
    assert [d.level for d in file.diagnostics] == ["info"]
    assert file.ok


# --------------------------------------------------------------------------- hooks


def hooks(tmp_path: Path, text: str) -> list[tuple[str, str | None, int | None]]:
    diagnostics = check(tmp_path, "description: d\nhooks:\n" + text)
    return [(d.level, d.message, d.line) for d in diagnostics]


def test_hooks_must_be_a_map_of_known_events(tmp_path: Path) -> None:
    assert found(check(tmp_path, "description: d\nhooks: [a]")) == [("error", "hooks", 3)]
    (diagnostic,) = check(tmp_path, "description: d\nhooks:\n  PreTool: []")
    assert "hooks.PreTool is not a hook event" in diagnostic.message
    assert diagnostic.fix == "write PreToolUse"
    assert diagnostic.line == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  PreToolUse: {matcher: Bash}", "must be a list of matcher entries"),
        ("  PreToolUse: [Bash]", "hooks.PreToolUse[0] must be a map"),
        ("  PreToolUse: [{matcher: Bash}]", "hooks.PreToolUse[0].hooks must be a non-empty list"),
        (
            "  PreToolUse: [{matcher: 3, hooks: [{type: command, command: x}]}]",
            "matcher must be text",
        ),
        ("  PreToolUse: [{hooks: [echo]}]", "hooks[0] must be a map"),
        ("  PreToolUse: [{hooks: [{command: x}]}]", ".type is None"),
        (
            "  PreToolUse: [{hooks: [{type: shell, command: x}]}]",
            "one of command, prompt, agent, http",
        ),
        ("  PreToolUse: [{hooks: [{type: command}]}]", "type command, which needs command"),
        ("  Stop: [{hooks: [{type: prompt}]}]", "type prompt, which needs prompt"),
        ("  Stop: [{hooks: [{type: agent, prompt: ''}]}]", "type agent, which needs prompt"),
        ("  Stop: [{hooks: [{type: http}]}]", "type http, which needs url"),
        (
            "  Stop: [{hooks: [{type: command, command: x, timeout: 0}]}]",
            "timeout must be a positive",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x, timeout: '5'}]}]",
            "timeout must be a positive",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x, once: 'yes'}]}]",
            "once must be true or false",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x, async: 1}]}]",
            "async must be true or false",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x, statusMessage: 1}]}]",
            "statusMessage must be text",
        ),
    ],
)
def test_hook_structure_errors(tmp_path: Path, text: str, message: str) -> None:
    (finding,) = hooks(tmp_path, text)
    assert finding[0] == "error"
    assert message in finding[1]
    assert finding[2] == 4  # flow style: everything is on the event's line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "  Stop: [{matcher: Bash, hooks: [{type: command, command: x}]}]",
            "Stop hooks take no matcher",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x}], when: now}]",
            "not a key of a matcher entry",
        ),
        (
            "  Stop: [{hooks: [{type: command, command: x, retries: 3}]}]",
            "not a key of a hook of type command",
        ),
    ],
)
def test_hook_structure_warnings(tmp_path: Path, text: str, message: str) -> None:
    (finding,) = hooks(tmp_path, text)
    assert finding[0] == "warning"
    assert message in finding[1]


def test_hook_findings_point_at_the_nested_line(tmp_path: Path) -> None:
    text = (
        "  PreToolUse:\n"
        "    - matcher: Bash\n"
        "      hooks:\n"
        "        - type: command\n"
        "          command: ok\n"
        "        - type: command\n"
        "          command: x\n"
        "          timeout: soon\n"
        "  Stop:\n"
        "    - matcher: Bash\n"
        "      hooks: [{type: command, command: y}]\n"
    )
    assert hooks(tmp_path, text) == [
        (
            "error",
            "hooks.PreToolUse[0].hooks[1].timeout must be a positive number of seconds, not 'soon'",
            11,
        ),
        (
            "warning",
            "hooks.Stop[0].matcher is ignored: Stop hooks take no matcher, every hook runs",
            13,
        ),
    ]


def test_every_claude_code_hook_event_is_accepted(tmp_path: Path) -> None:
    events = [
        "SessionStart",
        "UserPromptSubmit",
        "PostToolUseFailure",
        "SubagentStop",
        "PreCompact",
        "Notification",
        "SessionEnd",
        "PermissionRequest",
    ]
    text = "".join(f"  {e}: [{{hooks: [{{type: command, command: x}}]}}]\n" for e in events)
    assert hooks(tmp_path, text) == []


# --------------------------------------------------------------------------- lenient


def test_lenient_reports_only_what_breaks_loading(tmp_path: Path) -> None:
    assert check(tmp_path, "name: BAD NAME\ncontext: nope\neffort: x\nfoo: 1", "lenient") == []
    diagnostics = check(tmp_path, "name: x\nmetadata:\n  a: 'open", "lenient")
    assert found(diagnostics) == [("error", None, 4)]


def test_broken_yaml_is_reported_once_under_every_profile(tmp_path: Path) -> None:
    for profile in Profile:
        diagnostics = check(tmp_path, "name: deploy\ndescription: 'open\nmore: x", profile)
        assert found(diagnostics) == [("error", None, 3)], profile


def test_frontmatter_that_is_not_a_mapping(tmp_path: Path) -> None:
    assert found(check(tmp_path, "- a\n- b", "lenient")) == [("error", None, 2)]


def test_repaired_yaml_is_a_warning_that_does_not_fail(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "deploy", "description: Use when: shipping")
    report = validate_path(path, Profile.LENIENT)
    assert report.ok
    assert report.warnings == 1


# --------------------------------------------------------------------------- files and trees


def test_a_capitalised_skill_md_is_found_and_warned_about(tmp_path: Path) -> None:
    folder = tmp_path / "grants"
    folder.mkdir()
    (folder / "SKILL.MD").write_text("---\nname: grants\ndescription: 助成金\n---\n")
    for profile in (Profile.SPEC, Profile.CLAUDE_CODE):
        (file,) = validate_path(tmp_path, profile).files
        assert file.path.name == "SKILL.MD"
        assert [(d.level, d.line) for d in file.diagnostics] == [("warning", None)]
        assert file.diagnostics[0].fix == "rename SKILL.MD to SKILL.md"
    (lenient,) = validate_path(tmp_path, Profile.LENIENT).files
    assert lenient.diagnostics == ()


def test_a_tree_is_walked_for_skills_and_commands(tmp_path: Path) -> None:
    write_skill(tmp_path / "skills", "alpha", "description: a")
    write_skill(tmp_path / "skills" / "alpha" / "nested", "beta", "description: b")
    (tmp_path / "skills" / "alpha" / "notes.md").write_text("not a command")
    write_skill(tmp_path / "node_modules", "hidden", "description: h")
    write_skill(tmp_path / ".git", "hidden", "description: h")
    write_skill(tmp_path / ".claude" / "skills", "dotted", "description: d")
    commands = tmp_path / ".claude" / "commands"
    (commands / "frontend").mkdir(parents=True)
    (commands / "commit.md").write_text("Commit.\n")
    (commands / "frontend" / "component.md").write_text("Make a component.\n")
    (commands / "frontend" / "notes.txt").write_text("ignored")
    report = validate_path(tmp_path)
    names = [(f.kind, f.name) for f in report.files]
    assert names == [
        ("command", "commit"),
        ("command", "frontend:component"),
        ("skill", "dotted"),
        ("skill", "alpha"),
        ("skill", "beta"),
    ]
    assert report.ok


def test_a_commands_folder_given_directly(tmp_path: Path) -> None:
    commands = tmp_path / "commands"
    commands.mkdir()
    (commands / "a.md").write_text("---\ndescription: A\n---\n")
    assert [f.name for f in validate_path(commands).files] == ["a"]


def test_paths_that_hold_nothing_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    report = validate_paths([tmp_path / "missing", tmp_path / "empty", tmp_path / "notes.txt"])
    assert [(f.kind, f.errors) for f in report.files] == [("path", 1)] * 3
    messages = [f.diagnostics[0].message for f in report.files]
    assert messages[0] == "path does not exist"
    assert "no SKILL.md" in messages[1]
    assert "not a SKILL.md" in messages[2]
    assert not report.ok


def test_an_unreadable_skill_does_not_hide_the_others(tmp_path: Path) -> None:
    big = write_skill(tmp_path, "big", "description: d")
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    write_skill(tmp_path, "fine", "description: d")
    report = validate_path(tmp_path)
    assert [(f.name, f.errors) for f in report.files] == [("big", 1), ("fine", 0)]
    assert "limit" in report.files[0].diagnostics[0].message


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    write_skill(tmp_path / "real", "alpha", "description: a")
    os.symlink(tmp_path / "real", tmp_path / "link")
    os.symlink(tmp_path, tmp_path / "real" / "loop")
    report = validate_paths([tmp_path, tmp_path / "link" / "alpha"])
    assert [f.name for f in report.files] == ["alpha"]


def test_validate_skill_uses_the_file_for_lines(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "deploy", "description: d\ncontext: forked")
    report = validate_skill(load_skill_file(path, source=Source.PROJECT))
    assert found(list(report.diagnostics)) == [("error", "context", 3)]
    command = tmp_path / "c.md"
    command.write_text("---\nshell: zsh\n---\nx")
    loaded = load_skill_file(command, source=Source.PROJECT, loaded_from=LoadedFrom.COMMANDS)
    assert validate_skill(loaded).kind == "command"


def test_validate_skill_without_a_file(tmp_path: Path) -> None:
    skill = skill_from_text("---\ndescription: d\neffort: extreme\n---\nbody", name="b")
    report = validate_skill(skill, "claude-code")
    assert [(d.level, d.field, d.line) for d in report.diagnostics] == [("error", "effort", None)]


def test_report_json_shape(tmp_path: Path) -> None:
    write_skill(tmp_path, "deploy", "description: d\nshell: zsh")
    data = validate_path(tmp_path).to_dict()
    assert data["profile"] == "claude-code"
    assert data["summary"] == {
        "files": 1,
        "skills": 1,
        "commands": 0,
        "errors": 1,
        "warnings": 0,
        "infos": 0,
        "ok": False,
    }
    (file,) = data["files"]
    assert set(file) == {"path", "kind", "name", "ok", "diagnostics"}
    assert file["diagnostics"][0] == {
        "level": "error",
        "message": "'zsh' is not one of bash, powershell",
        "line": 3,
        "field": "shell",
        "fix": "write shell: bash",
    }


# --------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def corpus_skill_files() -> set[Path]:
    skip = {".git", "node_modules"}
    return {
        path
        for path in CORPUS.rglob("*")
        if path.name.lower() == "skill.md" and path.is_file() and not skip & set(path.parts)
    }


@pytest.mark.corpus
@pytest.mark.parametrize("profile", list(Profile))
def test_the_whole_corpus_is_reported_on(profile: Profile, corpus_skill_files: set[Path]) -> None:
    report = validate_path(CORPUS, profile)
    skills = {f.path for f in report.files if f.kind == "skill"}
    assert skills == corpus_skill_files
    assert len(skills) >= 400
    assert sum(f.kind == "command" for f in report.files) >= 150
    if profile is Profile.LENIENT:
        assert report.ok  # every real skill loads as written
        assert report.warnings == 0


def _diagnostics_of(report_files: object, relative: str) -> list[Diagnostic]:
    assert isinstance(report_files, tuple)
    for file in report_files:
        if file.path == CORPUS / relative:
            return list(file.diagnostics)
    raise AssertionError(f"{relative} not in the report")


@pytest.mark.corpus
def test_corpus_diagnostics_under_spec() -> None:
    files = validate_path(CORPUS / "skills", Profile.SPEC).files
    (template,) = _diagnostics_of(files, "skills/anthropics__skills/template/SKILL.md")
    assert (template.level, template.field, template.line) == ("error", "name", 2)
    assert "'template-skill' differs from its folder 'template'" in template.message
    postgres = _diagnostics_of(
        files, "skills/wshobson__agents/plugins/database-design/skills/postgresql/SKILL.md"
    )
    assert ("error", "name", 2) in found(postgres)
    lookup = _diagnostics_of(
        files,
        "skills/K-Dense-AI__claude-scientific-skills/scientific-skills/database-lookup/SKILL.md",
    )
    assert [(d.field, d.line) for d in lookup if d.level == "error"] == [("description", 3)]
    assert "1929 characters" in lookup[0].message
    discord = _diagnostics_of(
        files,
        "skills/anthropics__claude-plugins-official/external_plugins/discord/skills/access/SKILL.md",
    )
    assert ("error", "allowed-tools", 5) in found(discord)


@pytest.mark.corpus
def test_corpus_diagnostics_under_claude_code() -> None:
    report = validate_path(CORPUS, Profile.CLAUDE_CODE)
    assert report.ok
    recommender = _diagnostics_of(
        report.files,
        "skills/anthropics__claude-plugins-official/plugins/claude-code-setup/skills/"
        "claude-automation-recommender/SKILL.md",
    )
    assert [(d.level, d.field, d.line, d.fix) for d in recommender] == [
        ("warning", "tools", 4, "rename it to allowed-tools")
    ]
    sast = _diagnostics_of(
        report.files,
        "commands/wshobson__agents/plugins/security-scanning/commands/security-sast.md",
    )
    assert ("warning", "globs", 3) in found(sast)


def test_spec_numbers_are_not_strings(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "name: 123\ndescription: 4.50", "spec", folder="123")
    assert found(diagnostics) == [("error", "name", 2), ("error", "description", 3)]
    assert diagnostics[0].fix == 'quote it: name: "123"'
    assert diagnostics[1].fix == 'quote it: description: "4.50"'
    assert check(tmp_path, "name: '123'\ndescription: '4.50'", "spec", folder="123") == []


def test_list_items_are_located_and_numbers_count_as_names(tmp_path: Path) -> None:
    diagnostics = check(tmp_path, "description: d\narguments:\n  - env\n  - 2\n  - [x]\n")
    assert [(d.level, d.field, d.line) for d in diagnostics] == [
        ("warning", "arguments", 3),
        ("error", "arguments", 6),
    ]
    assert diagnostics[1].message == "arguments[2] must be text, not a list"
