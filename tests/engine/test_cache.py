"""The two-level cache: L1 TTL and LRU, single flight, L2 shared between processes,
results of opted-in skills keyed by version, skill definitions by version hash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from skilld.engine.cache import (
    RedisL2,
    ResultCache,
    SkillCache,
    TwoLevelCache,
    cache_ttl_of,
    result_cache_key,
)
from skilld.engine.executor import EventSink, Outcome, SkillExecutor
from skilld.engine.task import SkillTask, TaskUsage
from skilld.skills.loader import load_skill_file, skill_from_text
from skilld.skills.model import Skill, Source
from tests.engine.services import delete_redis_keys, require_redis, unique_name
from tests.helpers import write_skill


def text_cache(**options: Any) -> TwoLevelCache[str]:
    return TwoLevelCache(encode=str.encode, decode=bytes.decode, **options)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_l2() -> AsyncIterator[tuple[aioredis.Redis, str]]:
    client = aioredis.Redis.from_url(require_redis())
    prefix = unique_name("cache") + ":"
    yield client, prefix
    await client.aclose()
    delete_redis_keys(prefix)


async def test_l1_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = text_cache(timer=clock)
    await cache.put("k", "v", ttl=10)
    assert await cache.get("k") == "v"
    clock.now += 9.9
    assert await cache.get("k") == "v"
    clock.now += 0.2
    assert await cache.get("k") is None
    assert cache.stats.l1_hits == 2


async def test_l1_drops_the_least_recently_used() -> None:
    cache = text_cache(maxsize=2)
    await cache.put("a", "1", ttl=60)
    await cache.put("b", "2", ttl=60)
    assert await cache.get("a") == "1"  # a is now more recent than b
    await cache.put("c", "3", ttl=60)
    assert await cache.get("b") is None
    assert await cache.get("a") == "1"


async def test_concurrent_misses_compute_once() -> None:
    cache = text_cache()
    release = asyncio.Event()
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "value"

    callers = [asyncio.create_task(cache.get_or_compute("k", compute, 60)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*callers) == ["value"] * 50
    assert calls == 1
    assert (cache.stats.misses, cache.stats.shared) == (1, 49)
    assert await cache.get_or_compute("k", compute, 60) == "value"
    assert cache.stats.l1_hits == 1
    assert calls == 1


async def test_a_failed_computation_reaches_every_waiter_and_is_not_cached() -> None:
    cache = text_cache()
    release = asyncio.Event()

    async def fail() -> str:
        await release.wait()
        raise RuntimeError("model down")

    callers = [asyncio.create_task(cache.get_or_compute("k", fail, 60)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)

    async def ok() -> str:
        return "fine"

    assert await cache.get_or_compute("k", ok, 60) == "fine"


async def test_l2_is_shared_between_processes(redis_l2: tuple[aioredis.Redis, str]) -> None:
    client, prefix = redis_l2
    first = text_cache(l2=RedisL2(client, prefix=prefix, namespace="t"))
    second = text_cache(l2=RedisL2(client, prefix=prefix, namespace="t"))

    async def compute() -> str:
        return "computed once"

    async def must_not_run() -> str:
        raise AssertionError("the second process should have found it in L2")

    assert await first.get_or_compute("k", compute, 60) == "computed once"
    assert await second.get_or_compute("k", must_not_run, 60) == "computed once"
    assert (second.stats.l2_hits, second.stats.misses) == (1, 0)
    assert await second.get_or_compute("k", must_not_run, 60) == "computed once"
    assert second.stats.l1_hits == 1
    assert await client.pttl(f"{prefix}cache:t:k") > 50_000


async def test_an_unreachable_l2_is_skipped_not_fatal() -> None:
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    cache = text_cache(l2=RedisL2(client, prefix="x:", namespace="t"))

    async def compute() -> str:
        return "v"

    try:
        assert await cache.get_or_compute("k", compute, 60) == "v"
    finally:
        await client.aclose()
    assert cache.stats.l2_errors == 2  # the get and the set
    assert cache.stats.misses == 1


@pytest.mark.parametrize(
    ("metadata", "ttl"),
    [
        ({"skilld-cache-ttl": "300"}, 300.0),
        ({"skilld-cache-ttl": "0.5"}, 0.5),
        ({"skilld-cache-ttl": "0"}, 0.0),
        ({"skilld-cache-ttl": "-5"}, 0.0),
        ({"skilld-cache-ttl": "soon"}, 0.0),
        ({"skilld-cache-ttl": True}, 0.0),
        ({"skilld-cache-ttl": "inf"}, 0.0),
        ({}, 0.0),
    ],
)
def test_a_skill_opts_in_through_its_metadata(metadata: dict[str, Any], ttl: float) -> None:
    skill = skill_from_text("---\ndescription: d\n---\nBody\n", name="s")
    assert cache_ttl_of(replace(skill, metadata=metadata)) == ttl


def test_the_result_key_covers_version_mode_model_arguments_and_session() -> None:
    base = result_cache_key("sha256:1", "fork", "sim:0", "x")
    assert base == result_cache_key("sha256:1", "fork", "sim:0", "x")
    others = {
        result_cache_key("sha256:2", "fork", "sim:0", "x"),
        result_cache_key("sha256:1", "inline", "sim:0", "x"),
        result_cache_key("sha256:1", "fork", "sim:1", "x"),
        result_cache_key("sha256:1", "fork", "sim:0", "y"),
        result_cache_key("sha256:1", "fork", "sim:0", "x", "session"),
    }
    assert base not in others
    assert len(others) == 5


class Registry:
    """A registry that reloads one skill file on every lookup (as a hot reload would)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> Skill | None:
        return load_skill_file(self.path, source=Source.PROJECT)


