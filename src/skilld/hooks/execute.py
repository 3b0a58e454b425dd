"""Running one hook: a shell command with the event on stdin, or a Python callable.

Each run ends in a :class:`HookRun`, never an exception: a hook that cannot start,
crashes, times out or answers nonsense is a non-blocking error the runner reports and
the agent survives. Only cancellation propagates, after killing the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skilld.hooks.config import CommandHook, PythonHook, UnsupportedHook
from skilld.hooks.events import HookEvent
from skilld.hooks.output import HookOutput, HookRun, parse_output, parse_stdout

__all__ = ["run_command_hook", "run_python_hook", "run_unsupported_hook"]

BLOCKING_EXIT_CODE = 2


async def run_command_hook(
    hook: CommandHook,
    *,
    event: HookEvent,
    payload: str,
    timeout: float,
    cwd: Path | None,
    env: Mapping[str, str],
) -> HookRun:
    """Run ``hook.command`` with ``/bin/sh -c``, ``payload`` (JSON) on its stdin."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_shell(
            hook.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            # Its own process group, so a timeout kills the children it started too
            # (a `sleep` inside a script would otherwise keep the pipes open).
            start_new_session=True,
        )
    except OSError as exc:
        return HookRun(
            hook, "non_blocking_error", started, time.monotonic(), error=f"cannot start: {exc}"
        )
    try:
        out, err = await asyncio.wait_for(process.communicate(payload.encode()), timeout)
    except TimeoutError:
        await _kill(process)
        return HookRun(
            hook,
            "non_blocking_error",
            started,
            time.monotonic(),
            error=f"timed out after {timeout:g}s",
            timed_out=True,
        )
    except BaseException:
        await asyncio.shield(_kill(process))
        raise
    finished = time.monotonic()
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace")
    code = process.returncode
    if code == BLOCKING_EXIT_CODE:
        return HookRun(hook, "blocking", started, finished, code, stdout, stderr)
    if code != 0:
        detail = stderr.strip() or stdout.strip()
        message = f"exited with code {code}" + (f": {detail}" if detail else "")
        return HookRun(
            hook, "non_blocking_error", started, finished, code, stdout, stderr, error=message
        )
    try:
        output = parse_stdout(stdout, event)
    except ValueError as exc:
        return HookRun(
            hook, "non_blocking_error", started, finished, code, stdout, stderr, error=str(exc)
        )
    return HookRun(hook, "success", started, finished, code, stdout, stderr, output)


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await process.wait()


async def run_python_hook(
    hook: PythonHook,
    *,
    event: HookEvent,
    payload: str,
    timeout: float,
) -> HookRun:
    """Call ``hook.func`` with its own copy of the event (decoded from ``payload``)."""
    started = time.monotonic()
    data: dict[str, Any] = json.loads(payload)
    try:
        async with asyncio.timeout(timeout):
            if inspect.iscoroutinefunction(hook.func):
                result = await hook.func(data)
            else:
                # A thread keeps a slow sync hook from stalling the loop; on timeout the
                # thread finishes on its own and its answer is dropped.
                result = await asyncio.to_thread(hook.func, data)
                if inspect.isawaitable(result):
                    result = await result
    except TimeoutError:
        return HookRun(
            hook,
            "non_blocking_error",
            started,
            time.monotonic(),
            error=f"timed out after {timeout:g}s",
            timed_out=True,
        )
    except Exception as exc:
        return HookRun(
            hook,
            "non_blocking_error",
            started,
            time.monotonic(),
            error=f"raised {type(exc).__name__}: {exc}",
        )
    finished = time.monotonic()
    if result is None:
        return HookRun(hook, "success", started, finished)
    try:
        output: HookOutput = parse_output(result, event)
    except ValueError as exc:
        return HookRun(hook, "non_blocking_error", started, finished, error=str(exc))
    stdout = json.dumps(dict(result), default=str)
    return HookRun(hook, "success", started, finished, stdout=stdout, output=output)


async def run_unsupported_hook(hook: UnsupportedHook) -> HookRun:
    """Report a ``prompt``/``agent``/``http`` hook as a non-blocking error."""
    now = time.monotonic()
    return HookRun(
        hook,
        "non_blocking_error",
        now,
        now,
        error=f"hooks of type {hook.type!r} are not supported by skilld; use a command hook",
    )
