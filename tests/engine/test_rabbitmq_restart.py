"""Fault test (2) of the distributed engine: restart RabbitMQ in the middle of a run.

Three worker processes consume from a quorum queue (results in Redis, the distributed
combination) while the test keeps submitting; in the
middle, RabbitMQ is restarted with ``rabbitmqctl stop_app`` / ``start_app``. That stops
and starts the broker application inside the running Erlang node: every client connection
is closed by the server, queues are stopped and recovered from disk, exactly as in a full
restart from the clients' point of view, but in seconds instead of the half minute a cold
node start takes. Afterwards:

- every task whose submission was acknowledged (its publish confirmed) has a result;
- every worker consumed again after the restart (the bug this guards against: a worker
  that reconnects but silently never consumes again).

The test always leaves RabbitMQ running (``start_app`` in ``finally``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskStatus
from skilld.exceptions import BackendUnavailableError
from tests.engine.processes import FAULT_WORKER, start_ready
from tests.engine.services import (
    delete_rabbitmq_queues,
    delete_redis_keys,
    require_rabbitmq,
    require_redis,
    unique_name,
)

WORKERS = 3
TASKS = 3000
BATCH = 50


def rabbitmqctl(*args: str, timeout: float = 120) -> None:
    subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=timeout
    )


def start_worker(
    broker_url: str, store_url: str, effects: Path, log: Path
) -> subprocess.Popen[str]:
    """A worker process; its log (reconnection attempts included) goes to ``log``."""
    return start_ready(FAULT_WORKER, broker_url, store_url, effects, 20, 5, log=log)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_restart_rabbitmq_mid_run_loses_no_acknowledged_task(tmp_path: Path) -> None:
    amqp = require_rabbitmq()
    if shutil.which("rabbitmqctl") is None:
        if os.environ.get("CI"):
            pytest.fail("rabbitmqctl is needed to restart RabbitMQ (CI is set)")
        pytest.skip("rabbitmqctl is not available to restart RabbitMQ")
    redis = require_redis()
    queue = unique_name("restart")
    broker_url = f"{amqp}?queue={queue}"
    store_url = f"{redis}?prefix={queue}:"
    effects = tmp_path / "effects.log"
    workers: list[subprocess.Popen[str]] = []
    stopped = False
    acknowledged: list[str] = []
    refused = 0
    try:
        async with open_broker(broker_url) as broker, open_store(store_url) as store:
            workers = [
                start_worker(broker_url, store_url, effects, tmp_path / f"worker-{n}.log")
                for n in range(WORKERS)
            ]

            async def produce() -> None:
                nonlocal refused
                for start in range(0, TASKS, BATCH):
                    batch = [
                        SkillTask(skill="work", args=str(i)) for i in range(start, start + BATCH)
                    ]
                    try:
                        await submit_many(broker, store, batch)
                    except BackendUnavailableError:
                        refused += len(batch)  # not acknowledged: not promised
                    else:
                        acknowledged.extend(t.id for t in batch)
                    await asyncio.sleep(0.01)

            async def done_count() -> int:
                found = await store.get_many(list(acknowledged))  # the producer appends
                return sum(1 for r in found.values() if r.status.terminal)

            producer = asyncio.create_task(produce())
            async with asyncio.timeout(60):
                while await done_count() < 300:
                    await asyncio.sleep(0.05)
            before = await done_count()
            stopped = True
            await asyncio.to_thread(rabbitmqctl, "stop_app")
            down_at = time.time()
            await asyncio.to_thread(rabbitmqctl, "start_app")
            await asyncio.to_thread(rabbitmqctl, "await_startup")
            stopped = False
            up_at = time.time()
            await producer

            async with asyncio.timeout(180):
                while await done_count() < len(acknowledged):
                    await asyncio.sleep(0.2)
            results = await store.get_many(acknowledged)

        statuses = Counter(r.status for r in results.values())
        pids = {str(p.pid) for p in workers}
        after_restart = Counter(
            r.worker.split(":")[1]
            for r in results.values()
            if r.worker and r.timings.finished_at and r.timings.finished_at > up_at
        )
        runs = Counter(line.split()[0] for line in effects.read_text().splitlines())
        print(
            f"\nsubmitted {TASKS}, acknowledged {len(acknowledged)}, refused {refused}; "
            f"done before the restart {before}; RabbitMQ down {up_at - down_at:.1f}s; "
            f"results {dict(statuses)}; finished after the restart per worker "
            f"{dict(after_restart)}; tasks run twice {sum(1 for n in runs.values() if n > 1)}"
        )
        assert len(results) == len(acknowledged)
        assert statuses == {TaskStatus.SUCCEEDED: len(acknowledged)}
        assert len(acknowledged) + refused == TASKS
        for pid in pids:
            assert after_restart[pid] > 0, f"worker {pid} did not consume after the restart"
        assert all(p.poll() is None for p in workers), "a worker died"
    finally:
        if stopped:
            subprocess.run(["rabbitmqctl", "start_app"], capture_output=True, timeout=120)
            subprocess.run(["rabbitmqctl", "await_startup"], capture_output=True, timeout=120)
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        await asyncio.to_thread(delete_rabbitmq_queues, queue)
        await asyncio.to_thread(delete_redis_keys, f"{queue}:")
