"""The built-in tools: Bash, Read, Write, Edit, Glob, Grep, and schema validation."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from skilld.agent.tools import (
    BashTool,
    EditTool,
    GlobTool,
    GrepTool,
    ReadTool,
    ToolContext,
    WriteTool,
    builtin_tools,
    schema_errors,
)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


def test_builtin_tools_have_object_schemas_and_distinct_names() -> None:
    tools = builtin_tools()
    assert [t.name for t in tools] == ["Bash", "Read", "Write", "Edit", "Glob", "Grep"]
    for tool in tools:
        spec = tool.spec()
        assert spec.input_schema["type"] == "object"
        assert spec.description


# --------------------------------------------------------------------------- Bash


async def test_bash_runs_in_cwd_and_merges_stderr(ctx: ToolContext) -> None:
    result = await BashTool().call({"command": "pwd; echo oops >&2"}, ctx)
    assert not result.is_error
    assert result.content.splitlines() == [str(ctx.cwd), "oops"]


async def test_bash_nonzero_exit_is_an_error_with_the_code(ctx: ToolContext) -> None:
    result = await BashTool().call({"command": "echo partial; exit 3"}, ctx)
    assert result.is_error
    assert "partial" in result.content
    assert "Exit code 3" in result.content


async def test_bash_timeout_kills_the_whole_process_group(ctx: ToolContext) -> None:
    pidfile = ctx.cwd / "child.pid"
    command = f"sleep 30 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    result = await BashTool().call({"command": command, "timeout": 300}, ctx)
    assert time.monotonic() - started < 5
    assert result.is_error
    assert "timed out after 0.3s" in result.content
    child = int(pidfile.read_text())
    assert await _gone(child), "the background child outlived the timeout"


async def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _zombie(pid):
            return True
        await asyncio.sleep(0.02)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


async def test_bash_output_cap_keeps_head_and_tail(ctx: ToolContext) -> None:
    tool = BashTool(max_output_chars=100)
    result = await tool.call({"command": "seq 1 2000"}, ctx)
    assert result.content.startswith("1\n2\n")
    assert result.content.rstrip().endswith("2000")
    assert "bytes of output truncated" in result.content
    assert len(result.content) < 200


async def test_bash_validation(ctx: ToolContext) -> None:
    tool = BashTool()
    assert await tool.validate_input({"command": "  "}, ctx) == "command is empty"
    assert "timeout must be at most" in (
        await tool.validate_input({"command": "ls", "timeout": 10**9}, ctx) or ""
    )
    assert "command is required" in (await tool.validate_input({}, ctx) or "")


# --------------------------------------------------------------------------- files


async def test_read_numbers_lines_and_pages(ctx: ToolContext) -> None:
    (ctx.cwd / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    result = await ReadTool().call({"file_path": "f.txt", "offset": 3, "limit": 2}, ctx)
    lines = result.content.splitlines()
    assert lines[0] == "     3\tline 3"
    assert lines[1] == "     4\tline 4"
    assert "6 more lines" in lines[2]
    assert "offset=5" in lines[2]


async def test_read_errors_name_the_path(ctx: ToolContext) -> None:
    missing = await ReadTool().call({"file_path": "nope.txt"}, ctx)
    assert missing.is_error
    assert str(ctx.cwd / "nope.txt") in missing.content
    (ctx.cwd / "bin").write_bytes(b"\x00\x01\x02")
    binary = await ReadTool().call({"file_path": "bin"}, ctx)
    assert binary.is_error
    assert "binary" in binary.content
    folder = await ReadTool().call({"file_path": "."}, ctx)
    assert folder.is_error
    assert "directory" in folder.content


async def test_write_creates_but_never_overwrites_unread_files(ctx: ToolContext) -> None:
    write = WriteTool()
    created = await write.call({"file_path": "new/dir/a.txt", "content": "one"}, ctx)
    assert not created.is_error
    assert (ctx.cwd / "new/dir/a.txt").read_text() == "one"
    (ctx.cwd / "old.txt").write_text("precious")
    refused = await write.call({"file_path": "old.txt", "content": "x"}, ctx)
    assert refused.is_error
    assert "has not been read" in refused.content
    assert (ctx.cwd / "old.txt").read_text() == "precious"
    await ReadTool().call({"file_path": "old.txt"}, ctx)
    updated = await write.call({"file_path": "old.txt", "content": "x"}, ctx)
    assert not updated.is_error
    assert (ctx.cwd / "old.txt").read_text() == "x"


async def test_edit_refuses_a_file_changed_since_it_was_read(ctx: ToolContext) -> None:
    path = ctx.cwd / "a.txt"
    path.write_text("alpha beta\n")
    await ReadTool().call({"file_path": "a.txt"}, ctx)
    path.write_text("alpha gamma\n")
    later = time.time() + 5
    os.utime(path, (later, later))  # a different mtime even on coarse file systems
    result = await EditTool().call(
        {"file_path": "a.txt", "old_string": "alpha", "new_string": "omega"}, ctx
    )
    assert result.is_error
    assert "changed since it was read" in result.content
    assert path.read_text() == "alpha gamma\n"


async def test_edit_unique_and_replace_all(ctx: ToolContext) -> None:
    path = ctx.cwd / "a.txt"
    path.write_text("x = 1\nx = 1\ny = 2\n")
    await ReadTool().call({"file_path": "a.txt"}, ctx)
    edit = EditTool()
    ambiguous = await edit.call(
        {"file_path": "a.txt", "old_string": "x = 1", "new_string": "x"}, ctx
    )
    assert ambiguous.is_error
    assert "occurs 2 times" in ambiguous.content
    missing = await edit.call({"file_path": "a.txt", "old_string": "zzz", "new_string": "q"}, ctx)
    assert missing.is_error
    assert "not found" in missing.content
    one = await edit.call({"file_path": "a.txt", "old_string": "y = 2", "new_string": "y = 3"}, ctx)
    assert not one.is_error
    every = await edit.call(
        {"file_path": "a.txt", "old_string": "x = 1", "new_string": "x = 0", "replace_all": True},
        ctx,
    )
    assert "2 occurrences" in every.content
    assert path.read_text() == "x = 0\nx = 0\ny = 3\n"


async def test_edit_with_empty_old_string_creates_a_file(ctx: ToolContext) -> None:
    result = await EditTool().call(
        {"file_path": "fresh.txt", "old_string": "", "new_string": "hello"}, ctx
    )
    assert not result.is_error
    assert (ctx.cwd / "fresh.txt").read_text() == "hello"
    again = await EditTool().call(
        {"file_path": "fresh.txt", "old_string": "", "new_string": "other"}, ctx
    )
    assert again.is_error


# --------------------------------------------------------------------------- search


def _tree(root: Path) -> None:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "a.py").write_text("import os\nTODO = 1\n")
    (root / "src" / "b.py").write_text("print('hi')\n")
    (root / "README.md").write_text("todo: write docs\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "x.py").write_text("TODO\n")


async def test_glob_recurses_skips_vendored_folders_newest_first(ctx: ToolContext) -> None:
    _tree(ctx.cwd)
    old = time.time() - 100
    os.utime(ctx.cwd / "src" / "b.py", (old, old))
    result = await GlobTool().call({"pattern": "**/*.py"}, ctx)
    assert result.content.splitlines() == [
        str(ctx.cwd / "src" / "pkg" / "a.py"),
        str(ctx.cwd / "src" / "b.py"),
    ]
    bare = await GlobTool().call({"pattern": "*.md"}, ctx)
    assert bare.content == str(ctx.cwd / "README.md")
    nothing = await GlobTool().call({"pattern": "*.rs"}, ctx)
    assert nothing.content == "No files found"


async def test_grep_modes_and_filters(ctx: ToolContext) -> None:
    _tree(ctx.cwd)
    grep = GrepTool()
    files = await grep.call({"pattern": "TODO"}, ctx)
    assert files.content.splitlines() == [str(ctx.cwd / "src" / "pkg" / "a.py")]
    ignoring_case = await grep.call({"pattern": "todo", "-i": True, "glob": "*.md"}, ctx)
    assert ignoring_case.content == str(ctx.cwd / "README.md")
    content = await grep.call({"pattern": "^TODO", "output_mode": "content"}, ctx)
    assert content.content == f"{ctx.cwd / 'src' / 'pkg' / 'a.py'}:2:TODO = 1"
    count = await grep.call({"pattern": "i", "output_mode": "count", "path": "src"}, ctx)
    assert sorted(count.content.splitlines()) == sorted(
        [f"{ctx.cwd / 'src' / 'pkg' / 'a.py'}:1", f"{ctx.cwd / 'src' / 'b.py'}:1"]
    )
    assert "not a valid regular expression" in (
        await grep.validate_input({"pattern": "("}, ctx) or ""
    )


# --------------------------------------------------------------------------- schema


def test_schema_errors_name_the_field() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1},
            "mode": {"enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["n"],
        "additionalProperties": False,
    }
    assert schema_errors(schema, {"n": 2, "mode": "a", "tags": ["x"]}) == []
    assert schema_errors(schema, {"n": True}) == ["n must be integer, not boolean"]
    assert schema_errors(schema, {"n": 0}) == ["n must be at least 1"]
    assert schema_errors(schema, {"n": 1, "mode": "c"}) == ["mode must be one of 'a', 'b', not 'c'"]
    assert schema_errors(schema, {"n": 1, "tags": [1]}) == ["tags[0] must be string, not integer"]
    assert schema_errors(schema, {"n": 1, "zz": 1}) == ["zz is not a known parameter"]
    assert schema_errors(schema, {}) == ["n is required"]
