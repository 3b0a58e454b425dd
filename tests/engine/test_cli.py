"""``skilld worker`` as a real process, and ``skilld dlq``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skilld.cli import app
from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskError, TaskResult, TaskStatus
from tests.helpers import REPO, write_skill


@pytest.mark.slow
async def test_skilld_worker_runs_skills_and_stops_on_sigterm(tmp_path: Path) -> None:
    skills = tmp_path / "skills"
    write_skill(skills, "greet", "name: greet\ndescription: Greets", "Hello $ARGUMENTS!\n")
    data = tmp_path / "data"
    inline = [SkillTask(skill="greet", args=f"n{i}") for i in range(10)]
    fork = SkillTask(skill="greet", args="model", mode="fork")
    missing = SkillTask(skill="no-such-skill")
    async with (
        open_broker(f"sqlite:///{data / 'queue.db'}") as broker,
        open_store(f"sqlite:///{data / 'results.db'}") as store,
    ):
        await submit_many(broker, store, [*inline, fork, missing])
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SKILLD_DATA_DIR": str(data)}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "skilld",
                "worker",
                "--skills-dir",
                str(skills),
                "--model",
                "sim:0",
                "--concurrency",
                "4",
            ],
            cwd=tmp_path,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            results = [await store.wait(t.id, 30) for t in [*inline, fork, missing]]
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stopped" in err
    assert all(r is not None for r in results)
    outputs = [r.output for r in results[:10] if r is not None]
    assert [o.splitlines()[-1] for o in outputs] == [f"Hello n{i}!" for i in range(10)]
    forked = results[10]
    assert forked is not None
    assert forked.status is TaskStatus.SUCCEEDED
    assert forked.output.endswith("Hello model!\n")  # sim answers with the prompt
    assert forked.usage.input_tokens > 0
    failed = results[11]
    assert failed is not None
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.type == "SkillNotFoundError"


def test_worker_refuses_a_bad_url() -> None:
    result = CliRunner().invoke(app, ["worker", "--broker", "kafka://x"])
    assert result.exit_code == 2
    assert "unknown scheme 'kafka'" in result.output


async def _dead_letters(data: Path) -> list[SkillTask]:
    tasks = [SkillTask(skill="s", args=str(i), max_attempts=1) for i in range(3)]
    async with (
        open_broker(f"sqlite:///{data / 'queue.db'}") as broker,
        open_store(f"sqlite:///{data / 'results.db'}") as store,
    ):
        await submit_many(broker, store, tasks)
        await broker.publish_raw(b"not json")
        for delivery in await broker.fetch(3, timeout=1):
            error = TaskError("RuntimeError", f"failed {delivery.task.args}")
            dead = TaskResult(id=delivery.task.id, status=TaskStatus.DEAD, error=error)
            await store.finish(dead)
            await broker.dead_letter(delivery, error=error)
        assert await broker.fetch(1, timeout=0.5) == []  # the malformed one, dead-lettered
    return tasks


async def _result(data: Path, task_id: str) -> TaskResult | None:
    async with open_store(f"sqlite:///{data / 'results.db'}") as store:
        return await store.get(task_id)


def test_dlq_list_show_replay_purge(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tasks = asyncio.run(_dead_letters(data))
    runner = CliRunner()
    common = ["--data-dir", str(data)]

    listed = runner.invoke(app, ["dlq", "list", "--json", *common])
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.output)
    assert [d["task_id"] for d in letters[:3]] == [t.id for t in tasks]
    assert letters[3]["error_type"] == "MalformedTaskError"
    assert letters[3]["body"] == "not json"

    table = runner.invoke(app, ["dlq", "list", *common])
    assert "4 of 4 dead letters" in table.output

    shown = runner.invoke(app, ["dlq", "show", tasks[0].id, *common])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.output)
    assert detail["reason"] == "failed 0"
    assert detail["result"]["status"] == "dead"

    missing = runner.invoke(app, ["dlq", "show", "nope", *common])
    assert missing.exit_code == 1

    replayed = runner.invoke(app, ["dlq", "replay", tasks[0].id, *common])
    assert replayed.exit_code == 0, replayed.output
    assert tasks[0].id in replayed.output
    again = asyncio.run(_result(data, tasks[0].id))
    assert again is not None
    assert again.status is TaskStatus.QUEUED

    vague = runner.invoke(app, ["dlq", "purge", *common])
    assert vague.exit_code == 2
    purged = runner.invoke(app, ["dlq", "purge", "--all", *common])
    assert "purged 3 dead letter(s)" in purged.output


def test_skilld_worker_burst_drains_the_queue_and_exits(tmp_path: Path) -> None:
    skills = tmp_path / "skills"
    write_skill(skills, "greet", "name: greet\ndescription: Greets", "Hello $ARGUMENTS!\n")
    data = tmp_path / "data"
    tasks = [SkillTask(skill="greet", args=str(i)) for i in range(3)]

    async def enqueue() -> None:
        async with (
            open_broker(f"sqlite:///{data / 'queue.db'}") as b,
            open_store(f"sqlite:///{data / 'results.db'}") as s,
        ):
            await submit_many(b, s, tasks)

    asyncio.run(enqueue())
    result = CliRunner().invoke(
        app, ["worker", "--burst", "--data-dir", str(data), "--skills-dir", str(skills)]
    )
    assert result.exit_code == 0, result.output
    outputs = [asyncio.run(_result(data, t.id)) for t in tasks]
    assert [o.output.splitlines()[-1] for o in outputs if o is not None] == [
        "Hello 0!",
        "Hello 1!",
        "Hello 2!",
    ]
