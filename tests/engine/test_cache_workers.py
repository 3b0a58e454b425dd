"""The caches through the commands: a skill that opts in is served from L2 (Redis) by a
later ``skilld worker``, and a changed skill is never served a stale result; a worker
without the skills runs a task ``skilld serve`` accepted, from the skill's definition."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from skilld.cli import app
from skilld.engine.brokers import open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask, TaskStatus
from tests.engine.services import delete_redis_keys, require_redis, unique_name
from tests.helpers import write_skill

# The inline shell makes every real run different (nanoseconds): equal outputs can only
# come from the cache.
STAMP = (
    'description: Stamps.\nallowed-tools: Bash(date:*)\nmetadata:\n  skilld-cache-ttl: "300"',
    "Stamp $ARGUMENTS !`date +%s%N`\n",
)


def test_a_later_worker_serves_an_opted_in_result_from_redis(tmp_path: Path) -> None:
    redis = require_redis()
    prefix = unique_name("cw") + ":"
    broker_url = f"{redis}?prefix={prefix}&queue=q"
    store_url = f"{redis}?prefix={prefix}"
    skills = tmp_path / "skills"
    path = write_skill(skills, "stamp", *STAMP)

    outputs_seen: list[str] = []

    def run(*args: str) -> list[str]:
        tasks = [SkillTask(skill="stamp", args=a) for a in args]

        async def enqueue() -> None:
            async with open_broker(broker_url) as b, open_store(store_url) as s:
                await submit_many(b, s, tasks)

        asyncio.run(enqueue())
        result = CliRunner().invoke(
            app,
            [
                "worker",
                "--burst",
                "--broker",
                broker_url,
                "--store",
                store_url,
                "--skills-dir",
                str(skills),
                "--cwd",
                str(tmp_path),
                "--concurrency",
                "1",
            ],
        )
        assert result.exit_code == 0, result.output
        outputs_seen.append(result.output)

        async def outputs() -> list[str]:
            async with open_store(store_url) as s:
                found = await s.get_many([t.id for t in tasks])
            assert all(found[t.id].status is TaskStatus.SUCCEEDED for t in tasks), found
            return [str(found[t.id].output).splitlines()[-1] for t in tasks]

        return asyncio.run(outputs())

    try:
        [first] = run("x")
        assert first.startswith("Stamp x ")
        [again, other] = run("x", "y")  # a new worker: its L1 is empty, L2 has "x"
        assert again == first
        assert "'l2_hits': 1" in outputs_seen[-1]  # the worker says where it came from
        assert other.startswith("Stamp y ")  # its own run, not x's entry
        path.write_text(path.read_text().replace("Stamp", "Mark"), encoding="utf-8")
        [changed] = run("x")  # a new version of the skill: a new key
        assert changed.startswith("Mark x ")
    finally:
        delete_redis_keys(prefix)


@pytest.mark.slow
def test_a_worker_without_the_skills_runs_what_skilld_serve_accepted(tmp_path: Path) -> None:
    """The gateway (``skilld serve --concurrency 0``) has the skill; the worker, started
    in an empty folder as on another machine, gets its definition from Redis."""
    redis = require_redis()
    prefix = unique_name("sc") + ":"
    broker_url = f"{redis}?prefix={prefix}&queue=q"
    store_url = f"{redis}?prefix={prefix}"
    gateway_dir, worker_dir, home = tmp_path / "gateway", tmp_path / "worker", tmp_path / "home"
    write_skill(gateway_dir / "skills", "greet", "description: Greets.", "Hello, $ARGUMENTS!\n")
    worker_dir.mkdir()
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "SKILLD_HOME": str(home)}
    env["SKILLD_MANAGED_DIR"] = str(home)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skilld",
            "serve",
            "--port",
            "0",
            "--concurrency",
            "0",
            "--skills-dir",
            "skills",
            "--broker",
            broker_url,
            "--store",
            store_url,
        ],
        cwd=gateway_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(4)]
        assert banner[0].startswith("skilld serve: listening on http://"), banner
        url = banner[0].split()[-1]
        queued = httpx.post(f"{url}/v1/tasks", json={"skill": "greet", "args": "Ada"}).json()
        assert queued["status"] == "queued", queued
        assert queued["skill_version"].startswith("sha256:")  # pinned by the gateway

        result = CliRunner().invoke(
            app,
            [
                "worker",
                "--burst",
                "--broker",
                broker_url,
                "--store",
                store_url,
                "--cwd",
                str(worker_dir),
                "--concurrency",
                "1",
            ],
            env={"HOME": str(home), "SKILLD_HOME": str(home), "SKILLD_MANAGED_DIR": str(home)},
        )
        assert result.exit_code == 0, result.output
        assert "0 skills" in result.output  # nothing on this "machine"
        assert "skill cache" in result.output
        assert "'l2_hits': 1" in result.output

        done = httpx.get(f"{url}/v1/tasks/{queued['id']}").json()
        assert done["status"] == "succeeded", done
        assert done["output"].splitlines()[-1] == "Hello, Ada!"
        assert done["skill_version"] == queued["skill_version"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
        delete_redis_keys(prefix)
