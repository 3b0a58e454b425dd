"""Glob and Grep: finding files by name and by content, without a shell.

Both skip the folders no one means to search (``.git``, ``node_modules``, virtual
environments, caches) and bound their answers, so one wide pattern cannot flood the
conversation. Grep reads Python regular expressions and skips binary files.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from skilld.agent.tools.base import Tool, ToolContext, ToolResult

__all__ = ["MAX_RESULTS", "GlobTool", "GrepTool"]

MAX_RESULTS = 100
"""Paths Glob and Grep return at most (Grep's ``head_limit`` changes it)."""
_SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".tox"}
)  # fmt: skip
_MAX_GREP_FILE_BYTES = 5 * 1024 * 1024


def _walk(root: Path) -> Iterator[Path]:
    """Files below ``root``, sorted per folder, skipped folders left out."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(names):
            yield Path(folder, name)


def _search_root(tool_input: Mapping[str, Any], context: ToolContext) -> Path | str:
    root = context.resolve(str(tool_input.get("path") or context.cwd))
    if not root.exists():
        return f"Path does not exist: {root}"
    return root


_GLOB_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": "The glob pattern."},
        "path": {"type": "string", "description": "Folder to search in."},
    },
    "required": ["pattern"],
    "additionalProperties": False,
}


class GlobTool(Tool):
    """Finds files whose path matches a glob pattern, most recently changed first."""

    name = "Glob"
    description = (
        "Find files by glob pattern (`**/*.py`, `src/**/test_*.py`) below `path` (default: "
        f"the working directory). Most recently modified first, at most {MAX_RESULTS}."
    )
    read_only = True
    input_schema = _GLOB_SCHEMA

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        root = _search_root(tool_input, context)
        if isinstance(root, str):
            return ToolResult(root, is_error=True)
        pattern = str(tool_input["pattern"])
        return await asyncio.to_thread(self._glob, root, pattern)

    def _glob(self, root: Path, pattern: str) -> ToolResult:
        if root.is_file():
            return ToolResult(f"{root} is a file, not a folder", is_error=True)
        regex = _glob_regex(pattern)
        found: list[tuple[float, str]] = []
        for path in _walk(root):
            relative = path.relative_to(root).as_posix()
            if regex.fullmatch(relative):
                try:
                    found.append((path.stat().st_mtime, str(path)))
                except OSError:
                    continue
        if not found:
            return ToolResult("No files found")
        found.sort(key=lambda item: (-item[0], item[1]))
        lines = [path for _, path in found[:MAX_RESULTS]]
        if len(found) > MAX_RESULTS:
            lines.append(f"({len(found) - MAX_RESULTS} more not shown; narrow the pattern)")
        return ToolResult("\n".join(lines))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over ``/``-separated relative paths: ``**`` crosses folders.

    A pattern without ``/`` matches file names at any depth (``*.py`` finds
    ``src/a.py``), as ripgrep's globs do.
    """
    if "/" not in pattern:
        pattern = "**/" + pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            choices = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(c) for c in choices) + ")")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


_GREP_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "description": "The regular expression."},
        "path": {"type": "string", "description": "File or folder to search."},
        "glob": {"type": "string", "description": "Only files whose name matches."},
        "output_mode": {"type": "string", "enum": ["files_with_matches", "content", "count"]},
        "-i": {"type": "boolean", "description": "Ignore case."},
        "head_limit": {"type": "integer", "minimum": 1},
    },
    "required": ["pattern"],
    "additionalProperties": False,
}


class GrepTool(Tool):
    """Searches file contents with a regular expression."""

    name = "Grep"
    description = (
        "Search file contents with a regular expression (Python syntax) below `path`. "
        "`glob` filters file names (`*.py`). `output_mode`: `files_with_matches` (default), "
        "`content` (matching lines with line numbers) or `count`."
    )
    read_only = True
    input_schema = _GREP_SCHEMA

    async def validate_input(
        self, tool_input: Mapping[str, Any], context: ToolContext
    ) -> str | None:
        error = await super().validate_input(tool_input, context)
        if error is None:
            try:
                re.compile(str(tool_input["pattern"]))
            except re.error as exc:
                return f"pattern is not a valid regular expression: {exc}"
        return error

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        root = _search_root(tool_input, context)
        if isinstance(root, str):
            return ToolResult(root, is_error=True)
        flags = re.IGNORECASE if tool_input.get("-i") else 0
        regex = re.compile(str(tool_input["pattern"]), flags)
        return await asyncio.to_thread(
            self._grep,
            root,
            regex,
            tool_input.get("glob"),
            str(tool_input.get("output_mode") or "files_with_matches"),
            int(tool_input.get("head_limit") or MAX_RESULTS),
        )

    def _grep(
        self, root: Path, regex: re.Pattern[str], glob: str | None, mode: str, limit: int
    ) -> ToolResult:
        files = [root] if root.is_file() else _walk(root)
        lines: list[str] = []
        more = 0
        for path in files:
            if glob and not (fnmatch.fnmatch(path.name, glob) or fnmatch.fnmatch(str(path), glob)):
                continue
            hits = _matching_lines(path, regex)
            if not hits:
                continue
            entries = (
                [f"{path}:{number}:{line}" for number, line in hits]
                if mode == "content"
                else [f"{path}:{len(hits)}" if mode == "count" else str(path)]
            )
            for entry in entries:
                if len(lines) < limit:
                    lines.append(entry)
                else:
                    more += 1
        if not lines:
            return ToolResult("No matches found")
        if more:
            lines.append(f"({more} more not shown; narrow the search or raise head_limit)")
        return ToolResult("\n".join(lines))


def _matching_lines(path: Path, regex: re.Pattern[str]) -> list[tuple[int, str]]:
    try:
        if path.stat().st_size > _MAX_GREP_FILE_BYTES:
            return []
        data = path.read_bytes()
    except OSError:
        return []
    if b"\0" in data[:8192]:
        return []
    text = data.decode("utf-8", "replace")
    return [
        (number, line[:500])
        for number, line in enumerate(text.splitlines(), start=1)
        if regex.search(line)
    ]
