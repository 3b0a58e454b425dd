"""Hook answers: JSON validation and how several answers merge."""

from __future__ import annotations

import pytest

from skilld.hooks import CommandHook, HookEvent
from skilld.hooks.output import HookRun, combine, parse_output, parse_stdout

PRE = HookEvent.PRE_TOOL_USE


def _run(stdout: str = "", status: str = "success", stderr: str = "", name: str = "h") -> HookRun:
    output = parse_stdout(stdout, PRE) if status == "success" else None
    return HookRun(CommandHook(name), status, 0.0, 0.0, 0, stdout, stderr, output)  # type: ignore[arg-type]


def _decision(value: str, reason: str) -> str:
    return (
        '{"hookSpecificOutput": {"hookEventName": "PreToolUse", '
        f'"permissionDecision": "{value}", "permissionDecisionReason": "{reason}"}}}}'
    )


def test_plain_text_is_not_json() -> None:
    assert parse_stdout("all good\n", PRE) is None


def test_the_common_fields_parse() -> None:
    out = parse_output(
        {"continue": False, "stopReason": "enough", "suppressOutput": True, "systemMessage": "hi"},
        PRE,
    )
    assert (out.continue_, out.stop_reason, out.suppress_output, out.system_message) == (
        False,
        "enough",
        True,
        "hi",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"continue": "no"}, "continue must be bool"),
        ({"decision": "deny"}, 'decision must be "approve" or "block"'),
        ({"hookSpecificOutput": {"hookEventName": "PostToolUse"}}, "hookEventName must be"),
        (
            {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "maybe"}},
            "permissionDecision must be",
        ),
        (
            {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": "ls"}},
            "updatedInput must be an object",
        ),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_invalid_answers_name_the_field(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_output(data, PRE)


def test_broken_json_that_looks_like_json_is_an_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_stdout('{"continue": fal', PRE)


def test_the_legacy_pretooluse_decision_maps_to_permission() -> None:
    out = parse_output({"decision": "block", "reason": "nope"}, PRE)
    assert (out.permission_decision, out.permission_decision_reason) == ("deny", "nope")
    assert parse_output({"decision": "approve"}, PRE).permission_decision == "allow"


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["allow", "ask", "deny"], "deny"),
        (["deny", "allow"], "deny"),
        (["allow", "ask"], "ask"),
        (["ask", "allow", "allow"], "ask"),
        (["allow", "allow"], "allow"),
    ],
)
def test_deny_beats_ask_beats_allow(answers: list[str], expected: str) -> None:
    runs = [_run(_decision(a, f"{a} #{i}"), name=f"h{i}") for i, a in enumerate(answers)]
    outcome = combine(PRE, runs)
    assert outcome.permission_decision == expected
    assert outcome.permission_decision_reason == f"{expected} #{answers.index(expected)}"
    assert outcome.blocked is (expected == "deny")


def test_exit_code_2_on_pretooluse_is_a_deny_with_stderr_as_reason() -> None:
    outcome = combine(
        PRE, [_run(_decision("allow", "fine")), _run(status="blocking", stderr="no\n")]
    )
    assert outcome.permission_decision == "deny"
    assert outcome.permission_decision_reason == "no"
    assert outcome.reason == "no"


def test_blocking_only_blocks_events_that_can_block() -> None:
    blocking = HookRun(CommandHook("h"), "blocking", 0.0, 0.0, 2, "", "stop it")
    assert combine(HookEvent.STOP, [blocking]).blocked
    notification = combine(HookEvent.NOTIFICATION, [blocking])
    assert not notification.blocked
    assert notification.block_reasons == ("stop it",)  # shown to the user only


def test_non_blocking_errors_are_reported_not_obeyed() -> None:
    failed = HookRun(CommandHook("lint.sh"), "non_blocking_error", 0.0, 0.0, 1, error="boom")
    outcome = combine(PRE, [failed])
    assert not outcome.blocked
    assert outcome.permission_decision is None
    assert outcome.errors == ("lint.sh: boom",)
