"""What a second process sees on the embedded default: two store and broker objects on one
SQLite file share no memory, exactly like two processes (the fault tests use real ones)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skilld.engine.brokers import Broker, open_broker
from skilld.engine.executor import FunctionExecutor
from skilld.engine.operations import cancel, submit
from skilld.engine.stores import Store, open_store
from skilld.engine.task import SkillTask, TaskResult, TaskStatus
from skilld.engine.worker import Worker


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Broker, Store, Broker, Store]]:
    q, r = f"sqlite:///{tmp_path / 'q.db'}", f"sqlite:///{tmp_path / 'r.db'}"
    async with open_broker(q) as b1, open_store(r) as s1, open_broker(q) as b2, open_store(r) as s2:
        yield b1, s1, b2, s2


async def test_result_written_elsewhere_wakes_a_waiter(
    pair: tuple[Broker, Store, Broker, Store],
) -> None:
    _, mine, _, theirs = pair
    waiter = asyncio.create_task(mine.wait("t", timeout=10))
    await asyncio.sleep(0)
    await theirs.finish(TaskResult(id="t", status=TaskStatus.SUCCEEDED, output="x"))
    result = await asyncio.wait_for(waiter, 3)  # re-read within ~1 s, not at the timeout
    assert result is not None
    assert result.output == "x"


async def test_task_published_elsewhere_is_fetched(
    pair: tuple[Broker, Store, Broker, Store],
) -> None:
    consumer, _, producer, _ = pair
    fetch = asyncio.create_task(consumer.fetch(1, timeout=10))
    await asyncio.sleep(0)
    await producer.publish(SkillTask(skill="s", id="t"))
    [delivery] = await asyncio.wait_for(fetch, 3)
    assert delivery.task.id == "t"


async def test_cancel_requested_elsewhere_stops_the_running_task(
    pair: tuple[Broker, Store, Broker, Store],
) -> None:
    broker, store, gateway_broker, gateway_store = pair
    started = asyncio.Event()

    async def forever(task: SkillTask) -> None:
        started.set()
        await asyncio.Event().wait()

    task = SkillTask(skill="s")
    worker = Worker(broker, store, FunctionExecutor(forever), heartbeat_s=0, cancel_poll_s=0.05)
    async with worker:
        await submit(gateway_broker, gateway_store, task)
        await asyncio.wait_for(started.wait(), 5)
        await cancel(gateway_store, task.id)
        result = await gateway_store.wait(task.id, 5)
    assert result is not None
    assert result.status is TaskStatus.CANCELLED


async def test_a_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    import sqlite3

    from skilld.exceptions import BackendUnavailableError

    path = tmp_path / "r.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE results (task_id TEXT)")
        conn.execute("PRAGMA user_version = 1")
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(BackendUnavailableError, match="schema version 1, this skilld uses 2"):
        await store.connect()


async def test_many_openers_of_a_new_file_all_succeed(tmp_path: Path) -> None:
    stores = [open_store(f"sqlite:///{tmp_path / 'new.db'}") for _ in range(6)]
    await asyncio.gather(*(s.connect() for s in stores))
    try:
        await asyncio.gather(*(s.mark_queued([SkillTask(skill="s")]) for s in stores))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
