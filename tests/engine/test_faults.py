"""Fault tests on the embedded default (SQLite), with real worker processes.

``kill -9`` a worker in the middle of 1,000 queued tasks, start another: every task ends
with exactly one result, none is overwritten, none is lost, and only tasks that were
running at the moment of the kill ran twice. A poison task and a malformed message end in
the dead-letter queue without holding up the others.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest

from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskStatus
from tests.engine.processes import FAULT_WORKER, effect_lines, start_ready

CONCURRENCY = 20
LEASE_S = 1.0


def start_worker(broker_url: str, store_url: str, effects: Path) -> subprocess.Popen[str]:
    return start_ready(FAULT_WORKER, broker_url, store_url, effects, CONCURRENCY, LEASE_S)


async def wait_for(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_kill_9_mid_run_loses_nothing_and_reruns_only_what_was_running(
    tmp_path: Path,
) -> None:
    broker_url = f"sqlite:///{tmp_path / 'queue.db'}"
    store_url = f"sqlite:///{tmp_path / 'results.db'}"
    effects = tmp_path / "effects.log"
    tasks = [SkillTask(skill="work", args=str(i)) for i in range(1000)]
    poison = SkillTask(skill="poison", max_attempts=2)

    async with open_broker(broker_url) as broker, open_store(store_url) as store:
        # Audit every write over a terminal result, whatever statement makes it.
        with sqlite3.connect(tmp_path / "results.db") as audit:
            audit.executescript(
                """
                CREATE TABLE overwrites (task_id TEXT);
                CREATE TRIGGER overwrite_by_insert BEFORE INSERT ON results
                WHEN EXISTS (SELECT 1 FROM results WHERE task_id = NEW.task_id AND terminal = 1)
                BEGIN INSERT INTO overwrites VALUES (NEW.task_id); END;
                CREATE TRIGGER overwrite_by_update BEFORE UPDATE ON results
                WHEN OLD.terminal = 1
                BEGIN INSERT INTO overwrites VALUES (OLD.task_id); END;
                """
            )
        await submit_many(broker, store, [*tasks[:500], poison, *tasks[500:]])
        await broker.publish_raw(b'{"skill": "work", "timeout_s": -1}')

        # Two workers share the file; one is killed mid-run and a third replaces it.
        first = start_worker(broker_url, store_url, effects)
        second = start_worker(broker_url, store_url, effects)
        try:

            async def some_done() -> bool:
                return len(effect_lines(effects)) >= 300

            await wait_for(some_done, 30, "the workers to make progress")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            first.stdout.close()  # type: ignore[union-attr]
        at_kill = effect_lines(effects)
        assert len(at_kill) < len(tasks), "the kill came too late to prove anything"

        third = start_worker(broker_url, store_url, effects)
        ids = [t.id for t in tasks]
        try:

            async def all_finished() -> bool:
                found = await store.get_many(ids)
                return len(found) == len(ids) and all(r.terminal for r in found.values())

            await wait_for(all_finished, 45, "every task to finish after the kill")
            dead = await store.wait(poison.id, 10)
        finally:
            for survivor in (second, third):
                survivor.send_signal(signal.SIGTERM)
            for survivor in (second, third):
                assert survivor.wait(15) == 0  # graceful exit
                survivor.stdout.close()  # type: ignore[union-attr]

        results = await store.get_many(ids)
        assert len(results) == 1000
        assert {r.status for r in results.values()} == {TaskStatus.SUCCEEDED}
        assert await broker.depth() == 0

        # The poison task and the malformed message are dead letters, with reasons.
        assert dead is not None
        assert dead.status is TaskStatus.DEAD
        letters = {d.error_type: d for d in await broker.dead_letters()}
        assert set(letters) == {"RuntimeError", "MalformedTaskError"}
        assert letters["RuntimeError"].task_id == poison.id
        assert "at `$.timeout_s`" in letters["MalformedTaskError"].reason

    with sqlite3.connect(tmp_path / "results.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM overwrites").fetchone() == (0,)
        finished = conn.execute(
            "SELECT task_id, COUNT(*) FROM events WHERE type = 'finished' GROUP BY task_id"
        ).fetchall()
    assert len(finished) == 1001  # every task and the poison one...
    assert {count for _, count in finished} == {1}  # ...finished exactly once

    runs: dict[str, list[int]] = defaultdict(list)
    for task_id, pid in effect_lines(effects):
        runs[task_id].append(pid)
    assert set(runs) >= set(ids), "every task ran"
    twice = {t for t in ids if len(runs[t]) > 1}
    # Only tasks cut off by the kill ran twice: started by the killed worker, finished
    # (their result written) by a survivor, at most one per slot of the killed worker.
    assert len(twice) <= CONCURRENCY
    for task_id in twice:
        killed, rerun = runs[task_id]
        assert killed == first.pid
        assert rerun in (second.pid, third.pid)
        assert results[task_id].output == f"done by {rerun}"
    assert all(len(runs[t]) == 1 for t in ids if t not in twice)
    by_worker = {
        pid: sum(1 for r in runs.values() if r[-1] == pid)
        for pid in (first.pid, second.pid, third.pid)
    }
    print(
        f"\n1000 tasks: {len(at_kill)} side effects before the kill, "
        f"{len(twice)} tasks ran twice (cut off by the kill), 0 lost, 0 overwritten; "
        f"last runs per worker {by_worker}"
    )
