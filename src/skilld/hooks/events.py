"""Hook events: their names (Claude Code's, spelled exactly), what a matcher tests, what blocks.

Each event fires at one point of an agent's life. Its input is a JSON object with the
common fields (``session_id``, ``transcript_path``, ``cwd``, ``permission_mode``,
``hook_event_name``, and ``agent_id`` inside a sub-agent) plus the event's own, which the
caller of :meth:`skilld.hooks.HookRunner.run` passes (Claude Code's names)::

    SessionStart         source: startup | resume | clear | compact
    UserPromptSubmit     prompt
    UserPromptExpansion  expansion_type, command_name, command_args, command_source, prompt
    PreToolUse           tool_name, tool_input, tool_use_id
    PermissionRequest    tool_name, tool_input, permission_suggestions
    PostToolUse          tool_name, tool_input, tool_response, tool_use_id
    PostToolUseFailure   tool_name, tool_input, tool_use_id, error, is_interrupt
    Stop                 stop_hook_active
    SubagentStart        agent_id, agent_type
    SubagentStop         stop_hook_active, agent_id, agent_type, agent_transcript_path
    PreCompact           trigger: manual | auto, custom_instructions
    PostCompact          trigger, compact_summary
    Notification         message, title, notification_type
    ConfigChange         source, file_path
    SessionEnd           reason: clear | logout | prompt_input_exit | other

Claude Code knows more events than skilld fires (``Setup``, ``FileChanged``...).
:data:`CLAUDE_CODE_EVENTS` lists them all, the one list both the hooks parser and the
skill validator read: a settings file written for Claude Code subscribes to them, so they
are accepted and ignored, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "BLOCKING_EVENTS",
    "CLAUDE_CODE_EVENTS",
    "MATCHER_FIELDS",
    "EventInfo",
    "HookEvent",
    "matcher_value",
]


class HookEvent(StrEnum):
    """Every event a hook can subscribe to."""

    SESSION_START = "SessionStart"
    USER_PROMPT_SUBMIT = "UserPromptSubmit"
    USER_PROMPT_EXPANSION = "UserPromptExpansion"
    PRE_TOOL_USE = "PreToolUse"
    PERMISSION_REQUEST = "PermissionRequest"
    POST_TOOL_USE = "PostToolUse"
    POST_TOOL_USE_FAILURE = "PostToolUseFailure"
    STOP = "Stop"
    SUBAGENT_START = "SubagentStart"
    SUBAGENT_STOP = "SubagentStop"
    PRE_COMPACT = "PreCompact"
    POST_COMPACT = "PostCompact"
    NOTIFICATION = "Notification"
    CONFIG_CHANGE = "ConfigChange"
    SESSION_END = "SessionEnd"


MATCHER_FIELDS: dict[HookEvent, str] = {
    HookEvent.PRE_TOOL_USE: "tool_name",
    HookEvent.PERMISSION_REQUEST: "tool_name",
    HookEvent.POST_TOOL_USE: "tool_name",
    HookEvent.POST_TOOL_USE_FAILURE: "tool_name",
    HookEvent.SESSION_START: "source",
    HookEvent.SESSION_END: "reason",
    HookEvent.USER_PROMPT_EXPANSION: "command_name",
    HookEvent.SUBAGENT_START: "agent_type",
    HookEvent.SUBAGENT_STOP: "agent_type",
    HookEvent.PRE_COMPACT: "trigger",
    HookEvent.POST_COMPACT: "trigger",
    HookEvent.NOTIFICATION: "notification_type",
    HookEvent.CONFIG_CHANGE: "source",
}
"""The input field a matcher is tested against. Events not listed (UserPromptSubmit,
Stop) ignore matchers: every hook of theirs runs."""

BLOCKING_EVENTS: frozenset[HookEvent] = frozenset(
    {
        HookEvent.PRE_TOOL_USE,  # the tool call does not run
        HookEvent.PERMISSION_REQUEST,  # the permission is denied
        HookEvent.POST_TOOL_USE,  # the tool ran; the reason is fed back to the model
        HookEvent.POST_TOOL_USE_FAILURE,  # likewise, for a failed tool
        HookEvent.USER_PROMPT_SUBMIT,  # the prompt is erased, never reaches the model
        HookEvent.USER_PROMPT_EXPANSION,  # the expansion never reaches the model
        HookEvent.STOP,  # the agent keeps going, with the reason as its next input
        HookEvent.SUBAGENT_STOP,  # likewise, for a sub-agent
        HookEvent.CONFIG_CHANGE,  # the change is not applied
    }
)
"""Events where exit code 2 or ``decision: "block"`` blocks something. For the others a
blocking answer is only shown to the user (Claude Code: "stderr shown to user only")."""


@dataclass(frozen=True, slots=True)
class EventInfo:
    """One hook event Claude Code knows.

    Attributes:
        name: its name, spelled exactly (names are case-sensitive).
        fired: skilld fires it (it is a :class:`HookEvent`); the others are accepted in a
            configuration and ignored.
        takes_matcher: its matcher is consulted; for the others every hook runs.
    """

    name: str
    fired: bool
    takes_matcher: bool


# Claude Code's events that skilld's runtime never fires, and whether they take a matcher.
_NOT_FIRED: dict[str, bool] = {
    "Setup": True,
    "PermissionDenied": True,
    "StopFailure": True,
    "Elicitation": True,
    "ElicitationResult": True,
    "InstructionsLoaded": True,
    "FileChanged": True,
    "CwdChanged": False,
    "TeammateIdle": False,
    "TaskCreated": False,
    "TaskCompleted": False,
    "WorktreeCreate": False,
    "WorktreeRemove": False,
}

CLAUDE_CODE_EVENTS: Mapping[str, EventInfo] = MappingProxyType(
    {
        **{
            event.value: EventInfo(event.value, True, event in MATCHER_FIELDS)
            for event in HookEvent
        },
        **{name: EventInfo(name, False, matcher) for name, matcher in _NOT_FIRED.items()},
    }
)
"""Every hook event Claude Code knows, by name: what skilld fires and what it ignores."""


def matcher_value(event: HookEvent, payload: dict[str, object]) -> str | None:
    """The string this event's matchers are tested against, or None if it has none."""
    field = MATCHER_FIELDS.get(event)
    if field is None:
        return None
    value = payload.get(field)
    return value if isinstance(value, str) else None
