"""A worker process whose ``crasher`` tasks kill it (``SIGKILL`` from inside the task),
for the test that such a task ends in the dead-letter queue instead of looping.

Usage: python crash_worker.py BROKER_URL STORE_URL EFFECTS_FILE LEASE_S VISIBILITY_S
MAX_DELIVERIES. Every run of a task appends ``<task id> <pid>`` to EFFECTS_FILE first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from skilld.engine.brokers import open_broker
from skilld.engine.executor import FunctionExecutor
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask
from skilld.engine.worker import Worker


async def main(
    broker_url: str, store_url: str, effects: str, lease: float, visibility: float, limit: int
) -> None:
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.getpid()

    async def run(task: SkillTask) -> str:
        os.write(fd, f"{task.id} {pid}\n".encode())
        if task.skill == "crasher":
            os.kill(pid, signal.SIGKILL)
        return "ok"

    async with (
        open_broker(broker_url, visibility_timeout=visibility, max_deliveries=limit) as broker,
        open_store(store_url) as store,
    ):
        worker = Worker(
            broker, store, FunctionExecutor(run), concurrency=1, lease_s=lease, heartbeat_s=0
        )  # one task at a time: a crash takes no innocent task down with it
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
        print("ready", flush=True)
        await worker.run()


if __name__ == "__main__":
    b, s, e, lease, visibility, limit = sys.argv[1:7]
    asyncio.run(main(b, s, e, float(lease), float(visibility), int(limit)))
