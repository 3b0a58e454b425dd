"""Hooks configuration: the ``hooks`` object of a settings file or a skill's frontmatter.

The shape is Claude Code's, three levels deep::

    hooks:
      PreToolUse:                      # the event
        - matcher: "Write|Edit"        # which tools (sources, triggers...) it answers to
          hooks:                       # what runs
            - type: command
              command: "$CLAUDE_PROJECT_DIR/.claude/hooks/check.sh"
              timeout: 30              # seconds (default 600, as in Claude Code)
              once: true               # skill hooks: removed after the first success

From Python code a hook may also be a callable (a :class:`PythonHook`, or a bare function
that gets wrapped). ``prompt``, ``agent``, ``http`` and ``mcp_tool`` hooks parse, so a
settings file written for Claude Code loads, but running one is reported as a non-blocking
error. Likewise an event Claude Code knows but skilld never fires (``Setup``...) is
accepted and ignored, with a note in :attr:`HooksConfig.notes`.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from skilld.exceptions import HookConfigError
from skilld.hooks.events import CLAUDE_CODE_EVENTS, HookEvent
from skilld.hooks.matchers import Matcher, compile_matcher

__all__ = [
    "DEFAULT_TIMEOUT",
    "HOOK_TYPES",
    "CommandHook",
    "Hook",
    "HookGroup",
    "HookReturn",
    "HooksConfig",
    "PythonHook",
    "UnsupportedHook",
    "parse_hooks",
]

DEFAULT_TIMEOUT = 600.0
"""Seconds a hook may run before it is cancelled (Claude Code's default for commands)."""

HookReturn: TypeAlias = Mapping[str, Any] | None
"""What a Python hook returns: the JSON output a command hook would print, or None."""

HOOK_TYPES: Mapping[str, tuple[str, ...]] = {
    "command": ("command",),
    "prompt": ("prompt",),
    "agent": ("prompt",),
    "http": ("url",),
    "mcp_tool": ("server", "tool"),
}
"""Claude Code's hook types and the text fields each needs (``mcp_tool``: since Claude Code
2.1.118, a tool of a connected MCP server). skilld runs only ``command``; the skill
validator checks the same table."""

_UNSUPPORTED_TYPES = frozenset(HOOK_TYPES) - {"command"}

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandHook:
    """A shell command; the event is written to its stdin as JSON.

    Attributes:
        command: run with ``/bin/sh -c`` in the session's working directory.
        timeout: seconds before it is killed (None: :data:`DEFAULT_TIMEOUT`).
        once: remove the hook after its first successful run (skill hooks).
        run_async: start it and do not wait (Claude Code's ``async: true``); its answer
            is ignored.
        status_message: what a UI may show while it runs.
    """

    command: str
    timeout: float | None = None
    once: bool = False
    run_async: bool = False
    status_message: str | None = None

    @property
    def label(self) -> str:
        return self.command


@dataclass(frozen=True, slots=True, eq=False)
class PythonHook:
    """A Python callable, sync or async, called with the event dict.

    It returns what a command hook prints as JSON (``{"decision": "block", "reason":
    ...}``, ``{"hookSpecificOutput": {...}}``) or None for "no opinion". An exception is a
    non-blocking error, like a command's exit code 1. A sync callable runs in a worker
    thread so it never stalls the event loop.
    """

    func: Callable[[dict[str, Any]], HookReturn | Awaitable[HookReturn]]
    timeout: float | None = None
    once: bool = False
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or str(getattr(self.func, "__qualname__", repr(self.func)))


@dataclass(frozen=True, slots=True)
class UnsupportedHook:
    """A hook type skilld does not run (``prompt``, ``agent``, ``http``, ``mcp_tool``)."""

    type: str
    raw: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    once: bool = False

    @property
    def label(self) -> str:
        return f"<{self.type} hook>"


Hook: TypeAlias = CommandHook | PythonHook | UnsupportedHook


@dataclass(frozen=True, slots=True)
class HookGroup:
    """One matcher and the hooks that run when it matches."""

    matcher: Matcher
    hooks: tuple[Hook, ...]


@dataclass(frozen=True, slots=True)
class HooksConfig:
    """Parsed hooks, by event.

    ``errors`` lists what was skipped when parsing leniently; ``notes`` what was accepted
    and ignored on purpose (an event Claude Code has and skilld never fires).
    """

    events: Mapping[HookEvent, tuple[HookGroup, ...]] = field(default_factory=dict)
    origin: str | None = None
    errors: tuple[HookConfigError, ...] = ()
    notes: tuple[str, ...] = ()

    def groups(self, event: HookEvent) -> tuple[HookGroup, ...]:
        return self.events.get(event, ())

    def __bool__(self) -> bool:
        return any(self.events.values())

    def merged(self, *others: HooksConfig) -> HooksConfig:
        """This configuration followed by ``others``: all hooks of all of them run."""
        events: dict[HookEvent, tuple[HookGroup, ...]] = dict(self.events)
        errors = list(self.errors)
        notes = list(self.notes)
        for other in others:
            for event, groups in other.events.items():
                events[event] = events.get(event, ()) + groups
            errors.extend(other.errors)
            notes.extend(other.notes)
        return HooksConfig(events, self.origin, tuple(errors), tuple(notes))

    @classmethod
    def of(
        cls,
        event: HookEvent | str,
        *hooks: Hook | Callable[..., Any],
        matcher: str | None = None,
    ) -> HooksConfig:
        """A configuration of one group, handy from code: ``HooksConfig.of("Stop", fn)``."""
        return parse_hooks({str(event): [{"matcher": matcher, "hooks": list(hooks)}]})


def parse_hooks(
    data: Any,
    *,
    origin: str | None = None,
    strict: bool = True,
) -> HooksConfig:
    """Parse a ``hooks`` object.

    With ``strict`` (the default) the first problem raises :class:`HookConfigError`,
    naming ``origin`` (a file), the event and the field. Otherwise each broken event,
    group or hook is skipped and its error kept in :attr:`HooksConfig.errors`, so one
    typo never disables the other hooks of a file.
    """
    parser = _Parser(origin, strict)
    events = parser.parse(data)
    return HooksConfig(events, origin, tuple(parser.errors), tuple(parser.notes))


class _Skip(Exception):
    """Internal: the current item was reported and is skipped."""


class _Parser:
    def __init__(self, origin: str | None, strict: bool) -> None:
        self.origin = origin
        self.strict = strict
        self.errors: list[HookConfigError] = []
        self.notes: list[str] = []

    def fail(self, location: str, reason: str) -> _Skip:
        error = HookConfigError(reason, location=location, origin=self.origin)
        if self.strict:
            raise error
        self.errors.append(error)
        return _Skip()

    def parse(self, data: Any) -> dict[HookEvent, tuple[HookGroup, ...]]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            try:
                raise self.fail("", f"must be a mapping of event names, not {_kind(data)}")
            except _Skip:
                return {}
        events: dict[HookEvent, tuple[HookGroup, ...]] = {}
        for key, value in data.items():
            try:
                event = self.event(key)
                if event is None:
                    continue
                groups = self.groups(event, value)
            except _Skip:
                continue
            events[event] = events.get(event, ()) + groups
        return events

    def event(self, key: Any) -> HookEvent | None:
        """The event of a key; None for one Claude Code has and skilld never fires."""
        info = CLAUDE_CODE_EVENTS.get(key) if isinstance(key, str) else None
        if info is None:
            names = list(CLAUDE_CODE_EVENTS)
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known events: {names}"
            raise self.fail(str(key), f"unknown hook event {key!r}{hint}")
        if not info.fired:
            where = f"{self.origin}: hooks.{key}" if self.origin else f"hooks.{key}"
            note = f"{where}: Claude Code's {key} event is never fired by skilld; ignored"
            logger.info(note)
            self.notes.append(note)
            return None
        return HookEvent(key)

    def groups(self, event: HookEvent, value: Any) -> tuple[HookGroup, ...]:
        if not isinstance(value, list):
            raise self.fail(event.value, f"must be a list of matcher groups, not {_kind(value)}")
        groups: list[HookGroup] = []
        for index, item in enumerate(value):
            try:
                groups.append(self.group(f"{event.value}[{index}]", item))
            except _Skip:
                continue
        return tuple(groups)

    def group(self, location: str, item: Any) -> HookGroup:
        if not isinstance(item, Mapping):
            raise self.fail(location, f"must be a mapping with 'hooks', not {_kind(item)}")
        pattern = item.get("matcher")
        if pattern is not None and not isinstance(pattern, str):
            raise self.fail(f"{location}.matcher", f"must be a string, not {_kind(pattern)}")
        try:
            matcher = compile_matcher(pattern)
        except re.error as exc:
            raise self.fail(f"{location}.matcher", f"invalid regular expression: {exc}") from None
        hooks_value = item.get("hooks")
        if not isinstance(hooks_value, list) or not hooks_value:
            raise self.fail(f"{location}.hooks", "must be a non-empty list of hooks")
        hooks: list[Hook] = []
        for index, raw in enumerate(hooks_value):
            try:
                hooks.append(self.hook(f"{location}.hooks[{index}]", raw))
            except _Skip:
                continue
        return HookGroup(matcher, tuple(hooks))

    def hook(self, location: str, raw: Any) -> Hook:
        if isinstance(raw, CommandHook | PythonHook | UnsupportedHook):
            return raw
        if callable(raw):
            return PythonHook(raw)
        if not isinstance(raw, Mapping):
            raise self.fail(location, f"must be a mapping with 'type', not {_kind(raw)}")
        kind = raw.get("type")
        timeout = self.timeout(location, raw.get("timeout"))
        once = self.flag(location, raw, "once")
        if kind == "command":
            command = raw.get("command")
            if not isinstance(command, str) or not command.strip():
                raise self.fail(f"{location}.command", "must be a non-empty string")
            status = raw.get("statusMessage")
            if status is not None and not isinstance(status, str):
                raise self.fail(f"{location}.statusMessage", "must be a string")
            return CommandHook(
                command,
                timeout=timeout,
                once=once,
                run_async=self.flag(location, raw, "async"),
                status_message=status,
            )
        if kind in _UNSUPPORTED_TYPES:
            for needed in HOOK_TYPES[kind]:
                value = raw.get(needed)
                if not isinstance(value, str) or not value.strip():
                    raise self.fail(f"{location}.{needed}", "must be a non-empty string")
            return UnsupportedHook(str(kind), dict(raw), timeout=timeout, once=once)
        known = ["command", *sorted(_UNSUPPORTED_TYPES)]
        raise self.fail(f"{location}.type", f"must be one of {known}, not {kind!r}")

    def timeout(self, location: str, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(f"{location}.timeout", f"must be a positive number, not {value!r}")
        return float(value)

    def flag(self, location: str, raw: Mapping[str, Any], key: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{location}.{key}", f"must be true or false, not {value!r}")
        return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def iter_hooks(config: HooksConfig) -> Iterable[tuple[HookEvent, HookGroup, Hook]]:
    """Every (event, group, hook) of a configuration, in declaration order."""
    for event, groups in config.events.items():
        for group in groups:
            for hook in group.hooks:
                yield event, group, hook
