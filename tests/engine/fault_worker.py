"""A worker process for the fault tests: every run of a task appends ``<task id> <pid>``
to a side-effect file (the side effect the tests count), then takes a little while.

Usage: python fault_worker.py BROKER_URL STORE_URL EFFECTS_FILE CONCURRENCY LEASE_S
Tasks of the skill ``poison`` always raise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from skilld.engine.brokers import open_broker
from skilld.engine.executor import FunctionExecutor
from skilld.engine.retry import RetryPolicy
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask
from skilld.engine.worker import Worker


async def main(
    broker_url: str, store_url: str, effects: str, concurrency: int, lease: float
) -> None:
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.getpid()

    async def run(task: SkillTask) -> str:
        os.write(fd, f"{task.id} {pid}\n".encode())  # one write(2): whole lines only
        if task.skill == "poison":
            raise RuntimeError("poison task")
        await asyncio.sleep(0.02)
        return f"done by {pid}"

    async with (
        open_broker(broker_url, visibility_timeout=lease) as broker,
        open_store(store_url) as store,
    ):
        worker = Worker(
            broker,
            store,
            FunctionExecutor(run),
            concurrency=concurrency,
            lease_s=lease,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
            heartbeat_s=0.5,
        )
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, worker.stop)
        print("ready", flush=True)
        await worker.run()


if __name__ == "__main__":
    b, s, e, c, lease = sys.argv[1:6]
    asyncio.run(main(b, s, e, int(c), float(lease)))
