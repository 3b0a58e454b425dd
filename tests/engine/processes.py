"""The helper worker processes of the fault tests (``fault_worker.py``, ``crash_worker.py``):
started with skilld's source on their path, and handed over once they say ``ready``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

__all__ = ["CRASH_WORKER", "FAULT_WORKER", "effect_lines", "start_ready"]

FAULT_WORKER = Path(__file__).with_name("fault_worker.py")
CRASH_WORKER = Path(__file__).with_name("crash_worker.py")


def start_ready(script: Path, *args: object, log: Path | None = None) -> subprocess.Popen[str]:
    """Run ``script args...`` (its stderr appended to ``log`` when given); return once its
    first line says ``ready`` (it consumes from then on)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    # The child keeps its own descriptor of the log: ours can close at once.
    with log.open("a") if log is not None else contextlib.nullcontext() as stderr:
        process = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def effect_lines(effects: Path) -> list[tuple[str, int]]:
    """The side effects the workers wrote: (task id, pid) a line, in order."""
    if not effects.exists():
        return []
    return [(t, int(p)) for t, p in (line.split() for line in effects.read_text().splitlines())]
