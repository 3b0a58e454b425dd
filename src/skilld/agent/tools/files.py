"""Read, Write and Edit: the file tools.

As in Claude Code, an existing file must have been read by the agent (and not changed
since) before Write or Edit may change it, so the model never overwrites what it has not
seen. Read numbers lines like ``cat -n`` and pages with ``offset``/``limit``; Edit replaces
one exact, unique string (or every occurrence with ``replace_all``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skilld.agent.tools.base import Tool, ToolContext, ToolResult

__all__ = ["DEFAULT_READ_LINES", "MAX_LINE_CHARS", "EditTool", "ReadTool", "WriteTool"]

DEFAULT_READ_LINES = 2000
"""Lines Read returns when the model asks for no ``limit``."""
MAX_LINE_CHARS = 2000
"""Characters of one line Read returns; longer lines are cut."""
_MAX_READ_BYTES = 10 * 1024 * 1024


def _path_property(what: str) -> dict[str, Any]:
    return {"type": "string", "description": f"Path of the file to {what} (absolute or relative)."}


_READ_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "file_path": _path_property("read"),
        "offset": {"type": "integer", "minimum": 1},
        "limit": {"type": "integer", "minimum": 1},
    },
    "required": ["file_path"],
    "additionalProperties": False,
}


class ReadTool(Tool):
    """Reads a text file, numbered by line."""

    name = "Read"
    description = (
        "Read a text file. Lines come numbered (`cat -n` style); `offset` is the first "
        f"line (1-based) and `limit` how many (default {DEFAULT_READ_LINES})."
    )
    read_only = True
    input_schema = _READ_SCHEMA

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        path = context.resolve(str(tool_input["file_path"]))
        offset = int(tool_input.get("offset") or 1)
        limit = int(tool_input.get("limit") or DEFAULT_READ_LINES)
        return await asyncio.to_thread(self._read, path, offset, limit, context)

    def _read(self, path: Path, offset: int, limit: int, context: ToolContext) -> ToolResult:
        if not path.exists():
            return ToolResult(f"File does not exist: {path}", is_error=True)
        if path.is_dir():
            return ToolResult(f"{path} is a directory; use Glob or Bash ls to list it", True)
        stat = path.stat()
        if stat.st_size > _MAX_READ_BYTES:
            return ToolResult(
                f"{path} is {stat.st_size} bytes, more than Read returns; "
                "use Grep, or Bash with head/tail",
                is_error=True,
            )
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            return ToolResult(f"{path} is a binary file", is_error=True)
        context.read_files[str(path)] = stat.st_mtime_ns
        lines = data.decode("utf-8", "replace").splitlines()
        if not lines:
            return ToolResult(f"{path} is empty.")
        if offset > len(lines):
            return ToolResult(
                f"{path} has {len(lines)} lines; offset {offset} is past the end", is_error=True
            )
        shown = lines[offset - 1 : offset - 1 + limit]
        numbered = [f"{number:6}\t{_cut(line)}" for number, line in enumerate(shown, start=offset)]
        rest = len(lines) - (offset - 1 + len(shown))
        if rest > 0:
            numbered.append(f"... ({rest} more lines; read on with offset={offset + len(shown)})")
        return ToolResult("\n".join(numbered))


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [line cut]"


def _unseen_change(path: Path, context: ToolContext) -> str | None:
    """Why the agent may not change an existing ``path`` yet, or None."""
    if not path.exists():
        return None
    seen = context.read_files.get(str(path))
    if seen is None:
        return f"{path} exists and has not been read; Read it before changing it"
    if path.stat().st_mtime_ns != seen:
        return f"{path} changed since it was read; Read it again before changing it"
    return None


def _written(path: Path, text: str, context: ToolContext) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    context.read_files[str(path)] = path.stat().st_mtime_ns


_WRITE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {"file_path": _path_property("write"), "content": {"type": "string"}},
    "required": ["file_path", "content"],
    "additionalProperties": False,
}


class WriteTool(Tool):
    """Writes a whole file (creating folders as needed)."""

    name = "Write"
    description = (
        "Write a file with the given content, replacing it if it exists (an existing file "
        "must be Read first). Creates missing folders."
    )
    input_schema = _WRITE_SCHEMA

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        path = context.resolve(str(tool_input["file_path"]))
        if path.is_dir():
            return ToolResult(f"{path} is a directory", is_error=True)
        problem = _unseen_change(path, context)
        if problem is not None:
            return ToolResult(problem, is_error=True)
        existed = path.exists()
        content = str(tool_input["content"])
        await asyncio.to_thread(_written, path, content, context)
        verb = "Updated" if existed else "Created"
        return ToolResult(f"{verb} {path} ({len(content.encode())} bytes)")


_EDIT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "file_path": _path_property("edit"),
        "old_string": {"type": "string"},
        "new_string": {"type": "string"},
        "replace_all": {"type": "boolean"},
    },
    "required": ["file_path", "old_string", "new_string"],
    "additionalProperties": False,
}


class EditTool(Tool):
    """Replaces an exact string in a file."""

    name = "Edit"
    description = (
        "Replace `old_string` with `new_string` in a file that was Read. `old_string` must "
        "occur exactly once unless `replace_all` is true; an empty `old_string` creates a "
        "new file with `new_string` as its content."
    )
    input_schema = _EDIT_SCHEMA

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        path = context.resolve(str(tool_input["file_path"]))
        old = str(tool_input["old_string"])
        new = str(tool_input["new_string"])
        if old == new:
            return ToolResult("old_string and new_string are the same; nothing to do", True)
        if old == "":
            if path.exists():
                return ToolResult(f"{path} exists; an empty old_string only creates files", True)
            await asyncio.to_thread(_written, path, new, context)
            return ToolResult(f"Created {path}")
        if not path.is_file():
            return ToolResult(f"File does not exist: {path}", is_error=True)
        problem = _unseen_change(path, context)
        if problem is not None:
            return ToolResult(problem, is_error=True)
        text = path.read_text(encoding="utf-8")
        count = text.count(old)
        if count == 0:
            return ToolResult(f"old_string was not found in {path}", is_error=True)
        if count > 1 and not tool_input.get("replace_all"):
            return ToolResult(
                f"old_string occurs {count} times in {path}; give more context to make it "
                "unique, or set replace_all",
                is_error=True,
            )
        await asyncio.to_thread(_written, path, text.replace(old, new), context)
        plural = f"{count} occurrences" if count > 1 else "1 occurrence"
        return ToolResult(f"Edited {path}: replaced {plural}")
