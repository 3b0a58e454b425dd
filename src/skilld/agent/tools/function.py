"""A host's own tools: a typed Python function becomes a tool, its schema from annotations.

::

    @function_tool
    async def weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''The weather in a city.

        Args:
            city: the city's name.
        '''

The name is the function's, the description its docstring's first paragraph, each
parameter's description its ``Args:`` line (or ``Annotated[str, "the city"]``).
Parameters without a default are required. A parameter annotated :class:`ToolContext`
receives the call's context and is left out of the schema. Understood types: ``str``,
``int``, ``float``, ``bool``, ``None``, ``list[T]``, ``tuple[T, ...]``, ``dict[str, T]``,
``Literal[...]``, enums, unions (``T | None``), ``Annotated`` and
``typing.Any``; anything else raises :class:`TypeError` when the tool is made, not when
the model calls it. The return value is the result (``str`` as it is, anything else as
JSON); an exception is an error result with its message.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_args, get_origin, get_type_hints

from skilld.agent.tools.base import Tool, ToolContext, ToolResult

__all__ = ["FunctionTool", "function_tool", "json_schema_for"]


def json_schema_for(annotation: Any) -> dict[str, Any]:
    """The JSON Schema of a Python type annotation (see the module doc for what is known)."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return {}
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        schema = json_schema_for(args[0])
        notes = [a for a in args[1:] if isinstance(a, str)]
        if notes:
            schema["description"] = " ".join(notes)
        return schema
    if origin is typing.Literal:
        values = list(args)
        kinds = {_SIMPLE.get(type(v)) for v in values}
        schema = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            schema["type"] = kinds.pop()
        return schema
    if origin in (typing.Union, types.UnionType):
        options = [json_schema_for(a) for a in args]
        return {"anyOf": options}
    if origin in (list, set, frozenset, tuple) or annotation in (list, tuple, set):
        item: Any = args[0] if args else Any
        fixed = origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis)
        if fixed and len(set(args)) != 1:
            raise TypeError(f"fixed-length tuples are not supported: {annotation!r}")
        return {"type": "array", "items": json_schema_for(item)}
    if origin is dict or annotation is dict:
        if args and args[0] is not str:
            raise TypeError(f"dict keys must be str in a tool signature: {annotation!r}")
        value = json_schema_for(args[1]) if args else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    if annotation in _SIMPLE:
        return {"type": _SIMPLE[annotation]}
    raise TypeError(f"cannot describe {annotation!r} as JSON Schema for a tool parameter")


_SIMPLE: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARGS_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _docstring(function: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (first paragraph) and the ``Args:`` lines of a docstring."""
    doc = inspect.getdoc(function) or ""
    paragraphs = doc.split("\n\n")
    description = " ".join(paragraphs[0].split()) if doc else ""
    params: dict[str, str] = {}
    current: str | None = None
    in_args = False
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if not in_args:
            continue
        if stripped.endswith(":") and not line.startswith((" ", "\t")):
            break  # the next section (Returns:, Raises:)
        match = _ARGS_LINE.match(line)
        if match and len(line) - len(line.lstrip()) <= 4:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif current and stripped:
            params[current] += " " + stripped
    return description, params


class FunctionTool(Tool):
    """A tool made from a Python function (see :func:`function_tool`)."""

    requires_permission = False

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        read_only: bool = False,
        requires_permission: bool = False,
    ) -> None:
        self.function = function
        self.name = name or function.__name__
        doc, notes = _docstring(function)
        self.description = description or doc or f"The {self.name} tool."
        self.read_only = read_only
        self.requires_permission = requires_permission
        hints = get_type_hints(function, include_extras=True)
        properties: dict[str, Any] = {}
        required: list[str] = []
        self._context_parameter: str | None = None
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"tool {self.name}: *args and **kwargs cannot be described")
            annotation = hints.get(parameter.name, Any)
            if annotation is ToolContext:
                self._context_parameter = parameter.name
                continue
            schema = json_schema_for(annotation)
            if parameter.name in notes and "description" not in schema:
                schema["description"] = notes[parameter.name]
            if parameter.default is parameter.empty:
                required.append(parameter.name)
            elif _jsonable(parameter.default):
                schema["default"] = parameter.default
            properties[parameter.name] = schema
        self.input_schema = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        self._enums = {
            name: hint
            for name, hint in hints.items()
            if isinstance(hint, type) and issubclass(hint, enum.Enum)
        }

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        arguments = {
            key: self._enums[key](value) if key in self._enums else value
            for key, value in tool_input.items()
        }
        if self._context_parameter is not None:
            arguments[self._context_parameter] = context
        value = self.function(**arguments)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, ToolResult):
            return value
        if isinstance(value, str):
            return ToolResult(value)
        return ToolResult(json.dumps(value, default=str), data=value)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


ToolFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]


@typing.overload
def function_tool(function: ToolFunction, /) -> FunctionTool: ...


@typing.overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    requires_permission: bool = False,
) -> Callable[[ToolFunction], FunctionTool]: ...


def function_tool(
    function: ToolFunction | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    requires_permission: bool = False,
) -> FunctionTool | Callable[[ToolFunction], FunctionTool]:
    """Make a tool of a typed function; usable bare (``@function_tool``) or with options.

    ``requires_permission=True`` makes its uses ask, like the built-in tools that change
    things; by default a host's own tool runs unless a deny or ask rule names it.
    """

    def make(fn: ToolFunction) -> FunctionTool:
        return FunctionTool(
            fn,
            name=name,
            description=description,
            read_only=read_only,
            requires_permission=requires_permission,
        )

    return make(function) if function is not None else make
