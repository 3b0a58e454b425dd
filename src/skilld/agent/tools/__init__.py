"""The agent's tools: Bash, Read, Write, Edit, Glob, Grep, and a host's own Python functions.

The Skill tool lives in :mod:`skilld.tool`; :class:`skilld.agent.loop.Agent` adds it
when it has a skill registry.
"""

from __future__ import annotations

from skilld.agent.tools.base import (
    ContextModifier,
    Tool,
    ToolContext,
    ToolResult,
    TurnContext,
    schema_errors,
)
from skilld.agent.tools.bash import BashTool
from skilld.agent.tools.files import EditTool, ReadTool, WriteTool
from skilld.agent.tools.function import FunctionTool, function_tool, json_schema_for
from skilld.agent.tools.search import GlobTool, GrepTool

__all__ = [
    "BashTool",
    "ContextModifier",
    "EditTool",
    "FunctionTool",
    "GlobTool",
    "GrepTool",
    "ReadTool",
    "Tool",
    "ToolContext",
    "ToolResult",
    "TurnContext",
    "WriteTool",
    "builtin_tools",
    "function_tool",
    "json_schema_for",
    "schema_errors",
]


def builtin_tools() -> list[Tool]:
    """Fresh instances of the built-in tools, in the order the model is shown them."""
    return [BashTool(), ReadTool(), WriteTool(), EditTool(), GlobTool(), GrepTool()]
