"""What hooks answer: one :class:`HookRun` per hook, merged into one :class:`HookOutcome`.

A command hook answers with its exit code and output, as in Claude Code:

* exit 0: success; stdout is parsed as JSON when it starts with ``{`` (a JSON answer
  that does not validate is a non-blocking error); for SessionStart, UserPromptSubmit
  and UserPromptExpansion plain stdout is context for the model;
* exit 2: a blocking error, stderr is the reason;
* any other code, a timeout or a crash: a non-blocking error, reported and ignored.

A JSON answer may say ``continue: false`` (stop the agent, ``stopReason`` for the user),
``suppressOutput``, ``systemMessage`` (a note for the user), ``decision: "block"`` with a
``reason``, and ``hookSpecificOutput`` whose ``hookEventName`` must name the event:
``permissionDecision`` (allow | ask | deny) with ``permissionDecisionReason``,
``updatedInput``, ``additionalContext``, and for PermissionRequest a ``decision`` object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from skilld.hooks.config import Hook
from skilld.hooks.events import BLOCKING_EVENTS, HookEvent

__all__ = [
    "HookOutcome",
    "HookOutput",
    "HookRun",
    "PermissionDecision",
    "RunStatus",
    "combine",
    "parse_output",
    "parse_stdout",
]

PermissionDecision: TypeAlias = Literal["allow", "ask", "deny"]
RunStatus: TypeAlias = Literal["success", "blocking", "non_blocking_error", "cancelled"]

_PRECEDENCE: dict[PermissionDecision, int] = {"allow": 0, "ask": 1, "deny": 2}
_PLAIN_STDOUT_IS_CONTEXT = frozenset(
    {HookEvent.SESSION_START, HookEvent.USER_PROMPT_SUBMIT, HookEvent.USER_PROMPT_EXPANSION}
)


@dataclass(frozen=True, slots=True)
class HookOutput:
    """A hook's JSON answer, validated. ``raw`` keeps everything, unknown fields too."""

    continue_: bool = True
    stop_reason: str | None = None
    suppress_output: bool = False
    system_message: str | None = None
    decision: Literal["approve", "block"] | None = None
    reason: str | None = None
    permission_decision: PermissionDecision | None = None
    permission_decision_reason: str | None = None
    updated_input: Mapping[str, Any] | None = None
    additional_context: str | None = None
    permission_request: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def parse_output(data: Any, event: HookEvent) -> HookOutput:
    """Validate a JSON answer; raises ValueError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise ValueError(f"hook output must be a JSON object, not {type(data).__name__}")
    cont = _typed(data, "continue", bool, True)
    decision = data.get("decision")
    if decision is not None and decision not in ("approve", "block"):
        raise ValueError(f'decision must be "approve" or "block", not {decision!r}')
    specific = data.get("hookSpecificOutput")
    permission: Any = None
    permission_reason = updated = context = request = None
    if specific is not None:
        if not isinstance(specific, Mapping):
            raise ValueError("hookSpecificOutput must be an object")
        name = specific.get("hookEventName")
        if name != event.value:
            raise ValueError(
                f"hookSpecificOutput.hookEventName must be {event.value!r}, not {name!r}"
            )
        permission = specific.get("permissionDecision")
        if permission is not None and permission not in _PRECEDENCE:
            raise ValueError(
                f'hookSpecificOutput.permissionDecision must be "allow", "ask" or "deny", '
                f"not {permission!r}"
            )
        permission_reason = _typed(
            specific, "permissionDecisionReason", str, None, "hookSpecificOutput."
        )
        updated = _typed(specific, "updatedInput", Mapping, None, "hookSpecificOutput.")
        context = _typed(specific, "additionalContext", str, None, "hookSpecificOutput.")
        request = _typed(specific, "decision", Mapping, None, "hookSpecificOutput.")
        if request is not None:
            behavior = request.get("behavior")
            if behavior not in ("allow", "deny"):
                raise ValueError(
                    f'hookSpecificOutput.decision.behavior must be "allow" or "deny", '
                    f"not {behavior!r}"
                )
            updated = updated or _typed(request, "updatedInput", Mapping, None, "decision.")
    # The pre-2025 PreToolUse answer: decision approve/block stands for allow/deny.
    if permission is None and event is HookEvent.PRE_TOOL_USE and decision is not None:
        permission = "allow" if decision == "approve" else "deny"
        permission_reason = permission_reason or _typed(data, "reason", str, None)
    return HookOutput(
        continue_=cont,
        stop_reason=_typed(data, "stopReason", str, None),
        suppress_output=_typed(data, "suppressOutput", bool, False),
        system_message=_typed(data, "systemMessage", str, None),
        decision=decision,
        reason=_typed(data, "reason", str, None),
        permission_decision=permission,
        permission_decision_reason=permission_reason,
        updated_input=dict(updated) if updated is not None else None,
        additional_context=context,
        permission_request=dict(request) if request is not None else None,
        raw=dict(data),
    )


def parse_stdout(stdout: str, event: HookEvent) -> HookOutput | None:
    """Parse stdout as a JSON answer when it starts with ``{``; None for plain text."""
    text = stdout.strip()
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"hook output starts with '{{' but is not valid JSON: {exc}") from None
    return parse_output(data, event)


def _typed(data: Mapping[str, Any], key: str, kind: Any, default: Any, prefix: str = "") -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        name = "an object" if kind is Mapping else kind.__name__
        raise ValueError(f"{prefix}{key} must be {name}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class HookRun:
    """What one hook did. ``started_at``/``finished_at`` are ``time.monotonic()`` values.

    ``status`` is ``success`` (exit 0 or a Python hook that returned), ``blocking``
    (exit 2), ``non_blocking_error`` (any other exit, a timeout, an exception, a JSON
    answer that does not validate) or ``cancelled`` (the whole run was cancelled).
    """

    hook: Hook
    status: RunStatus
    started_at: float
    finished_at: float
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    output: HookOutput | None = None
    error: str | None = None
    timed_out: bool = False

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at


@dataclass(frozen=True, slots=True)
class HookOutcome:
    """Every matching hook's answer to one event, merged.

    Attributes:
        blocked: the event's action must not happen (the tool call does not run, the
            prompt is erased, the agent does not stop...). Only for events that can
            block; elsewhere ``block_reasons`` are for the user's eyes only.
        block_reasons: exit-2 stderr and ``reason`` of ``decision: "block"``, in
            declaration order.
        permission_decision: for PreToolUse (and PermissionRequest, where ``allow`` and
            ``deny`` come from ``decision.behavior``): the strictest answer, deny > ask >
            allow; exit code 2 counts as deny. None when no hook decided.
        permission_decision_reason: the reason given with the winning decision.
        updated_input: the tool input a hook replaced (the last one in declaration order).
        additional_context: text for the model (``additionalContext``, plain stdout of
            SessionStart / UserPromptSubmit hooks).
        prevent_continuation / stop_reason: a hook said ``continue: false``.
        system_messages: notes for the user.
        errors: non-blocking errors, one line each, naming the hook.
    """

    event: HookEvent
    runs: tuple[HookRun, ...] = ()
    blocked: bool = False
    block_reasons: tuple[str, ...] = ()
    permission_decision: PermissionDecision | None = None
    permission_decision_reason: str | None = None
    updated_input: Mapping[str, Any] | None = None
    additional_context: tuple[str, ...] = ()
    prevent_continuation: bool = False
    stop_reason: str | None = None
    suppress_output: bool = False
    system_messages: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    permission_request: Mapping[str, Any] | None = None

    @property
    def reason(self) -> str:
        """All block reasons as one text (what the model or user is shown)."""
        return "\n".join(self.block_reasons)

    @property
    def context(self) -> str:
        return "\n".join(self.additional_context)


def combine(event: HookEvent, runs: Sequence[HookRun]) -> HookOutcome:
    """Merge the runs of one event, in declaration order (never completion order)."""
    blocks: list[str] = []
    contexts: list[str] = []
    messages: list[str] = []
    errors: list[str] = []
    decision: PermissionDecision | None = None
    decision_reason: str | None = None
    updated: Mapping[str, Any] | None = None
    request: Mapping[str, Any] | None = None
    stop = False
    stop_reason: str | None = None
    suppress = False

    def decide(answer: PermissionDecision, why: str | None) -> None:
        nonlocal decision, decision_reason
        if decision is None or _PRECEDENCE[answer] > _PRECEDENCE[decision]:
            decision, decision_reason = answer, why
        elif answer == decision and decision_reason is None:
            decision_reason = why

    gates_permission = event in (HookEvent.PRE_TOOL_USE, HookEvent.PERMISSION_REQUEST)
    for run in runs:
        if run.status == "non_blocking_error":
            errors.append(f"{run.hook.label}: {run.error or 'failed'}")
            continue
        if run.status == "blocking":
            reason = run.stderr.strip() or f"blocked by hook {run.hook.label}"
            blocks.append(reason)
            if gates_permission:
                decide("deny", reason)
            continue
        if run.status != "success":
            continue
        out = run.output
        if out is None:
            if event in _PLAIN_STDOUT_IS_CONTEXT and run.stdout.strip():
                contexts.append(run.stdout.strip())
            continue
        if not out.continue_:
            stop = True
            stop_reason = stop_reason or out.stop_reason
        suppress = suppress or out.suppress_output
        if out.system_message:
            messages.append(out.system_message)
        if out.additional_context:
            contexts.append(out.additional_context)
        if out.updated_input is not None:
            updated = out.updated_input
        answer, why = out.permission_decision, out.permission_decision_reason
        if out.permission_request is not None and event is HookEvent.PERMISSION_REQUEST:
            answer, why = out.permission_request["behavior"], out.permission_request.get("message")
            if request is None or answer == "deny":
                request = out.permission_request
        if gates_permission and answer is not None:
            decide(answer, why)
            if answer == "deny":
                blocks.append(why or f"denied by hook {run.hook.label}")
        elif out.decision == "block":
            blocks.append(out.reason or f"blocked by hook {run.hook.label}")
    blocked = event in BLOCKING_EVENTS and bool(blocks)
    if gates_permission:
        blocked = decision == "deny"
    return HookOutcome(
        event=event,
        runs=tuple(runs),
        blocked=blocked,
        block_reasons=tuple(blocks),
        permission_decision=decision,
        permission_decision_reason=decision_reason,
        updated_input=updated,
        additional_context=tuple(contexts),
        prevent_continuation=stop,
        stop_reason=stop_reason,
        suppress_output=suppress,
        system_messages=tuple(messages),
        errors=tuple(errors),
        permission_request=request,
    )
