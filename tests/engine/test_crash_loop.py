"""A task that kills every worker process that runs it ends in the dead-letter queue, with
a ``dead`` result, on every backend real processes can share (the memory broker lives in
one process: the broker-level body in test_brokers.py covers it).

Each crash leaves the dead worker's claim behind; the claim lease is longer than the
broker's visibility timeout, so the next delivery finds the claim still held and is
deferred first. The deferral must carry the delivery count forward, or the task runs and
kills workers for ever.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskStatus
from tests.engine.processes import CRASH_WORKER, start_ready

LEASE_S = 1.5  # the dead worker's claim outlives ...
VISIBILITY_S = 0.3  # ... the broker's lease on the message
MAX_DELIVERIES = 2


def start_worker(urls: tuple[str, str], effects: Path) -> subprocess.Popen[str]:
    return start_ready(CRASH_WORKER, *urls, effects, LEASE_S, VISIBILITY_S, MAX_DELIVERIES)


@pytest.mark.slow
async def test_a_task_that_kills_its_worker_ends_dead(
    backend: str, backend_urls: tuple[str, str], tmp_path: Path
) -> None:
    if backend == "memory":
        pytest.skip("the memory broker cannot be shared by processes (see test_brokers.py)")
    effects = tmp_path / "effects"
    crasher = SkillTask(skill="crasher")
    good = [SkillTask(skill="fine", args=str(i)) for i in range(3)]
    async with (
        open_broker(backend_urls[0], max_deliveries=MAX_DELIVERIES) as broker,
        open_store(backend_urls[1]) as store,
    ):
        await submit_many(broker, store, [crasher, *good])
        starts = 0
        process = start_worker(backend_urls, effects)
        try:
            while (result := await store.get(crasher.id)) is None or not result.terminal:
                if process.poll() is not None:  # killed by the crasher: start another
                    process.communicate()
                    starts += 1
                    assert starts <= MAX_DELIVERIES + 2, "the crasher keeps killing workers"
                    process = start_worker(backend_urls, effects)
                await store.wait(crasher.id, 0.2)
            finished = [await store.wait(t.id, 20) for t in good]
        finally:
            if process.poll() is None:
                process.terminate()
            process.communicate(timeout=20)
        dead_letters = await broker.dead_letters()
        events = [e.type for e in await store.events(crasher.id)]
    assert result.status is TaskStatus.DEAD
    assert result.error is not None
    assert result.error.type == "DeliveryLimitExceeded"
    assert [r.status if r else None for r in finished] == [TaskStatus.SUCCEEDED] * 3
    runs = [line.split()[0] for line in effects.read_text().splitlines()]
    assert runs.count(crasher.id) == MAX_DELIVERIES  # each run killed one worker
    assert [d.task_id for d in dead_letters] == [crasher.id]
    assert events[-1] == "finished"
