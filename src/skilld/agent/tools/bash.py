"""The Bash tool: one shell command, bounded in time and in output.

The command runs in its own process group, so a timeout or a cancelled turn kills
everything it started (a ``sleep`` in a pipeline included), not only the shell.
stdout and stderr are merged in the order they were written. Output beyond the cap keeps
its beginning and its end with a marker between them: the end usually holds the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Mapping
from typing import Any

from skilld.agent.tools.base import Tool, ToolContext, ToolResult

__all__ = ["DEFAULT_TIMEOUT_MS", "MAX_OUTPUT_CHARS", "MAX_TIMEOUT_MS", "BashTool"]

DEFAULT_TIMEOUT_MS = 120_000
"""A command's time limit when the model names none (Claude Code's two minutes)."""
MAX_TIMEOUT_MS = 600_000
"""The longest time limit a model may ask for."""
MAX_OUTPUT_CHARS = 30_000
"""Characters of output the model reads at most (Claude Code's default)."""


class BashTool(Tool):
    """Runs a shell command in the working directory.

    Args:
        default_timeout_ms / max_timeout_ms: time limits (the model may ask for up to the
            maximum with ``timeout``).
        max_output_chars: the output cap.
        shell: the shell (default: ``bash``, else ``/bin/sh``).
        env: extra environment variables for every command.
    """

    name = "Bash"
    description = (
        "Run a shell command in the working directory and return its output (stdout and "
        "stderr merged) and exit code. Commands time out after 2 minutes unless `timeout` "
        "(milliseconds) says otherwise; long output is cut in the middle."
    )

    def __init__(
        self,
        *,
        default_timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_timeout_ms: int = MAX_TIMEOUT_MS,
        max_output_chars: int = MAX_OUTPUT_CHARS,
        shell: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.default_timeout_ms = default_timeout_ms
        self.max_timeout_ms = max_timeout_ms
        self.max_output_chars = max_output_chars
        self.shell = shell or shutil.which("bash") or "/bin/sh"
        self.env = dict(env or {})
        self.input_schema = {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command to run."},
                "timeout": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": max_timeout_ms,
                    "description": f"Time limit in milliseconds (at most {max_timeout_ms}).",
                },
                "description": {
                    "type": "string",
                    "description": "What the command does, in a few words.",
                },
            },
            "required": ["command"],
            "additionalProperties": False,
        }

    async def validate_input(
        self, tool_input: Mapping[str, Any], context: ToolContext
    ) -> str | None:
        error = await super().validate_input(tool_input, context)
        if error is None and not str(tool_input["command"]).strip():
            return "command is empty"
        return error

    async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> ToolResult:
        command = str(tool_input["command"])
        timeout = int(tool_input.get("timeout") or self.default_timeout_ms) / 1000
        process = await asyncio.create_subprocess_exec(
            self.shell,
            "-c",
            command,
            cwd=context.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        assert process.stdout is not None
        output = _CappedOutput(self.max_output_chars)
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                while chunk := await process.stdout.read(65536):
                    output.add(chunk)
                await process.wait()
        except TimeoutError:
            timed_out = True
        finally:
            if process.returncode is None:
                _kill_group(process.pid)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        text = output.text()
        if timed_out:
            note = f"Command timed out after {timeout:g}s and was killed."
            return ToolResult(f"{text}\n{note}".strip(), is_error=True)
        code = process.returncode
        if code != 0:
            return ToolResult(f"{text}\nExit code {code}".strip(), is_error=True, data=code)
        return ToolResult(text or "(no output)", data=code)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class _CappedOutput:
    """Keeps the first and last ``cap / 2`` characters' worth of bytes, counts the rest."""

    def __init__(self, cap: int) -> None:
        self.half = max(1, cap // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if self.total <= len(self.head) + len(self.tail):
            return (head + self.tail.decode("utf-8", "replace")).rstrip("\n")
        skipped = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", "replace")
        return f"{head}\n\n... [{skipped} bytes of output truncated] ...\n\n{tail}".rstrip("\n")