def counting_runner(calls: list[str]) -> Any:
    async def run(
        skill: Skill, task: SkillTask, prompt: str, *, model: Any, events: EventSink
    ) -> Outcome:
        calls.append(task.args)
        last = prompt.strip().splitlines()[-1]  # after the "Base directory" line
        return Outcome(f"answer to {last}", TaskUsage(input_tokens=7, output_tokens=3))

    return run


async def no_events(type: str, data: dict[str, Any] | None = None) -> None:
    return None


async def test_opted_in_results_are_served_from_the_cache_until_the_skill_changes(
    tmp_path: Path,
) -> None:
    path = write_skill(
        tmp_path,
        "summarize",
        'description: d\nmetadata:\n  skilld-cache-ttl: "300"',
        "Summarize $ARGUMENTS\n",
    )
    calls: list[str] = []
    cache = ResultCache()
    executor = SkillExecutor(
        Registry(path),
        default_model="sim:0",
        fork_runner=counting_runner(calls),
        result_cache=cache,
    )

    async def run(args: str) -> Outcome:
        return await executor.execute(
            SkillTask(skill="summarize", args=args, mode="fork"), events=no_events
        )

    first = await run("a")
    again = await run("a")
    assert calls == ["a"]
    assert again.output == first.output == "answer to Summarize a"
    assert first.usage.input_tokens == 7
    assert again.usage == TaskUsage()  # nothing was spent on the hit
    assert again.skill_version == first.skill_version
    await run("b")
    assert calls == ["a", "b"]

    path.write_text(path.read_text().replace("Summarize", "Condense"), encoding="utf-8")
    changed = await run("a")
    assert calls == ["a", "b", "a"]  # a new version is a new key: never the stale answer
    assert changed.output == "answer to Condense a"
    assert changed.skill_version != first.skill_version
    assert (cache.stats.misses, cache.stats.l1_hits) == (3, 1)


async def test_skills_that_do_not_opt_in_always_run(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "live", "description: d", "Check $ARGUMENTS\n")
    calls: list[str] = []
    cache = ResultCache()
    executor = SkillExecutor(
        Registry(path),
        default_model="sim:0",
        fork_runner=counting_runner(calls),
        result_cache=cache,
    )
    for _ in range(3):
        await executor.execute(SkillTask(skill="live", args="x", mode="fork"), events=no_events)
    assert calls == ["x", "x", "x"]
    assert cache.stats.to_dict()["hits"] == 0


async def test_skill_definitions_travel_by_version_hash(
    tmp_path: Path, redis_l2: tuple[aioredis.Redis, str]
) -> None:
    client, prefix = redis_l2
    path = write_skill(tmp_path, "greet", "description: Greets", "Hello $ARGUMENTS\n")
    skill = load_skill_file(path, source=Source.PROJECT)
    gateway = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    worker = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    version = await gateway.publish(skill)
    assert version == skill.version

    found = await worker.get(version)
    assert found is not None
    assert (found.name, found.description, found.body) == ("greet", "Greets", skill.body)
    assert found.version == version
    assert await worker.get(version) is found  # L1 now
    assert worker.stats.l2_hits == 1

    path.write_text(path.read_text().replace("Hello", "Hi"), encoding="utf-8")
    changed = load_skill_file(path, source=Source.PROJECT)
    assert changed.version != version
    assert await worker.get(changed.version) is None  # not published: no stale stand-in


