"""Parsing the hooks configuration: the shape, and errors that name the file and field."""

from __future__ import annotations

import pytest

from skilld.exceptions import HookConfigError
from skilld.hooks import (
    DEFAULT_TIMEOUT,
    CommandHook,
    HookEvent,
    HooksConfig,
    PythonHook,
    UnsupportedHook,
    parse_hooks,
)


def test_the_claude_code_shape_parses() -> None:
    config = parse_hooks(
        {
            "PreToolUse": [
                {
                    "matcher": "Write|Edit",
                    "hooks": [
                        {"type": "command", "command": "check.sh", "timeout": 30},
                        {"type": "command", "command": "log.sh", "once": True, "async": True},
                    ],
                }
            ],
            "Stop": [{"hooks": [{"type": "command", "command": "done.sh"}]}],
        }
    )
    (group,) = config.groups(HookEvent.PRE_TOOL_USE)
    assert group.matcher.names == frozenset({"Write", "Edit"})
    assert group.hooks == (
        CommandHook("check.sh", timeout=30.0),
        CommandHook("log.sh", once=True, run_async=True),
    )
    (stop,) = config.groups(HookEvent.STOP)
    assert stop.matcher.matches_all
    assert stop.hooks[0].timeout is None  # the runner applies DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT == 600.0
    assert config.groups(HookEvent.POST_TOOL_USE) == ()


def test_none_is_an_empty_configuration() -> None:
    assert not parse_hooks(None)


def test_other_hook_types_parse_as_unsupported() -> None:
    config = parse_hooks({"Stop": [{"hooks": [{"type": "prompt", "prompt": "ok?"}]}]})
    (hook,) = config.groups(HookEvent.STOP)[0].hooks
    assert isinstance(hook, UnsupportedHook)
    assert hook.type == "prompt"


def test_callables_become_python_hooks() -> None:
    def guard(event: dict[str, object]) -> None:
        return None

    config = HooksConfig.of("PreToolUse", guard, matcher="Bash")
    (hook,) = config.groups(HookEvent.PRE_TOOL_USE)[0].hooks
    assert isinstance(hook, PythonHook)
    assert hook.func is guard
    assert hook.label.endswith("guard")


@pytest.mark.parametrize(
    ("data", "location", "reason"),
    [
        ({"PreToolUse": {"matcher": "x"}}, "hooks.PreToolUse", "list of matcher groups"),
        ({"PreToolUse": [{"matcher": 3, "hooks": []}]}, "hooks.PreToolUse[0].matcher", "string"),
        ({"PreToolUse": [{"matcher": "Bash("}]}, "hooks.PreToolUse[0].matcher", "regular"),
        ({"PreToolUse": [{"matcher": "Bash"}]}, "hooks.PreToolUse[0].hooks", "non-empty list"),
        (
            {"Stop": [{"hooks": [{"type": "command"}]}]},
            "hooks.Stop[0].hooks[0].command",
            "non-empty string",
        ),
        (
            {"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": -1}]}]},
            "hooks.Stop[0].hooks[0].timeout",
            "positive number",
        ),
        (
            {"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": "5"}]}]},
            "hooks.Stop[0].hooks[0].timeout",
            "positive number",
        ),
        (
            {"Stop": [{"hooks": [{"type": "command", "command": "x", "once": "yes"}]}]},
            "hooks.Stop[0].hooks[0].once",
            "true or false",
        ),
        (
            {"Stop": [{"hooks": [{"type": "shell", "command": "x"}]}]},
            "hooks.Stop[0].hooks[0].type",
            "must be one of",
        ),
        (["PreToolUse"], "hooks", "mapping of event names"),
    ],
)
def test_malformed_configs_name_the_field(data: object, location: str, reason: str) -> None:
    with pytest.raises(HookConfigError) as info:
        parse_hooks(data, origin="/p/.claude/settings.json")
    message = str(info.value)
    assert message.startswith(f"/p/.claude/settings.json: {location}: ")
    assert reason in message
    assert info.value.origin == "/p/.claude/settings.json"


def test_an_unknown_event_suggests_the_close_name() -> None:
    with pytest.raises(HookConfigError, match=r"hooks\.PreToolUs: .*did you mean 'PreToolUse'"):
        parse_hooks({"PreToolUs": [{"hooks": [{"type": "command", "command": "x"}]}]})


