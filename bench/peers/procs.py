"""Worker processes of a run: started in their own session, logged to a file, stopped
with SIGTERM (then SIGKILL after a grace period). Standard library only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

__all__ = ["REPO", "workers"]

REPO = Path(__file__).resolve().parents[2]
LOGS = REPO / "bench" / "results" / "tmp" / "logs"


def _stop(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    end = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def workers(
    commands: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str],
    name: str,
    grace: float = 15.0,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start one process per command (cwd: the repository root, ``PYTHONPATH`` set to it),
    yield them, and stop every one of them (and its children) on the way out."""
    LOGS.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for index, command in enumerate(commands):
            log = (LOGS / f"{name}-{index}.log").open("wb")
            procs.append(
                subprocess.Popen(
                    list(command),
                    cwd=REPO,
                    env=full_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        yield procs
    finally:
        _stop(procs, grace)


def check_alive(procs: Sequence[subprocess.Popen[bytes]], name: str) -> None:
    """Raise if a worker died (its log says why)."""
    for index, proc in enumerate(procs):
        if proc.poll() is not None:
            raise RuntimeError(
                f"{name} worker {index} exited with {proc.returncode}: "
                f"see {LOGS / f'{name}-{index}.log'}"
            )
