"""The one load loop every system is measured with (standard library only).

It runs inside each system's driver process (skilld's in skilld's environment, the peers'
in ``bench/.venv-peers``), so the figures of every system come from the same code:

- a **submitter** thread queues tasks, either as fast as the system's client takes them
  (``rate=None``: a drain) or at a fixed offered rate (tasks due by now are sent every
  10 ms tick; a submitter that falls behind is caught, not hidden: the offered rate
  actually achieved is reported);
- a **poller** thread asks the system's result backend, every ``poll_s`` seconds, which of
  the oldest ``window`` outstanding tasks have a result. A task's end-to-end latency is
  the time from just before its submission to the first poll that sees its result
  readable by the client.

Both stop at ``time_limit`` seconds: a system that cannot finish is measured on what it
finished, and the run says how many tasks were left.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoadSpec", "Outcome", "driver_arguments", "emit", "run_load", "spec_of", "warm_up"]

Submit = Callable[[int], Sequence[Any]]
"""``submit(count)`` queues ``count`` tasks and returns one handle per task."""
Poll = Callable[[Sequence[Any]], Sequence[bool]]
"""``poll(handles)`` says, for each handle, whether its result is readable."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What one run offers: ``n`` tasks drained, or ``rate`` tasks/s for ``duration`` s."""

    n: int = 0
    rate: float | None = None
    duration: float = 0.0
    time_limit: float = 60.0
    batch: int = 500
    poll_s: float = 0.01
    window: int = 5000

    def total(self) -> int:
        if self.rate is None:
            return self.n
        return round(self.rate * self.duration)


@dataclass(slots=True)
class Outcome:
    """Raw timings of one run (seconds on ``time.monotonic``)."""

    submitted: int = 0
    done: int = 0
    started: float = 0.0
    submit_finished: float = 0.0
    last_done: float = 0.0
    latencies: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    poll_failures: int = 0
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "done": self.done,
            "submit_s": self.submit_finished - self.started,
            "elapsed_s": self.last_done - self.started if self.done else 0.0,
            "latencies": self.latencies,
            "done_at": [t - self.started for t in self.done_at],
            "errors": self.errors[:5],
            "poll_failures": self.poll_failures,
            "timed_out": self.timed_out,
        }


def run_load(spec: LoadSpec, submit: Submit, poll: Poll, *, tick: float = 0.01) -> Outcome:
    """Offer ``spec``'s load through ``submit`` and watch it complete through ``poll``."""
    out = Outcome()
    total = spec.total()
    outstanding: list[tuple[Any, float]] = []  # (handle, submitted at), oldest first
    lock = threading.Lock()
    submitting_done = threading.Event()
    stop = threading.Event()
    out.started = time.monotonic()
    deadline = out.started + spec.time_limit

    def submitter() -> None:
        try:
            while out.submitted < total and not stop.is_set():
                now = time.monotonic()
                if spec.rate is None:
                    count = min(spec.batch, total - out.submitted)
                else:
                    due = min(total, int((now - out.started) * spec.rate) + 1)
                    count = due - out.submitted
                    if count <= 0:
                        time.sleep(tick)
                        continue
                at = time.monotonic()
                handles = submit(count)
                with lock:
                    outstanding.extend((h, at) for h in handles)
                    out.submitted += len(handles)
        except Exception as exc:  # reported, never hidden: the run is marked as failed
            out.errors.append(f"submit: {type(exc).__name__}: {exc}")
        finally:
            out.submit_finished = time.monotonic()
            submitting_done.set()

    thread = threading.Thread(target=submitter, name="submitter", daemon=True)
    thread.start()
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                out.timed_out = True
                break
            # Read the flag before the list: once it is set, every handle is in the list.
            all_submitted = submitting_done.is_set()
            with lock:
                window = outstanding[: spec.window]
            if not window:
                if all_submitted:
                    break
                time.sleep(spec.poll_s)
                continue
            try:
                ready = poll([h for h, _ in window])
            except Exception as exc:
                # A server restarted under us (other jobs share these servers): note it,
                # keep polling until the time limit; the harness reruns a disturbed run.
                out.poll_failures += 1
                if out.poll_failures == 1:
                    out.errors.append(f"poll: {type(exc).__name__}: {exc}")
                time.sleep(0.1)
                continue
            seen = time.monotonic()
            if any(ready):
                keep: list[tuple[Any, float]] = []
                count = 0
                for item, ok in zip(window, ready, strict=True):
                    if ok:
                        out.latencies.append(seen - item[1])
                        out.done_at.append(seen)
                        count += 1
                    else:
                        keep.append(item)
                with lock:
                    # Only this thread removes items, so the window is still the head.
                    outstanding[: len(window)] = keep
                out.done += count
                out.last_done = seen
            pause = spec.poll_s - (time.monotonic() - now)
            if pause > 0:
                time.sleep(pause)
    except Exception as exc:
        out.errors.append(f"poll: {type(exc).__name__}: {exc}")
    finally:
        stop.set()
        thread.join(timeout=10)
    if not out.submit_finished:
        out.submit_finished = time.monotonic()
    return out


def driver_arguments(description: str) -> argparse.ArgumentParser:
    """The command line every driver takes (one system, one run)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--system", required=True)
    parser.add_argument("--task", choices=("noop", "sleep"), default="noop")
    parser.add_argument("--n", type=int, default=1000, help="tasks to drain")
    parser.add_argument("--rate", type=float, default=None, help="offered tasks/s")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of offered load")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=0, help="per process; 0: default")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--run-id", default="")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--option", action="append", default=[], help="system-specific k=v")
    return parser


def spec_of(args: argparse.Namespace) -> LoadSpec:
    return LoadSpec(n=args.n, rate=args.rate, duration=args.duration, time_limit=args.time_limit)


def warm_up(submit: Submit, poll: Poll, count: int, *, timeout: float = 90.0) -> None:
    """Run ``count`` no-op tasks through the system before measuring (imports done,
    connections open, every worker process consuming); raise if they do not finish."""
    if count <= 0:
        return
    outcome = run_load(LoadSpec(n=count, time_limit=timeout, batch=count), submit, poll)
    if outcome.errors or outcome.done < count:
        raise RuntimeError(
            f"warm-up: {outcome.done}/{count} tasks finished in {timeout:.0f} s {outcome.errors}"
        )


def emit(record: dict[str, Any]) -> None:
    """Print the run's record as the last line of stdout (the harness reads it)."""
    sys.stdout.write("BENCH-RESULT " + json.dumps(record) + "\n")
    sys.stdout.flush()
