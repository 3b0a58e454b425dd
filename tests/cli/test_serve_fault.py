"""Fault test of the embedded default: kill -9 ``skilld serve`` with 1,000 tasks in flight.

Three lives of one server on one data directory:

1. gateway only: 1,000 tasks submitted over HTTP, every one acknowledged, then kill -9;
2. with a worker: killed with kill -9 once a few hundred tasks have run;
3. with a worker: runs the rest.

Then, counting from the store itself: every task has exactly one result, ``succeeded``, with
exactly one ``finished`` event (a result is never overwritten), and no task is lost. The
skill appends its argument to a file, so its side effects are counted too: every task ran,
and only a task running at the moment of the kill (at most ``CONCURRENCY`` of them) may
have run twice.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest

from skilld.engine.stores import open_store
from skilld.engine.task import TaskStatus
from tests.cli.test_serve import Served, start_serve
from tests.helpers import write_skill

TASKS = 1000
CONCURRENCY = 8
KILL_AFTER = 300  # side effects seen before the second kill


def effect_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


async def submit_all(url: str) -> list[str]:
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def one(index: int) -> str:
            async with gate:
                response = await http.post(
                    "/v1/tasks", json={"skill": "effect", "args": f"t{index}"}
                )
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

        return await asyncio.gather(*(one(i) for i in range(TASKS)))


async def wait_all(url: str, ids: list[str]) -> dict[str, str]:
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def one(task_id: str) -> tuple[str, str]:
            async with gate:
                while True:
                    body = (await http.get(f"/v1/tasks/{task_id}", params={"wait": 20})).json()
                    if body["status"] not in ("queued", "running"):
                        return task_id, str(body["status"])

        return dict(await asyncio.gather(*(one(i) for i in ids)))


def kill_hard(server: Served) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.communicate(timeout=10)
    assert server.process.returncode == -signal.SIGKILL


@pytest.mark.slow
async def test_kill_9_loses_no_task_and_writes_each_result_once(tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    write_skill(
        tmp_path / "skills",
        "effect",
        "description: Appends its argument to a log.\nallowed-tools: Bash(echo:*)",
        f"!`echo $ARGUMENTS >> {log}`\nran $ARGUMENTS\n",
    )
    data = tmp_path / "data"
    # Short leases, so the third life takes over what the killed one held within seconds.
    args = [
        "--skills-dir",
        "skills",
        "--broker",
        f"sqlite:///{data / 'queue.db'}?visibility_timeout=2",
        "--store",
        f"sqlite:///{data / 'results.db'}",
        "--lease",
        "2",
    ]

    first = start_serve(*args, "--concurrency", "0", cwd=tmp_path)
    ids = await submit_all(first.url)
    kill_hard(first)
    assert len(set(ids)) == TASKS
    assert effect_lines(log) == []

    second = start_serve(*args, "--concurrency", str(CONCURRENCY), cwd=tmp_path)
    async with asyncio.timeout(60):
        while len(effect_lines(log)) < KILL_AFTER:
            assert second.process.poll() is None, "the server died on its own"
            await asyncio.sleep(0.02)
    kill_hard(second)
    ran_before_restart = len(effect_lines(log))
    assert ran_before_restart < TASKS, "the kill came too late to test anything"

    third = start_serve(*args, "--concurrency", str(CONCURRENCY), cwd=tmp_path)
    try:
        statuses = await wait_all(third.url, ids)
    finally:
        code, _ = third.stop(signal.SIGTERM)
    assert code == 0

    assert Counter(statuses.values()) == {"succeeded": TASKS}
    async with open_store(f"sqlite:///{data / 'results.db'}") as store:
        results = await store.get_many(ids)
        assert len(results) == TASKS
        assert {r.status for r in results.values()} == {TaskStatus.SUCCEEDED}
        for task_id in ids:
            finished = [e for e in await store.events(task_id) if e.type == "finished"]
            assert len(finished) == 1, task_id

    runs = Counter(effect_lines(log))
    assert set(runs) == {f"t{i}" for i in range(TASKS)}  # every task ran
    twice = [arg for arg, count in runs.items() if count > 1]
    assert max(runs.values()) <= 2
    assert len(twice) <= CONCURRENCY  # only what was running at the kill
