"""The result cache through ``skilld worker``: a skill that opts in is served from L2
(Redis) by a later worker, and a changed skill is never served a stale result."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