class DictL2:
    """An L2 in a dict that counts its writes (a second process would share the dict)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.sets = 0

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self.sets += 1
        self.data[key] = value


def write_folder_skill(root: Path) -> Path:
    """A skill whose SKILL.md reads a reference file and runs a script of its folder."""
    path = write_skill(
        root,
        "lookup",
        "description: Looks things up\nallowed-tools: Bash(sh:*)",
        "Facts: !`sh ${CLAUDE_SKILL_DIR}/scripts/facts.sh`\nRead ${CLAUDE_SKILL_DIR}/ref.md\n",
    )
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts" / "facts.sh").write_text("echo bundled-fact\n", encoding="utf-8")
    (path.parent / "ref.md").write_text("# Reference\n", encoding="utf-8")
    return path


async def test_a_definition_brings_its_small_folder_through_redis(
    tmp_path: Path, redis_l2: tuple[aioredis.Redis, str]
) -> None:
    from skilld.skills.expansion import expand_skill

    client, prefix = redis_l2
    path = write_folder_skill(tmp_path / "gateway")
    skill = load_skill_file(path, source=Source.PROJECT)
    gateway = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    worker = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    assert await gateway.publish(skill) == skill.version

    found = await worker.get(skill.version)
    assert found is not None
    assert found.directory is not None
    assert found.directory != path.parent  # its own copy: this "machine" has no files
    assert (found.directory / "ref.md").read_text(encoding="utf-8") == "# Reference\n"
    assert (found.name, found.source, found.version) == ("lookup", Source.PROJECT, skill.version)
    expansion = await expand_skill(found, "")
    assert "Facts: bundled-fact" in expansion.text
    assert f"Read {found.directory.as_posix()}/ref.md" in expansion.text
    assert worker.stats.l2_hits == 1


async def test_a_folder_past_the_bound_travels_as_its_skill_md_alone(tmp_path: Path) -> None:
    from skilld.engine.cache import MAX_BUNDLE_BYTES

    path = write_skill(tmp_path, "big", "description: Big", "Big $ARGUMENTS\n")
    (path.parent / "data.bin").write_bytes(b"x" * (MAX_BUNDLE_BYTES + 1))
    skill = load_skill_file(path, source=Source.USER)
    l2 = DictL2()
    assert await SkillCache(l2=l2).publish(skill) == skill.version

    found = await SkillCache(l2=l2).get(skill.version)
    assert found is not None
    assert (found.directory, found.body, found.source) == (None, skill.body, Source.USER)
    assert found.version == skill.version


async def test_a_skill_changed_since_it_was_loaded_is_not_published(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "greet", "description: Greets", "Hello\n")
    skill = load_skill_file(path, source=Source.PROJECT)
    loaded = skill.version
    path.write_text(path.read_text().replace("Hello", "Bye"), encoding="utf-8")
    l2 = DictL2()
    cache = SkillCache(l2=l2)
    # The text on disk is not version `loaded` any more: publishing it under that
    # version would run other text than the one pinned.
    assert await cache.publish(skill) is None
    assert l2.data == {}
    assert await SkillCache(l2=l2).get(loaded) is None


async def test_publishing_writes_l2_once_per_republish_interval(tmp_path: Path) -> None:
    clock = Clock()
    path = write_skill(tmp_path, "greet", "description: Greets", "Hello\n")
    skill = load_skill_file(path, source=Source.PROJECT)
    l2 = DictL2()
    cache = SkillCache(l2=l2, republish_s=60, timer=clock)
    for _ in range(5):
        assert await cache.publish(skill) == skill.version
    assert l2.sets == 1  # once per task would be a round trip per task
    clock.now += 61
    await cache.publish(skill)
    assert l2.sets == 2  # refreshed well before the L2 entry's TTL runs out


async def test_two_skills_with_the_same_content_keep_their_names(tmp_path: Path) -> None:
    first = load_skill_file(
        write_skill(tmp_path, "a", "description: D", "Same\n"), source=Source.PROJECT
    )
    second = load_skill_file(
        write_skill(tmp_path, "b", "description: D", "Same\n"), source=Source.PROJECT
    )
    assert first.version == second.version
    l2 = DictL2()
    await SkillCache(l2=l2).publish(first)
    found = await SkillCache(l2=l2).get(second.version, name="b")
    assert found is not None
    assert (found.name, found.version) == ("b", second.version)