def test_lenient_parsing_keeps_the_good_hooks_and_the_errors() -> None:
    config = parse_hooks(
        {
            "Stop": [
                {
                    "hooks": [
                        {"type": "command", "command": "good.sh"},
                        {"type": "command", "command": ""},
                    ]
                },
                {"matcher": "Bash(", "hooks": [{"type": "command", "command": "x"}]},
            ],
            "Nope": [],
            "SessionEnd": [{"hooks": [{"type": "command", "command": "bye.sh"}]}],
        },
        origin="settings.json",
        strict=False,
    )
    assert [h.label for g in config.groups(HookEvent.STOP) for h in g.hooks] == ["good.sh"]
    assert [h.label for g in config.groups(HookEvent.SESSION_END) for h in g.hooks] == ["bye.sh"]
    locations = sorted(e.location for e in config.errors)
    assert locations == ["Nope", "Stop[0].hooks[1].command", "Stop[1].matcher"]
    assert all(e.origin == "settings.json" for e in config.errors)


def test_merged_configs_keep_every_hook_in_order() -> None:
    first = parse_hooks({"Stop": [{"hooks": [{"type": "command", "command": "a"}]}]})
    second = parse_hooks({"Stop": [{"hooks": [{"type": "command", "command": "b"}]}]})
    merged = first.merged(second)
    assert [g.hooks[0].label for g in merged.groups(HookEvent.STOP)] == ["a", "b"]


def test_an_event_claude_code_has_and_skilld_never_fires_is_ignored_with_a_note(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {
        "Setup": [{"hooks": [{"type": "command", "command": "setup.sh"}]}],
        "FileChanged": "not even a list: never looked at",
        "Stop": [{"hooks": [{"type": "command", "command": "stop.sh"}]}],
    }
    with caplog.at_level("INFO", logger="skilld.hooks.config"):
        config = parse_hooks(data, origin="/p/settings.json")  # strict: no error either
    assert list(config.events) == [HookEvent.STOP]
    assert config.errors == ()
    assert config.notes == (
        "/p/settings.json: hooks.Setup: Claude Code's Setup event is never fired by skilld;"
        " ignored",
        "/p/settings.json: hooks.FileChanged: Claude Code's FileChanged event is never fired"
        " by skilld; ignored",
    )
    assert [r.levelname for r in caplog.records] == ["INFO", "INFO"]
    assert HooksConfig().merged(config).notes == config.notes


def test_the_event_list_knows_what_skilld_fires_and_what_takes_a_matcher() -> None:
    from skilld.hooks.events import CLAUDE_CODE_EVENTS, MATCHER_FIELDS

    fired = {name for name, info in CLAUDE_CODE_EVENTS.items() if info.fired}
    assert fired == {event.value for event in HookEvent}
    assert CLAUDE_CODE_EVENTS["PreToolUse"].takes_matcher
    assert not CLAUDE_CODE_EVENTS["Stop"].takes_matcher
    assert CLAUDE_CODE_EVENTS["Setup"].takes_matcher
    assert not CLAUDE_CODE_EVENTS["Setup"].fired
    assert not CLAUDE_CODE_EVENTS["CwdChanged"].takes_matcher
    for event in HookEvent:
        assert CLAUDE_CODE_EVENTS[event.value].takes_matcher == (event in MATCHER_FIELDS)


def test_an_mcp_tool_hook_parses_and_needs_server_and_tool() -> None:
    hook = {"type": "mcp_tool", "server": "semgrep", "tool": "scan", "input": {"p": "x"}}
    config = parse_hooks({"PostToolUse": [{"matcher": "Write", "hooks": [hook]}]})
    (parsed,) = config.groups(HookEvent.POST_TOOL_USE)[0].hooks
    assert isinstance(parsed, UnsupportedHook)
    assert parsed.type == "mcp_tool"
    with pytest.raises(HookConfigError, match=r"hooks\.Stop\[0\]\.hooks\[0\]\.tool: must be"):
        parse_hooks({"Stop": [{"hooks": [{"type": "mcp_tool", "server": "s"}]}]})
