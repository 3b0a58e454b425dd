"""Fault test (4) on RabbitMQ, the hard case: a task that kills the worker process running
it (``os._exit``, as a segfault or the OOM killer would). Nothing in the process can catch
that, so it is the delivery count that stops the loop: after ``max_deliveries`` the task
goes to the dead queue, the worker that replaces the dead one carries on, and every other
task completes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskStatus
from tests.engine.services import (
    delete_rabbitmq_queues,
    delete_redis_keys,
    require_rabbitmq,
    require_redis,
    unique_name,
)
from tests.helpers import REPO

MAX_DELIVERIES = 3
KILLED = 17

# A worker that dies, exit code 17, the moment it runs a task of the skill "killer".
WORKER = f"""
import asyncio, os, sys
from skilld.engine.brokers import open_broker
from skilld.engine.executor import FunctionExecutor
from skilld.engine.stores import open_store
from skilld.engine.worker import Worker

def run(task):
    if task.skill == "killer":
        os._exit({KILLED})
    return "ok"

async def main(broker_url, store_url):
    async with open_broker(broker_url, max_deliveries={MAX_DELIVERIES}) as broker, \\
            open_store(store_url) as store:
        # One task at a time: the killer takes no innocent task down with it.
        # A short lease: the dead worker's claim expires quickly, as it would after LEASE_S.
        await Worker(
            broker, store, FunctionExecutor(run), concurrency=1, heartbeat_s=0, lease_s=1.0
        ).run()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_task_that_kills_its_worker_ends_in_the_dead_queue(tmp_path: Path) -> None:
    amqp, redis = require_rabbitmq(), require_redis()
    queue = unique_name("killer")
    broker_url = f"{amqp}?queue={queue}"
    store_url = f"{redis}?prefix={queue}:"
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    killer = SkillTask(skill="killer")
    good = [SkillTask(skill="good", args=str(i)) for i in range(20)]
    deaths = 0
    process: subprocess.Popen[bytes] | None = None
    try:
        async with (
            open_broker(broker_url, max_deliveries=MAX_DELIVERIES) as broker,
            open_store(store_url) as store,
        ):
            await submit_many(broker, store, [good[0], killer, *good[1:]])

            async def settled() -> bool:
                results = await store.get_many([t.id for t in good])
                done = sum(1 for r in results.values() if r.status is TaskStatus.SUCCEEDED)
                return done == len(good) and await broker.dead_letter_count() == 1

            async with asyncio.timeout(150):
                while not await settled():
                    if process is None or process.poll() is not None:
                        if process is not None:
                            assert process.returncode == KILLED
                            deaths += 1
                        with (tmp_path / "worker.log").open("a") as log:
                            process = subprocess.Popen(
                                [sys.executable, "-c", WORKER, broker_url, store_url],
                                stderr=log,
                                env=env,
                            )
                    await asyncio.sleep(0.1)
            [letter] = await broker.dead_letters()
            results = await store.get_many([t.id for t in good])
        print(
            f"\nkiller: {deaths} worker processes died, then {letter.error_type}: "
            f"{letter.reason}; good tasks succeeded: "
            f"{sum(1 for r in results.values() if r.status is TaskStatus.SUCCEEDED)}/{len(good)}"
        )
        assert letter.task_id == killer.id
        assert letter.error_type == "DeliveryLimitExceeded"
        assert deaths == MAX_DELIVERIES
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        await asyncio.to_thread(delete_rabbitmq_queues, queue)
        await asyncio.to_thread(delete_redis_keys, f"{queue}:")
