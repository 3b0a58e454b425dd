"""What a tool is to the agent loop: a name, a JSON Schema, a permission check and a call.

A tool's life in one model turn (the loop drives it; see :mod:`skilld.agent.loop`)::

    validate_input ─► PreToolUse hooks ─► check_permissions ─► call ─► PostToolUse hooks

:class:`TurnContext` is what every tool call of one user turn sees: the rules a skill's
``allowed-tools`` added, the tools its ``disallowed-tools`` took away, the model and
effort it chose. It is frozen; a tool changes it only by returning a
:data:`ContextModifier` that derives a new one, so the original is never mutated and
each skill's layer wraps the one before it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skilld.agent.models.base import Message, ToolSpec
from skilld.agent.session import MAIN_AGENT_ID

if TYPE_CHECKING:
    from skilld.permissions import PermissionDecision, PermissionEngine

__all__ = [
    "ContextModifier",
    "Tool",
    "ToolContext",
    "ToolResult",
    "TurnContext",
    "schema_errors",
]


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What the tool calls of one turn see; a skill's invocation derives a new one.

    Attributes:
        always_allow: allow rules added by invoked skills' ``allowed-tools``, in the order
            they were added, without duplicates. They hold until the turn ends.
        disallowed_tools: tool names (or rules) removed while the skill that named them is
            active.
        allowlist: strict mode only: when not None, the only tool uses allowed (rules in
            the ``allowed-tools`` grammar); everything else is refused, not asked.
        model: the model override of the active skill (``ModelRequest.model``).
        effort: the effort override of the active skill.
        active_skills: names of the skills invoked in this turn, oldest first.
    """

    always_allow: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    allowlist: tuple[str, ...] | None = None
    model: str | None = None
    effort: str | int | None = None
    active_skills: tuple[str, ...] = ()

    def allowing(self, rules: Sequence[str]) -> TurnContext:
        """A new context with ``rules`` merged into :attr:`always_allow` (deduplicated)."""
        merged = tuple(dict.fromkeys((*self.always_allow, *rules)))
        return replace(self, always_allow=merged)


ContextModifier = Callable[[TurnContext], TurnContext]
"""Derives the context later tool calls of the turn see (never mutates its argument)."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool call produced.

    Attributes:
        content: the text the model reads as the tool's result.
        is_error: the call failed; the model sees the content as an error.
        messages: more conversation content, added after the tool results (the Skill
            tool's expanded prompt).
        context_modifier: changes what later tool calls of this turn see.
        data: structured output for the host (never sent to the model).
    """

    content: str
    is_error: bool = False
    messages: tuple[Message, ...] = ()
    context_modifier: ContextModifier | None = None
    data: Any = None


EventSink = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """What one tool call knows about where it runs.

    Attributes:
        cwd: the working directory; relative paths are resolved against it.
        agent_id: the agent making the call (``main`` or a sub-agent's id).
        tool_use_id: the id of the model's tool use.
        turn: the turn's context (see :class:`TurnContext`).
        agent: the running :class:`~skilld.agent.loop.Agent` (the Skill tool starts
            sub-agents through it); None when a tool is called on its own.
        emit: reports a progress event to whoever iterates the loop.
        read_files: path → modification time when the agent last read it, shared by the
            file tools so an edit never overwrites changes the agent has not seen.
    """

    cwd: Path
    agent_id: str = MAIN_AGENT_ID
    tool_use_id: str = ""
    turn: TurnContext = field(default_factory=TurnContext)
    agent: Any = None
    emit: EventSink | None = None
    read_files: MutableMapping[str, float] = field(default_factory=dict)

    def resolve(self, path: str) -> Path:
        """``path`` made absolute against :attr:`cwd` (``~`` expanded)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.cwd / candidate


class Tool(ABC):
    """A tool the model may call.

    Subclasses set ``name``, ``description`` and ``input_schema`` and implement
    :meth:`call`. ``read_only`` tools change nothing; ``requires_permission`` false means
    the permission engine's default "ask" counts as allowed (deny and ask rules still
    apply), which is what a host's own registered tools get.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool = False
    requires_permission: bool = True

    def spec(self) -> ToolSpec:
        """The tool as the model sees it."""
        return ToolSpec(self.name, self.description, self.input_schema)

    async def validate_input(
        self, tool_input: Mapping[str, Any], context: ToolContext
    ) -> str | None:
        """Why ``tool_input`` cannot be used (one sentence for the model), or None."""
        errors = schema_errors(self.input_schema, tool_input)
        return "; ".join(errors) if errors else None

    def check_permissions(
        self,
        tool_input: Mapping[str, Any],
        context: ToolContext,
        permissions: PermissionEngine,
    ) -> PermissionDecision:
        """The permission engine's decision, with the turn's always-allow rules."""
        return permissions.check_tool(
            self.name, tool_input, extra_allow=list(context.turn.always_allow)
        )

    @abstractmethod
    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        """Run the tool. Raise (any exception) to report an error result to the model."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (Mapping,),
    "null": (type(None),),
}


def schema_errors(schema: Mapping[str, Any], value: Any, where: str = "") -> list[str]:
    """Check ``value`` against the JSON Schema subset tools use; the errors, named by field.

    Understood: ``type`` (one or a list), ``properties``, ``required``,
    ``additionalProperties: false``, ``items``, ``enum``, ``anyOf``, ``minimum``,
    ``maximum``. Anything else is accepted, never guessed at.
    """
    label = where or "input"
    if "anyOf" in schema:
        options = [schema_errors(option, value, where) for option in schema["anyOf"]]
        if all(options):
            return [f"{label} matches none of the allowed forms ({options[0][0]})"]
        return []
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        if not any(_is_type(value, k) for k in kinds):
            return [f"{label} must be {' or '.join(kinds)}, not {_json_name(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        return [f"{label} must be one of {allowed}, not {value!r}"]
    errors: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{label} must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{label} must be at most {schema['maximum']}")
    if isinstance(value, Mapping):
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors.append(f"{_join(where, name)} is required")
        for name, item in value.items():
            if name in properties:
                errors.extend(schema_errors(properties[name], item, _join(where, name)))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{_join(where, name)} is not a known parameter")
    if isinstance(value, list | tuple) and "items" in schema:
        for index, item in enumerate(value):
            errors.extend(schema_errors(schema["items"], item, f"{label}[{index}]"))
    return errors


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    return isinstance(value, _JSON_TYPES.get(kind, (object,)))


def _json_name(value: Any) -> str:
    for name in _JSON_TYPES:
        if _is_type(value, name):
            return name
    return type(value).__name__


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
