"""A host's own Python tools: schema from annotations, docstrings, context injection."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest

from skilld.agent.tools import FunctionTool, ToolContext, function_tool, json_schema_for


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def test_schema_from_annotations_defaults_and_docstring() -> None:
    def forecast(
        city: str,
        days: int = 3,
        unit: Literal["C", "F"] = "C",
        tags: list[str] | None = None,
        precise: Annotated[bool, "round less"] = False,
    ) -> str:
        """Forecast for a city.

        More detail that is not part of the description.

        Args:
            city: the city's name,
                as written locally.
            days: how many days.

        Returns:
            The forecast.
        """
        return city

    tool = function_tool(forecast)
    assert tool.name == "forecast"
    assert tool.description == "Forecast for a city."
    assert tool.input_schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "the city's name, as written locally."},
            "days": {"type": "integer", "description": "how many days.", "default": 3},
            "unit": {"enum": ["C", "F"], "type": "string", "default": "C"},
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "default": None,
            },
            "precise": {"type": "boolean", "description": "round less", "default": False},
        },
        "required": ["city"],
        "additionalProperties": False,
    }


def test_json_schema_for_containers_and_enums() -> None:
    assert json_schema_for(dict[str, int]) == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert json_schema_for(tuple[float, ...]) == {"type": "array", "items": {"type": "number"}}
    assert json_schema_for(Unit) == {"enum": ["celsius", "fahrenheit"]}
    assert json_schema_for(Any) == {}
    with pytest.raises(TypeError, match="cannot describe"):
        json_schema_for(Path)
    with pytest.raises(TypeError, match="dict keys must be str"):
        json_schema_for(dict[int, str])


def test_unsupported_signatures_fail_when_the_tool_is_made() -> None:
    def bad(*paths: str) -> None: ...

    with pytest.raises(TypeError, match=r"\*args"):
        function_tool(bad)

    def worse(where: Path) -> None: ...

    with pytest.raises(TypeError, match="cannot describe"):
        function_tool(worse)


async def test_call_sync_async_context_enum_and_json_results(tmp_path: Path) -> None:
    @function_tool(name="lookup", read_only=True)
    async def _lookup(key: str, unit: Unit, ctx: ToolContext) -> dict[str, Any]:
        return {"key": key, "unit": unit.name, "cwd": str(ctx.cwd)}

    assert isinstance(_lookup, FunctionTool)
    assert _lookup.read_only
    assert "ctx" not in _lookup.input_schema["properties"]
    context = ToolContext(cwd=tmp_path)
    assert await _lookup.validate_input({"key": "a", "unit": "kelvin"}, context) == (
        "unit must be one of 'celsius', 'fahrenheit', not 'kelvin'"
    )
    result = await _lookup.call({"key": "a", "unit": "celsius"}, context)
    assert result.data == {"key": "a", "unit": "C", "cwd": str(tmp_path)}
    assert '"unit": "C"' in result.content

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    summed = await function_tool(add).call({"a": 2, "b": 3}, context)
    assert summed.content == "5"
