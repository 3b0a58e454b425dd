"""The hooks checks take their event names from skilld.hooks, plus Claude Code's others."""

from __future__ import annotations

from pathlib import Path

import pytest

from skilld.hooks.events import MATCHER_FIELDS, HookEvent
from skilld.skills.validate import HOOK_EVENTS, validate_path
from tests.helpers import write_skill

CLAUDE_CODE_ONLY = {
    "PermissionDenied",
    "StopFailure",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "WorktreeCreate",
    "WorktreeRemove",
}
MATCHERLESS_CLAUDE_CODE_ONLY = {
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "WorktreeCreate",
    "WorktreeRemove",
    "CwdChanged",
}


def test_hook_events_are_skillds_and_claude_codes() -> None:
    assert {event.value for event in HookEvent} <= HOOK_EVENTS
    assert {event.value for event in HookEvent} | CLAUDE_CODE_ONLY == HOOK_EVENTS
    assert len(HOOK_EVENTS) == 28


def messages(tmp_path: Path, event: str, matcher: str) -> list[str]:
    hooks = (
        f"hooks:\n  {event}:\n    - matcher: {matcher}\n"
        "      hooks: [{type: command, command: x}]"
    )
    path = write_skill(tmp_path / event, "s", "description: d\n" + hooks)
    (report,) = validate_path(path).files
    return [d.message for d in report.diagnostics]


@pytest.mark.parametrize("event", sorted(HOOK_EVENTS))
def test_a_matcher_is_flagged_where_the_event_ignores_it(tmp_path: Path, event: str) -> None:
    ignores = (
        event in MATCHERLESS_CLAUDE_CODE_ONLY
        if event in CLAUDE_CODE_ONLY
        else HookEvent(event) not in MATCHER_FIELDS
    )
    expected = [
        f"hooks.{event}[0].matcher is ignored: {event} hooks take no matcher, every hook runs"
    ]
    assert messages(tmp_path, event, "Bash") == (expected if ignores else [])
    assert messages(tmp_path, event, '"*"') == []


def test_a_matcher_that_is_no_regex_is_an_error(tmp_path: Path) -> None:
    assert messages(tmp_path, "PreToolUse", '"mcp__.*"') == []
    assert messages(tmp_path, "PreToolUse", '"Write|Edit"') == []
    (message,) = messages(tmp_path, "PreToolUse", '"Bash("')
    assert message.startswith("hooks.PreToolUse[0].matcher is not a valid regular expression (")
    assert message.endswith("); its hooks never run")


def test_the_validator_reads_the_hooks_event_list() -> None:
    from skilld.hooks.events import CLAUDE_CODE_EVENTS

    assert frozenset(CLAUDE_CODE_EVENTS) == HOOK_EVENTS
    assert {n for n, info in CLAUDE_CODE_EVENTS.items() if not info.fired} == CLAUDE_CODE_ONLY
    assert {
        n for n, info in CLAUDE_CODE_EVENTS.items() if not info.takes_matcher and not info.fired
    } == MATCHERLESS_CLAUDE_CODE_ONLY


def handler_messages(tmp_path: Path, handler: str) -> list[str]:
    hooks = f"hooks:\n  Stop:\n    - hooks: [{handler}]"
    path = write_skill(tmp_path / "h", "s", "description: d\n" + hooks)
    (report,) = validate_path(path).files
    return [d.message for d in report.diagnostics]


def test_mcp_tool_hooks_are_valid_as_the_hooks_parser_says(tmp_path: Path) -> None:
    from skilld.hooks import parse_hooks

    good = {"type": "mcp_tool", "server": "semgrep", "tool": "scan", "input": {"p": "x"}}
    parse_hooks({"Stop": [{"hooks": [good]}]})  # strict: no error
    assert (
        handler_messages(tmp_path, "{type: mcp_tool, server: semgrep, tool: scan, input: {p: x}}")
        == []
    )
    assert handler_messages(tmp_path, "{type: mcp_tool, server: semgrep}") == [
        "hooks.Stop[0].hooks[0] is a hook of type mcp_tool, which needs tool"
    ]
