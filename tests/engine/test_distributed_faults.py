"""Fault tests (1) and (4) of the distributed engine, with real ``skilld worker`` processes.

(1) Three workers share one queue and one Redis store; 10,000 tasks run while a random
worker is killed with ``kill -9`` again and again and replaced each time. Every task ends
with exactly one result (one successful write: one ``finished`` event; refused writes
over it are counted from the workers' logs), and the side effect ran more than once only
for tasks that a killed worker was running.

(4) Poison tasks (a skill that fails on every attempt, and a malformed message) end in
the dead-letter queue while the other tasks keep flowing.

Both run on RabbitMQ + Redis store and on Redis Streams + Redis store. The skills are
real ones: ``effect``'s inline command appends ``<argument> <worker>`` to a file, the side
effect the tests count (each worker process gets its own ``FAULT_WORKER`` number in its
environment; the shell's ``$PPID`` would not do: a shell outliving its killed worker
reads 1);
``noop`` only expands. A shell per task costs about twice the engine's own work, so one
task in four is an ``effect`` task and the rest are ``noop``: the file stays well under
three minutes on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from skilld.engine.brokers import Broker, open_broker
from skilld.engine.operations import submit_many
from skilld.engine.stores import Store, open_store
from skilld.engine.task import SkillTask, TaskResult, TaskStatus
from tests.engine.services import (
    delete_rabbitmq_queues,
    delete_redis_keys,
    require_rabbitmq,
    require_redis,
    unique_name,
)
from tests.helpers import REPO, write_skill

COMBINATIONS = ["rabbitmq+redis", "redis+redis"]
WORKERS = 3
TASKS = 10_000
EFFECT_EVERY = 4  # every fourth task is an effect task, the others no-ops
KILLS_AT = (0.1, 0.25, 0.4, 0.55, 0.7)  # fractions of the side effects seen: 5 kills
CONCURRENCY = 32
LEASE_S = 5.0  # claim lease and Redis visibility timeout: how long a killed worker's
# tasks wait before another worker takes them; renewals (every third) keep a loaded
# machine from losing a live worker's lease.
OVERWRITE_LOG = "was already written; kept it"  # the worker's line for a refused write


@dataclass
class Backends:
    broker_url: str
    store_url: str


@pytest.fixture(params=COMBINATIONS)
def backends(request: pytest.FixtureRequest) -> Backends:
    redis_url = require_redis()
    prefix = unique_name("faults") + ":"
    request.addfinalizer(lambda: delete_redis_keys(prefix))
    store_url = f"{redis_url}?prefix={prefix}"
    if request.param == "rabbitmq+redis":
        amqp = require_rabbitmq()
        queue = unique_name("faults")
        request.addfinalizer(lambda: delete_rabbitmq_queues(queue))  # noqa: PT021
        return Backends(f"{amqp}?queue={queue}", store_url)
    return Backends(f"{redis_url}?prefix={prefix}&visibility_timeout={LEASE_S:g}", store_url)


def write_skills(root: Path, effects: Path) -> Path:
    skills = root / "skills"
    write_skill(
        skills,
        "effect",
        "name: effect\ndescription: Records that it ran\nallowed-tools: Bash(echo:*)",
        f"Recorded: !`echo $ARGUMENTS $FAULT_WORKER >> {effects}`\n",
    )
    write_skill(skills, "noop", "name: noop\ndescription: Does nothing", "Hello $ARGUMENTS\n")
    write_skill(
        skills,
        "poison",
        "name: poison\ndescription: Fails on every attempt\nallowed-tools: Bash(false)",
        "!`false`\n",
    )
    return skills


@dataclass
class Fleet:
    """The worker processes of one test: started, killed, stopped, their logs read."""

    backends: Backends
    skills: Path
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)

    async def start(self) -> subprocess.Popen[bytes]:
        index = len(self.processes)
        log = self.logs / f"worker-{index}.log"
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}",
            "FAULT_WORKER": str(index),
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "skilld",
                    "worker",
                    "--broker",
                    self.backends.broker_url,
                    "--store",
                    self.backends.store_url,
                    "--skills-dir",
                    str(self.skills),
                    "--concurrency",
                    str(CONCURRENCY),
                    "--lease",
                    str(LEASE_S),
                    "--grace",
                    "5",
                    "--verbose",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.logs,
                env=env,
            )
        self.processes.append(process)

        async def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker {index} exited: {log.read_text()}")
            return "skilld worker" in log.read_text()

        await wait_for(ready, 60, f"worker {index} to start")
        return process

    @property
    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.pid not in self.killed and p.poll() is None]

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        self.killed.add(process.pid)

    def stop(self) -> list[str]:
        """SIGTERM every live worker; their last log lines (the stats they print)."""
        survivors = self.alive
        for process in survivors:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(30) for process in survivors]
        assert codes == [0] * len(survivors), f"graceful exits expected, got {codes}"
        return [line for line in self.log_lines() if ": stopped (" in line]

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)

    def log_lines(self) -> list[str]:
        lines: list[str] = []
        for log in sorted(self.logs.glob("worker-*.log")):
            lines.extend(log.read_text(errors="replace").splitlines())
        return lines


@asynccontextmanager
async def fleet_of(backends: Backends, skills: Path, logs: Path) -> AsyncIterator[Fleet]:
    logs.mkdir(exist_ok=True)
    fleet = Fleet(backends, skills, logs)
    try:
        yield fleet
    finally:
        fleet.kill_all()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.05)


def side_effects(effects: Path) -> list[tuple[str, int]]:
    """(argument, worker number) of every run of the ``effect`` skill."""
    if not effects.exists():
        return []
    lines = effects.read_text().splitlines()
    return [(key, int(worker)) for key, worker in (line.split() for line in lines)]


def count_lines(effects: Path) -> int:
    return effects.read_bytes().count(b"\n") if effects.exists() else 0


def worker_pid(result: TaskResult) -> int:
    assert result.worker is not None
    return int(result.worker.split(":")[-2])  # host:pid:suffix


async def finished_writes(store: Store, ids: list[str]) -> Counter[str]:
    """How many ``finished`` events each task has: one per successful result write."""
    counts: Counter[str] = Counter()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        lists = await asyncio.gather(*(store.events(task_id) for task_id in chunk))
        for task_id, events in zip(chunk, lists, strict=True):
            counts[task_id] = sum(1 for event in events if event.type == "finished")
    return counts


async def all_results(store: Store, ids: list[str], timeout: float) -> dict[str, TaskResult]:
    async def done() -> bool:
        found = await store.get_many(ids)
        return len(found) == len(ids) and all(r.terminal for r in found.values())

    await wait_for(done, timeout, f"all {len(ids)} tasks to finish")
    return await store.get_many(ids)


@asynccontextmanager
async def connected(backends: Backends) -> AsyncIterator[tuple[Broker, Store]]:
    async with open_broker(backends.broker_url) as broker, open_store(backends.store_url) as store:
        yield broker, store


@pytest.mark.slow
@pytest.mark.timeout(170)
async def test_kill_9_random_workers_loses_nothing_and_reruns_only_what_was_running(
    backends: Backends, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    skills = write_skills(tmp_path, effects)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    tasks = [
        SkillTask(skill="noop" if i % EFFECT_EVERY else "effect", args=f"t{i}")
        for i in range(TASKS)
    ]
    with_effect = [task for task in tasks if task.skill == "effect"]
    key_of = {task.args: task.id for task in with_effect}
    ids = [task.id for task in tasks]
    began = time.monotonic()

    async with (
        connected(backends) as (broker, store),
        fleet_of(backends, skills, tmp_path / "logs") as fleet,
    ):
        for _ in range(WORKERS):
            await fleet.start()

        async def submit_all() -> None:
            for start in range(0, TASKS, 500):
                await submit_many(broker, store, tasks[start : start + 500])

        submitting = asyncio.create_task(submit_all())
        kills: list[tuple[int, int]] = []  # (pid, side effects seen at the kill)
        for fraction in KILLS_AT:
            threshold = int(len(with_effect) * fraction)

            async def reached(threshold: int = threshold) -> bool:
                return count_lines(effects) >= threshold

            await wait_for(reached, 90, f"{threshold} side effects")
            victim = rng.choice(fleet.alive)
            fleet.kill(victim)
            kills.append((victim.pid, count_lines(effects)))
            await fleet.start()
        await submitting
        last = count_lines(effects)
        assert last < len(with_effect), "the last kill came too late to prove anything"
        results = await all_results(store, ids, 120)
        stats = fleet.stop()
        writes = await finished_writes(store, ids)
        depth = await broker.depth()
        dead = await broker.dead_letter_count()
        refused = sum(1 for line in fleet.log_lines() if OVERWRITE_LOG in line)
    elapsed = time.monotonic() - began

    # Every task has exactly one result: succeeded, written once.
    assert len(results) == TASKS
    assert Counter(r.status for r in results.values()) == {TaskStatus.SUCCEEDED: TASKS}
    assert set(writes.values()) == {1}, "a result written twice (or never)"
    assert (depth, dead) == (0, 0)

    # Side effects: every task ran; a second run only where a killed worker ran it first.
    pids = [process.pid for process in fleet.processes]
    runs: dict[str, list[int]] = defaultdict(list)
    for key, index in side_effects(effects):
        runs[key_of[key]].append(pids[index])
    assert set(runs) == set(key_of.values()), "every effect task ran, and nothing else did"
    extra_runs = 0
    for task_id, ran_on in runs.items():
        writer = worker_pid(results[task_id])
        assert writer in ran_on, f"{task_id}: its result came from a worker that never ran it"
        others = list(ran_on)
        others.remove(writer)
        assert set(others) <= fleet.killed, f"{task_id} ran twice on a live worker: {ran_on}"
        extra_runs += len(others)
    total = sum(len(p) for p in runs.values())
    assert total == len(with_effect) + extra_runs
    # A killed worker was running at most CONCURRENCY tasks.
    assert extra_runs <= len(kills) * CONCURRENCY
    assert refused <= extra_runs

    print(
        f"\n[{backends.broker_url.split(':')[0]} broker] {TASKS} tasks, {len(kills)} kill -9 "
        f"(seed {seed}; side effects seen at each kill: {[n for _, n in kills]}), "
        f"{len(fleet.processes)} worker processes in all, {elapsed:.1f}s: "
        f"{TASKS} results (0 lost), {sum(writes.values())} writes (0 written twice), "
        f"{refused} refused overwrite attempts; {total} side effects of {len(with_effect)} "
        f"effect tasks = one each + {extra_runs} re-runs of tasks cut off on a killed "
        "worker; survivors: " + "; ".join(line.split("stopped ")[-1] for line in stats)
    )


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_poison_tasks_end_in_the_dead_queue_while_the_others_flow(
    backends: Backends, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    skills = write_skills(tmp_path, effects)
    poison = [SkillTask(skill="poison", args=f"p{i}", max_attempts=3) for i in range(3)]
    tasks = [SkillTask(skill="noop", args=f"n{i}") for i in range(1000)]
    ids = [task.id for task in tasks]
    began = time.time()

    async with (
        connected(backends) as (broker, store),
        fleet_of(backends, skills, tmp_path / "logs") as fleet,
    ):
        for _ in range(2):
            await fleet.start()
        # The poison first, at the head of the queue; a malformed message among them.
        await submit_many(broker, store, poison)
        await broker.publish_raw(b'{"skill": "noop", "priority": "high"}')
        await submit_many(broker, store, tasks)
        results = await all_results(store, ids, 90)
        dead = await all_results(store, [task.id for task in poison], 60)
        letters = await broker.dead_letters(limit=10)
        retries = {
            task.id: [e for e in await store.events(task.id) if e.type == "retrying"]
            for task in poison
        }
        fleet.stop()

    assert Counter(r.status for r in results.values()) == {TaskStatus.SUCCEEDED: len(tasks)}
    assert {r.status for r in dead.values()} == {TaskStatus.DEAD}
    assert {r.attempts for r in dead.values()} == {3}
    assert {r.error.type for r in dead.values() if r.error} == {"ShellCommandError"}
    by_task = {letter.task_id: letter for letter in letters}
    assert set(by_task) == {task.id for task in poison} | {None}
    malformed = by_task[None]
    assert malformed.error_type == "MalformedTaskError"
    assert re.search(r"\$\.priority", malformed.reason)
    for task in poison:
        assert len(retries[task.id]) == 2  # attempts 1 and 2 failed and were retried
        assert by_task[task.id].error_type == "ShellCommandError"

    # The others flowed while the poison was being retried: tasks finished between a
    # poison task's first failure and its death.
    first_failure = min(events[0].at for events in retries.values())
    last_death = max(r.timings.finished_at or 0.0 for r in dead.values())
    during = sum(
        1 for r in results.values() if first_failure <= (r.timings.finished_at or 0.0) <= last_death
    )
    assert during > 0
    finished = max(r.timings.finished_at or 0.0 for r in results.values())
    print(
        f"\n[{backends.broker_url.split(':')[0]} broker] {len(tasks)} tasks succeeded in "
        f"{finished - began:.1f}s, {during} of them while the poison was being retried; "
        f"{len(poison)} poison tasks dead after 3 attempts "
        f"({last_death - began:.1f}s after the start); the malformed message dead-lettered: "
        f"{malformed.reason}"
    )
