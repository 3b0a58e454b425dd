"""What the ceiling benchmarks share: a ``skilld worker --burst`` drain of N queued no-op
tasks, figures summarised over rounds, and clean-up of a run's private Redis keys.

``rabbitmq_ceiling`` and ``redis_ceiling`` differ only in the raw figure they set the
drain against and in the URLs they hand to :func:`skilld_drain`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask

REDIS = os.environ.get("SKILLD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]
NOOP = "---\ndescription: Does nothing.\n---\nok\n"
_SUBMIT_BATCH = 2000


async def skilld_drain(
    n: int,
    concurrency: int,
    broker_url: str,
    store_url: str | Callable[[Path], str],
    *,
    cleanup: Callable[[], Awaitable[None]],
) -> float:
    """Tasks per second one ``skilld worker --burst`` process drains: N inline no-op tasks
    are queued first, then the worker claims, runs, stores and acks them. Timed from the
    first task started to the last result stored (read back from the store), so process
    start-up is not counted. ``store_url`` may be made from the run's temporary folder;
    ``cleanup`` runs afterwards whatever happened."""
    with tempfile.TemporaryDirectory(prefix="skilld-bench-") as tmp:
        store = store_url(Path(tmp)) if callable(store_url) else store_url
        skills = Path(tmp) / "skills" / "noop"
        skills.mkdir(parents=True)
        (skills / "SKILL.md").write_text(NOOP)
        tasks = [SkillTask(skill="noop", args=str(i)) for i in range(n)]
        try:
            async with open_broker(broker_url) as b, open_store(store) as s:
                for start in range(0, n, _SUBMIT_BATCH):
                    await submit_many(b, s, tasks[start : start + _SUBMIT_BATCH])
                _run_worker(broker_url, store, concurrency, Path(tmp))
                found = await s.get_many([t.id for t in tasks])
            done = [r for r in found.values() if r.status.value == "succeeded"]
            if len(done) != n:
                raise RuntimeError(f"only {len(done)} of {n} tasks succeeded")
            first = min(r.timings.started_at or 0.0 for r in done)
            last = max(r.timings.finished_at or 0.0 for r in done)
            return n / (last - first)
        finally:
            await cleanup()


def _run_worker(broker_url: str, store_url: str, concurrency: int, tmp: Path) -> None:
    command = [sys.executable, "-m", "skilld", "worker", "--broker", broker_url]
    command += ["--store", store_url, "--concurrency", str(concurrency)]
    command += ["--skills-dir", str(tmp / "skills"), "--cwd", str(tmp), "--burst"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run(command, check=True, env=env, cwd=tmp, timeout=900)


async def delete_redis_keys(prefix: str) -> None:
    """Delete every key under ``prefix`` on the benchmark's Redis."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS)
    try:
        batch = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(batch), 1000):
            await client.delete(*batch[start : start + 1000])
    finally:
        await client.aclose()


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def report(figures: dict[str, Any], path: Path | None) -> None:
    """Print the figures as JSON, and write them to ``path`` too when given."""
    print(json.dumps(figures, indent=2))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2) + "\n")
