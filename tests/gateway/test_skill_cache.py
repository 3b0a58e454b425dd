"""The gateway publishes each accepted task's skill by version hash and pins that
version, so workers run what was submitted: a worker with no skills at all (its L2 in
Redis shared with the gateway's), a worker whose copy changed after submission."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from skilld.engine.brokers import Broker
from skilld.engine.cache import RedisL2, SkillCache
from skilld.engine.executor import SkillExecutor
from skilld.engine.stores import Store
from skilld.engine.worker import Worker
from skilld.gateway import create_app
from skilld.skills.registry import SkillRegistry
from tests.engine.services import delete_redis_keys, require_redis, unique_name


@contextlib.asynccontextmanager
async def gateway(
    broker: Broker, store: Store, registry: SkillRegistry, cache: SkillCache
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(broker=broker, store=store, registry=registry, skill_cache=cache)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@contextlib.asynccontextmanager
async def worker(
    broker: Broker, store: Store, cache: SkillCache, *, cwd: Path, add_dirs: tuple[Path, ...] = ()
) -> AsyncIterator[Worker]:
    """A worker whose skills are found from ``cwd`` (and ``add_dirs``), loaded now."""
    registry = SkillRegistry(cwd, add_dirs=add_dirs, include_packages=False)
    executor = SkillExecutor(registry, skill_cache=cache)
    async with Worker(broker, store, executor, concurrency=2, heartbeat_s=0) as running:
        yield running


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[aioredis.Redis, str]]:
    client = aioredis.Redis.from_url(require_redis())
    prefix = unique_name("skills") + ":"
    yield client, prefix
    await client.aclose()
    delete_redis_keys(prefix)


async def test_a_worker_with_no_skills_runs_what_the_gateway_accepted(
    broker: Broker,
    store: Store,
    registry: SkillRegistry,
    tmp_path: Path,
    redis_prefix: tuple[aioredis.Redis, str],
) -> None:
    client, prefix = redis_prefix
    # Two caches, as in two processes on two machines: only Redis is shared.
    published = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    fetched = SkillCache(l2=RedisL2(client, prefix=prefix, namespace="skills"))
    empty = tmp_path / "other-machine"
    empty.mkdir()
    version = registry.get("greet").version  # type: ignore[union-attr]

    async with (
        gateway(broker, store, registry, published) as http,
        worker(broker, store, fetched, cwd=empty),
    ):
        outputs = []
        for name in ("Ada", "Bob", "Cy"):
            response = await http.post(
                "/v1/tasks", params={"wait": 10}, json={"skill": "greet", "args": name}
            )
            body = response.json()
            assert body["status"] == "succeeded", body
            assert body["skill_version"] == version
            outputs.append(body["output"].splitlines()[-1])

    assert outputs == ["Hello, Ada!", "Hello, Bob!", "Hello, Cy!"]
    # The first task rebuilt the skill from Redis, the next two found it in L1.
    assert (fetched.stats.l2_hits, fetched.stats.l1_hits, fetched.stats.misses) == (1, 2, 0)


async def test_a_skill_edited_after_submission_runs_the_submitted_version(
    broker: Broker, store: Store, registry: SkillRegistry, skills_dir: Path, tmp_path: Path
) -> None:
    cache = SkillCache()  # one process: gateway and worker share it, as in `skilld serve`
    async with gateway(broker, store, registry, cache) as http:
        queued = (await http.post("/v1/tasks", json={"skill": "greet", "args": "Ada"})).json()
        assert queued["skill_version"] == registry.get("greet").version  # type: ignore[union-attr]

        path = skills_dir / "greet" / "SKILL.md"
        path.write_text(path.read_text().replace("Hello", "Farewell"), encoding="utf-8")
        # This worker loads the edited copy: another version of greet than the pinned one.
        async with worker(broker, store, cache, cwd=tmp_path, add_dirs=(skills_dir,)) as w:
            local = w.executor.registry.get("greet")  # type: ignore[attr-defined]
            done = (await http.get(f"/v1/tasks/{queued['id']}", params={"wait": 10})).json()

    assert local.version != queued["skill_version"]
    assert done["status"] == "succeeded", done
    assert done["output"].splitlines()[-1] == "Hello, Ada!"
    assert done["skill_version"] == queued["skill_version"]
    assert cache.stats.l1_hits == 1


async def test_without_a_skill_cache_nothing_is_pinned(
    client: httpx.AsyncClient,
) -> None:
    queued = (await client.post("/v1/tasks", json={"skill": "greet"})).json()
    assert queued.get("skill_version") is None
