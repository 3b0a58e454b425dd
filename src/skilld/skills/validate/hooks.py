"""The ``hooks`` key as Claude Code defines it: event -> [{matcher?, hooks: [handler]}].

The event names and hook types come from :mod:`skilld.hooks` (``CLAUDE_CODE_EVENTS``,
``HOOK_TYPES``), the same lists the hooks parser reads: every event Claude Code knows,
including those skilld never fires (a skill written for Claude Code may subscribe to them,
and Claude Code would drop all of a skill's hooks for one unknown name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from skilld.hooks.config import HOOK_TYPES
from skilld.hooks.events import CLAUDE_CODE_EVENTS
from skilld.hooks.matchers import compile_matcher
from skilld.skills.validate.check import Check, Trail, closest, dotted, type_name

__all__ = ["HOOK_EVENTS", "check_hooks"]

HOOK_EVENTS = frozenset(CLAUDE_CODE_EVENTS)
"""Every hook event name Claude Code accepts (case-sensitive)."""

_HOOK_KEYS: dict[str, frozenset[str]] = {
    "command": frozenset({"type", "command", "timeout", "statusMessage", "once", "async", "shell"}),
    "prompt": frozenset({"type", "prompt", "model", "timeout", "statusMessage", "once"}),
    "agent": frozenset({"type", "prompt", "model", "timeout", "statusMessage", "once"}),
    "http": frozenset(
        {"type", "url", "headers", "allowedEnvVars", "timeout", "statusMessage", "once"}
    ),
    "mcp_tool": frozenset({"type", "server", "tool", "input", "timeout", "statusMessage", "once"}),
}


_HOOKS_FORMAT = (
    "see the hooks format: EVENT: [{matcher: ..., hooks: [{type: command, command: ...}]}]"
)


def check_hooks(check: Check, hooks: Any) -> None:
    """``hooks`` as Claude Code defines them: event -> [{matcher?, hooks: [handler]}]."""
    if not isinstance(hooks, Mapping):
        check.add(
            "error",
            "hooks",
            f"must be a map of event names, not {type_name(hooks)}",
            _HOOKS_FORMAT,
        )
        return
    for event, matchers in hooks.items():
        trail: Trail = ("hooks", str(event))
        if event not in HOOK_EVENTS:
            suggestion = closest(str(event), sorted(HOOK_EVENTS))
            check.nested(
                "error",
                trail,
                "is not a hook event; Claude Code drops the skill's hooks",
                f"write {suggestion}" if suggestion else "use an event name such as PreToolUse",
            )
            continue
        if not isinstance(matchers, list):
            check.nested(
                "error",
                trail,
                f"must be a list of matcher entries, not {type_name(matchers)}",
                _HOOKS_FORMAT,
            )
            continue
        for i, entry in enumerate(matchers):
            _check_matcher_entry(check, str(event), (*trail, i), entry)


def _check_matcher_entry(check: Check, event: str, trail: Trail, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        check.nested("error", trail, f"must be a map, not {type_name(entry)}", _HOOKS_FORMAT)
        return
    for key in entry:
        if key not in ("matcher", "hooks"):
            check.nested(
                "warning",
                (*trail, str(key)),
                "is not a key of a matcher entry; it is ignored",
                "a matcher entry holds only matcher and hooks",
            )
    matcher = entry.get("matcher")
    if matcher is not None:
        if not isinstance(matcher, str):
            check.nested(
                "error",
                (*trail, "matcher"),
                f"must be text, not {type_name(matcher)}",
                'quote it: matcher: "Bash"',
            )
        elif not CLAUDE_CODE_EVENTS[event].takes_matcher and matcher not in ("", "*"):
            check.nested(
                "warning",
                (*trail, "matcher"),
                f"is ignored: {event} hooks take no matcher, every hook runs",
                "remove the matcher",
            )
        else:
            try:
                compile_matcher(matcher)  # what skilld's hook runner does with it
            except re.error as error:
                check.nested(
                    "error",
                    (*trail, "matcher"),
                    f"is not a valid regular expression ({error}); its hooks never run",
                    "write tool names joined by |, or escape the regex's special characters",
                )
    handlers = entry.get("hooks")
    if not isinstance(handlers, list) or not handlers:
        check.nested(
            "error",
            (*trail, "hooks") if handlers is not None else trail,
            "must be a non-empty list of hooks"
            + ("" if handlers is None else f", not {type_name(handlers)}"),
            "add hooks: [{type: command, command: ...}]",
            name=f"{dotted(trail)}.hooks",
        )
        return
    for j, handler in enumerate(handlers):
        _check_handler(check, (*trail, "hooks", j), handler)


def _check_handler(check: Check, trail: Trail, handler: Any) -> None:
    if not isinstance(handler, Mapping):
        check.nested("error", trail, f"must be a map, not {type_name(handler)}", _HOOKS_FORMAT)
        return
    kind = handler.get("type")
    if not isinstance(kind, str) or kind not in HOOK_TYPES:
        check.nested(
            "error",
            (*trail, "type") if "type" in handler else trail,
            f"is {kind!r}; it must be one of {', '.join(HOOK_TYPES)}",
            "write type: command",
            name=f"{dotted(trail)}.type",
        )
        return
    for required in HOOK_TYPES[kind]:
        value = handler.get(required)
        if not isinstance(value, str) or not value.strip():
            check.nested(
                "error",
                trail,
                f"is a hook of type {kind}, which needs {required}",
                f"add {required}: ...",
            )
    for key in handler:
        if key not in _HOOK_KEYS[kind]:
            check.nested(
                "warning",
                (*trail, str(key)),
                f"is not a key of a hook of type {kind}; it is ignored",
                f"a hook of type {kind} takes {', '.join(sorted(_HOOK_KEYS[kind]))}",
            )
    timeout = handler.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        check.nested(
            "error",
            (*trail, "timeout"),
            f"must be a positive number of seconds, not {timeout!r}",
            "write timeout: 30",
        )
    for flag in ("once", "async"):
        if flag in handler and not isinstance(handler[flag], bool):
            check.nested(
                "error",
                (*trail, flag),
                f"must be true or false, not {handler[flag]!r}",
                f"write {flag}: true",
            )
    for text_key in ("statusMessage", "model", "shell"):
        if text_key in handler and not isinstance(handler[text_key], str):
            check.nested(
                "error",
                (*trail, text_key),
                f"must be text, not {type_name(handler[text_key])}",
                f'quote it: {text_key}: "..."',
            )
