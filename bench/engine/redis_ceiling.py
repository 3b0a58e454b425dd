"""skilld on Redis Streams + the Redis store against Redis's own ceiling:
``python -m bench.engine.redis_ceiling``.

Figures from the same run, on the same local Redis:

- **redis-benchmark**: ``SET`` and ``XADD`` requests per second, 50 clients, without and
  with pipelining (``-P 16``): what the server itself does on this machine.
- **raw streams drain**: one Python process (redis-py asyncio) drains N messages queued
  beforehand with ``XREADGROUP COUNT 500`` and acknowledges each batch with ``XACK`` +
  ``XDEL`` in one pipeline: the bare queue work, no results, no claims.
- **skilld no-op drain**: N inline no-op tasks are queued first (``submit_many``); then one
  ``skilld worker --burst`` process drains them: claim (Lua), run the skill, store the
  result (fenced Lua script, notification), ack (XACK + XDEL). Tasks per second from the
  first task started to the last result stored, read back from the store, so process
  start-up is not counted.

Each figure is the median of ``--repeat`` runs, the systems alternating. Every key is
private to the run and deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask

REDIS = os.environ.get("SKILLD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]
NOOP = "---\ndescription: Does nothing.\n---\nok\n"


def redis_benchmark(n: int) -> dict[str, float]:
    """Requests per second that ``redis-benchmark`` measures (50 clients)."""
    key = f"skilld-bench-rb-{uuid.uuid4().hex[:8]}"
    figures: dict[str, float] = {}
    runs = {
        "set": ["-t", "set"],
        "set_pipelined_16": ["-t", "set", "-P", "16"],
        "xadd": [f"{key}", "*", "b", "x" * 64],
        "xadd_pipelined_16": ["-P", "16", f"{key}", "*", "b", "x" * 64],
    }
    for name, extra in runs.items():
        command = ["redis-benchmark", "-h", "127.0.0.1", "-p", "6379", "-q", "-n", str(n)]
        if name.startswith("xadd"):
            flags = [a for a in extra if a.startswith("-P") or a == "16"]
            rest = [a for a in extra if a not in flags]
            command += [*flags, "XADD", *rest]
        else:
            command += extra
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        found = re.findall(r"([\d.]+) requests per second", out)
        figures[name] = float(found[-1])
    subprocess.run(["redis-cli", "del", key], capture_output=True, check=False)
    return figures


async def raw_drain(n: int) -> float:
    """Messages per second one redis-py process reads, acks and deletes."""
    import redis.asyncio as redis

    stream = f"skilld-bench-raw-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS)
    try:
        await client.xgroup_create(stream, "g", id="0", mkstream=True)
        body = json.dumps({"skill": "noop", "args": "x" * 64}).encode()
        for start in range(0, n, 1000):
            async with client.pipeline(transaction=False) as pipe:
                for _ in range(min(1000, n - start)):
                    pipe.xadd(stream, {"b": body})
                await pipe.execute()
        done = 0
        started = time.perf_counter()
        while done < n:
            reply = await client.xreadgroup("g", "c", {stream: ">"}, count=500, block=1000)
            ids = [entry_id for _, entries in reply for entry_id, _ in entries]
            async with client.pipeline(transaction=False) as pipe:
                pipe.xack(stream, "g", *ids)
                pipe.xdel(stream, *ids)
                await pipe.execute()
            done += len(ids)
        return n / (time.perf_counter() - started)
    finally:
        await client.delete(stream)
        await client.aclose()


async def skilld_drain(n: int, concurrency: int) -> float:
    """Tasks per second one ``skilld worker`` process drains through Redis Streams."""
    prefix = f"skilld-bench-{uuid.uuid4().hex[:8]}:"
    broker_url = f"{REDIS}?prefix={prefix}&queue=bench"
    store_url = f"{REDIS}?prefix={prefix}"
    with tempfile.TemporaryDirectory(prefix="skilld-bench-") as tmp:
        skills = Path(tmp) / "skills" / "noop"
        skills.mkdir(parents=True)
        (skills / "SKILL.md").write_text(NOOP)
        tasks = [SkillTask(skill="noop", args=str(i)) for i in range(n)]
        try:
            async with open_broker(broker_url) as broker, open_store(store_url) as store:
                for start in range(0, n, 2000):
                    await submit_many(broker, store, tasks[start : start + 2000])
                env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "skilld",
                        "worker",
                        "--broker",
                        broker_url,
                        "--store",
                        store_url,
                        "--concurrency",
                        str(concurrency),
                        "--skills-dir",
                        str(Path(tmp) / "skills"),
                        "--cwd",
                        tmp,
                        "--burst",
                    ],
                    check=True,
                    env=env,
                    cwd=tmp,
                    timeout=900,
                )
                found = await store.get_many([t.id for t in tasks])
                done = [r for r in found.values() if r.status.value == "succeeded"]
                if len(done) != n:
                    raise RuntimeError(f"only {len(done)} of {n} tasks succeeded")
                first = min(r.timings.started_at or 0.0 for r in done)
                last = max(r.timings.finished_at or 0.0 for r in done)
                return n / (last - first)
        finally:
            await _delete_keys(prefix)


async def _delete_keys(prefix: str) -> None:
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--benchmark-requests", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    bench: list[dict[str, float]] = []
    raw: list[float] = []
    skilld: list[float] = []
    for round_ in range(args.repeat):
        bench.append(redis_benchmark(args.benchmark_requests))
        raw.append(await raw_drain(args.tasks))
        skilld.append(await skilld_drain(args.tasks, args.concurrency))
        print(
            f"round {round_ + 1}: redis-benchmark {bench[-1]}, raw drain {raw[-1]:.0f}/s, "
            f"skilld drain {skilld[-1]:.0f}/s",
            flush=True,
        )
    figures = {
        "tasks": args.tasks,
        "concurrency": args.concurrency,
        "python": platform.python_version(),
        "redis_benchmark_rps": {name: summary([b[name] for b in bench]) for name in bench[0]},
        "raw_streams_drain_per_s": summary(raw),
        "skilld_drain_per_s": summary(skilld),
        "ratio_to_raw_drain": round(statistics.median(skilld) / statistics.median(raw), 3),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
