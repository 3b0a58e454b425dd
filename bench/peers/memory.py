"""Memory of one ``skilld worker`` holding 1,000 tasks in flight.

One worker (``--concurrency 1000``) on the given backends gets 1,000 fork tasks on
``sim:8s`` at once; while they run, psutil samples the worker's RSS every 100 ms and the
store says how many are ``running``. Prints one ``BENCH-RESULT`` line with the idle RSS
(after a warm-up), the peak RSS and the peak number of tasks running at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.peers.load import emit
from bench.peers.procs import workers
from bench.peers.skilld_driver import SKILLS, backend_urls

__all__ = ["hold"]


async def hold(
    broker_url: str, store_url: str, pid: int, *, tasks: int, hold_s: float, timeout: float
) -> dict[str, Any]:
    import psutil

    from skilld.engine.brokers import open_broker
    from skilld.engine.operations import submit_many
    from skilld.engine.stores import open_store
    from skilld.engine.task import SkillTask, TaskStatus

    process = psutil.Process(pid)
    async with open_broker(broker_url) as broker, open_store(store_url) as store:
        warm = [SkillTask(skill="noop") for _ in range(20)]
        await submit_many(broker, store, warm)
        for task in warm:
            await store.wait(task.id, timeout=60)
        await asyncio.sleep(1.0)
        idle = process.memory_info().rss
        batch = [
            SkillTask(skill="sleep", mode="fork", model=f"sim:{hold_s:g}s") for _ in range(tasks)
        ]
        ids = [t.id for t in batch]
        await submit_many(broker, store, batch)
        peak_rss, peak_running, done = idle, 0, 0
        end = time.monotonic() + timeout
        next_count = 0.0
        while time.monotonic() < end:
            peak_rss = max(peak_rss, process.memory_info().rss)
            if time.monotonic() >= next_count:
                next_count = time.monotonic() + 0.5
                results = await store.get_many(ids)
                running = sum(1 for r in results.values() if r.status == TaskStatus.RUNNING)
                done = sum(1 for r in results.values() if r.terminal)
                peak_running = max(peak_running, running)
                if done >= tasks:
                    break
            await asyncio.sleep(0.1)
    return {
        "tasks": tasks,
        "hold_s": hold_s,
        "idle_rss_mb": idle / 2**20,
        "peak_rss_mb": peak_rss / 2**20,
        "peak_in_flight": peak_running,
        "done": done,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", default="amqp")
    parser.add_argument("--store", default="redis")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=8.0, help="seconds each task runs")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    broker_url, store_url = backend_urls(
        {"broker": args.broker, "store": args.store},
        amqp=args.amqp,
        redis=args.redis,
        run=run,
        folder=folder,
    )
    command = [
        sys.executable, "-m", "skilld", "worker", "--broker", broker_url, "--store", store_url,
        "--concurrency", str(args.tasks), "--skills-dir", str(SKILLS), "--cwd", str(folder),
    ]  # fmt: skip
    record: dict[str, Any] = {"broker": args.broker, "store": args.store}
    try:
        with workers([command], env={}, name=f"memory-{run}") as procs:
            record.update(
                asyncio.run(
                    hold(
                        broker_url,
                        store_url,
                        procs[0].pid,
                        tasks=args.tasks,
                        hold_s=args.hold,
                        timeout=args.hold * 4 + 60,
                    )
                )
            )
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:

        async def clean() -> None:
            from skilld.engine.brokers import open_broker
            from skilld.engine.stores import open_store

            async with open_broker(broker_url) as broker, open_store(store_url) as store:
                for backend, method in ((broker, "delete_topology"), (store, "delete_all")):
                    action = getattr(backend, method, None)
                    if action is not None:
                        with contextlib.suppress(Exception):
                            await action()

        with contextlib.suppress(Exception):
            asyncio.run(clean())
        shutil.rmtree(folder, ignore_errors=True)
    emit(record)


if __name__ == "__main__":
    main()
