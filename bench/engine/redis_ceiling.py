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
import platform
import re
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from bench.engine.drain import REDIS, delete_redis_keys, report, skilld_drain, summary


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
            reply: Any = await client.xreadgroup("g", "c", {stream: ">"}, count=500, block=1000)
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


async def redis_drain(n: int, concurrency: int) -> float:
    """Tasks per second one ``skilld worker`` process drains through Redis Streams."""
    prefix = f"skilld-bench-{uuid.uuid4().hex[:8]}:"

    async def cleanup() -> None:
        await delete_redis_keys(prefix)

    return await skilld_drain(
        n,
        concurrency,
        f"{REDIS}?prefix={prefix}&queue=bench",
        f"{REDIS}?prefix={prefix}",
        cleanup=cleanup,
    )


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
        skilld.append(await redis_drain(args.tasks, args.concurrency))
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
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())
