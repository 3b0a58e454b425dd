"""What only the Redis backends do: several processes' worth of clients on one server,
reclaiming from a dead consumer, trimming, the key prefix, waiting on pub/sub at scale,
and a clear error when the server is not there.

The shared bodies (test_brokers, test_stores, test_worker) run on Redis too, as "redis".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from skilld.engine.brokers import open_broker
from skilld.engine.brokers.redis import RedisBroker
from skilld.engine.executor import FunctionExecutor
from skilld.engine.operations import submit_many
from skilld.engine.stores import Acquired, Busy, open_store
from skilld.engine.stores.redis import RedisStore
from skilld.engine.task import SkillTask, TaskResult, TaskStatus
from skilld.engine.worker import Worker
from skilld.exceptions import BackendUnavailableError
from tests.engine.services import delete_redis_keys, require_redis, unique_name


@pytest.fixture
def prefix() -> str:
    require_redis()
    name = unique_name("r") + ":"
    yield name
    delete_redis_keys(name)


@pytest.fixture
async def raw() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(require_redis())
    yield client
    await client.aclose()


def url(prefix: str, **options: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, **options}.items())
    return f"{require_redis()}?{query}"


def done(task_id: str, output: str = "out") -> TaskResult:
    return TaskResult(id=task_id, status=TaskStatus.SUCCEEDED, output=output)


async def test_a_waiter_is_woken_by_a_finish_made_through_another_connection(
    prefix: str,
) -> None:
    async with open_store(url(prefix)) as gateway, open_store(url(prefix)) as worker:
        waiter = asyncio.create_task(gateway.wait("t", timeout=5))
        follower = asyncio.create_task(_event_types(gateway, "t"))
        await asyncio.sleep(0.05)
        await worker.add_event("t", "progress", {"pct": 50})
        assert await worker.finish(done("t"))
        # Woken by the notification, well before the 5 s timeout; no re-reading loop.
        assert await asyncio.wait_for(waiter, 2) == done("t")
        assert await asyncio.wait_for(follower, 2) == ["progress", "finished"]


async def _event_types(store: RedisStore | object, task_id: str) -> list[str]:
    assert isinstance(store, RedisStore)
    return [e.type async for e in store.watch_events(task_id)]


async def test_two_thousand_waiters_share_one_notification_connection(prefix: str) -> None:
    ids = [f"t{i}" for i in range(2000)]
    async with open_store(url(prefix)) as gateway, open_store(url(prefix)) as worker:
        assert isinstance(gateway, RedisStore)
        waiters = [asyncio.create_task(gateway.wait(i, timeout=20)) for i in ids]
        await asyncio.sleep(0.2)
        for start in range(0, len(ids), 200):
            await asyncio.gather(*(worker.finish(done(i, i)) for i in ids[start : start + 200]))
        got = await asyncio.wait_for(asyncio.gather(*waiters), 20)
        assert [r.output for r in got if r is not None] == ids
        # Waiting cost subscriptions on the one pub/sub connection, not connections.
        pool = gateway.client.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)
        assert opened <= 3, opened  # commands (auto-pipelined) + pub/sub


async def test_cancellation_reaches_the_worker_of_another_process(prefix: str) -> None:
    async with open_store(url(prefix)) as gateway, open_store(url(prefix)) as worker:
        await gateway.mark_queued([SkillTask(skill="s", id="t")])
        claimed = await worker.claim("t", worker="w", lease_s=30)
        assert isinstance(claimed, Acquired)
        heard: asyncio.Queue[str] = asyncio.Queue()
        worker.add_cancel_listener(heard.put_nowait)
        own: list[str] = []
        gateway.add_cancel_listener(own.append)
        current = await gateway.request_cancel("t")
        assert current is not None
        assert current.status is TaskStatus.RUNNING
        assert await asyncio.wait_for(heard.get(), 2) == "t"
        assert own == ["t"]  # heard once in the requesting process, not twice


async def test_one_claim_wins_among_many_connections(prefix: str) -> None:
    stores = [open_store(url(prefix)) for _ in range(4)]
    for store in stores:
        await store.connect()
    try:
        outcomes = await asyncio.gather(
            *(s.claim("t", worker=f"w{i}", lease_s=30) for i, s in enumerate(stores))
        )
    finally:
        for store in stores:
            await store.close()
    assert sum(isinstance(o, Acquired) for o in outcomes) == 1
    assert sum(isinstance(o, Busy) for o in outcomes) == 3


async def test_a_dead_consumers_message_is_reclaimed_and_its_late_ack_ignored(
    prefix: str, raw: aioredis.Redis
) -> None:
    queue = unique_name("q")
    async with (
        open_broker(url(prefix, queue=queue), visibility_timeout=0.2) as dead,
        open_broker(url(prefix, queue=queue), visibility_timeout=0.2) as alive,
    ):
        await dead.publish(SkillTask(skill="s", args="x"))
        [first] = await dead.fetch(1, timeout=1)
        [again] = await alive.fetch(1, timeout=3)  # reclaimed with XAUTOCLAIM
        assert again.task == first.task
        assert again.delivery_count == 2
        await dead.ack(first)  # the lease it lost: must not remove what `alive` runs
        assert isinstance(alive, RedisBroker)
        stream = alive.keys.stream(queue, 0)
        assert await raw.xlen(stream) == 1
        await alive.ack(again)
        assert await raw.xlen(stream) == 0  # acked entries are trimmed at once
        assert await alive.depth() == 0


async def test_every_key_lives_under_the_prefix(prefix: str, raw: aioredis.Redis) -> None:
    marker = prefix.rstrip(":")
    queue = f"{marker}-q"
    tasks = [SkillTask(id=f"{marker}-{i}", skill="s", args=str(i)) for i in range(20)]
    poison = SkillTask(id=f"{marker}-poison", skill="s", args="boom", max_attempts=1)

    def run(task: SkillTask) -> str:
        if task.args == "boom":
            raise RuntimeError("boom")
        return task.args

    async with (
        open_broker(url(prefix, queue=queue)) as broker,
        open_store(url(prefix)) as store,
    ):
        worker = Worker(broker, store, FunctionExecutor(run), heartbeat_s=0.05)
        async with worker:
            await submit_many(broker, store, [*tasks, poison])
            for task in [*tasks, poison]:
                assert await store.wait(task.id, 10) is not None
            await store.bind_idempotency_key(f"{marker}-key", tasks[0].id, ttl=60)
        assert await broker.dead_letter_count() == 1
    keys = [k.decode() async for k in raw.scan_iter(match=f"*{marker}*", count=1000)]
    assert keys, "the run wrote nothing?"
    assert all(k.startswith(prefix) for k in keys), sorted(keys)


async def test_groups_are_declared_again_when_redis_lost_them(
    prefix: str, raw: aioredis.Redis
) -> None:
    queue = unique_name("q")
    async with open_broker(url(prefix, queue=queue)) as broker:
        assert isinstance(broker, RedisBroker)
        await raw.delete(*(broker.keys.stream(queue, p) for p in range(10)))  # a restart
        await broker.publish(SkillTask(skill="s"))
        assert len(await broker.fetch(1, timeout=2)) == 1


async def test_delayed_messages_keep_their_priority(prefix: str) -> None:
    queue = unique_name("q")
    async with open_broker(url(prefix, queue=queue)) as broker:
        await broker.publish(SkillTask(skill="s", args="low", priority=1), delay=0.1)
        await broker.publish(SkillTask(skill="s", args="high", priority=8), delay=0.1)
        await broker.publish(SkillTask(skill="s", args="now", priority=0))
        [first] = await broker.fetch(1, timeout=1)
        assert first.task.args == "now"
        assert await broker.depth() == 2
        got: list[str] = []
        while len(got) < 2:
            got += [d.task.args for d in await broker.fetch(2, timeout=2)]
        assert got == ["high", "low"]


async def test_an_unreachable_server_is_a_clear_error() -> None:
    store = open_store("redis://127.0.0.1:1/0")
    with pytest.raises(BackendUnavailableError, match=r"redis://127\.0\.0\.1:1/0 does not answer"):
        await store.connect()
    broker = open_broker("redis://127.0.0.1:1/0")
    with pytest.raises(BackendUnavailableError, match="Redis broker"):
        await broker.connect()


async def test_a_worker_stops_a_task_cancelled_from_another_process(prefix: str) -> None:
    queue = unique_name("q")
    started = asyncio.Event()

    async def hang(task: SkillTask) -> str:
        started.set()
        await asyncio.Event().wait()  # until cancelled
        return "never"

    async with (
        open_broker(url(prefix, queue=queue)) as broker,
        open_store(url(prefix)) as worker_store,
        open_store(url(prefix)) as gateway,
    ):
        worker = Worker(broker, worker_store, FunctionExecutor(hang), heartbeat_s=0)
        async with worker:
            task = SkillTask(skill="s")
            await submit_many(broker, gateway, [task])
            await asyncio.wait_for(started.wait(), 5)
            await gateway.request_cancel(task.id)
            result = await gateway.wait(task.id, 5)
        assert result is not None
        assert result.status is TaskStatus.CANCELLED
        assert worker.stats.cancelled == 1


async def test_the_reclaimer_forgets_consumers_that_are_gone(
    prefix: str, raw: aioredis.Redis
) -> None:
    queue = unique_name("q")
    async with open_broker(url(prefix, queue=queue), visibility_timeout=0.1) as gone:
        assert isinstance(gone, RedisBroker)
        await gone.publish(SkillTask(skill="s"))
        [delivery] = await gone.fetch(1, timeout=1)
        await gone.ack(delivery)
    stream = gone.keys.stream(queue, 0)
    names = [c["name"].decode() for c in await raw.xinfo_consumers(stream, gone.keys.group())]
    assert gone.consumer in names
    async with open_broker(
        url(prefix, queue=queue), visibility_timeout=0.1, consumer_ttl=0.05
    ) as alive:
        assert isinstance(alive, RedisBroker)
        await alive.fetch(1, timeout=0.5)  # long enough for a turn at reclaiming
        names = [c["name"].decode() for c in await raw.xinfo_consumers(stream, alive.keys.group())]
    assert gone.consumer not in names


async def test_waiting_again_and_again_on_one_task_never_misses_its_result(prefix: str) -> None:
    # Each wait subscribes and unsubscribes; quick repeats race an unsubscribe on its way
    # against the next subscribe.
    async with open_store(url(prefix)) as gateway, open_store(url(prefix)) as worker:
        for round_ in range(50):
            task_id = f"t{round_}"
            for _ in range(3):
                assert await gateway.wait(task_id, timeout=0.001) is None
            waiter = asyncio.create_task(gateway.wait(task_id, timeout=5))
            await asyncio.sleep(0)
            await worker.finish(done(task_id))
            assert await asyncio.wait_for(waiter, 5) == done(task_id)


def test_the_python_packer_writes_what_hiredis_writes() -> None:
    from skilld.engine.redis_common import _pack_python

    hiredis = pytest.importorskip("hiredis")
    commands = [
        ("EVALSHA", "a" * 40, 2, "k:1", "k:2", 30000, 1763720000.123456, b"\x00\xffbytes", ""),
        ("HGET", "h", "ünïcode"),
        ("PING",),
    ]
    assert _pack_python(commands) == b"".join(hiredis.pack_command(c) for c in commands)
    with pytest.raises(TypeError, match="cannot send bool"):
        _pack_python([("SET", "k", True)])


async def test_an_entry_written_by_hand_without_a_body_is_dead_lettered(
    prefix: str, raw: aioredis.Redis
) -> None:
    queue = unique_name("q")
    async with open_broker(url(prefix, queue=queue)) as broker:
        assert isinstance(broker, RedisBroker)
        await raw.xadd(broker.keys.stream(queue, 0), {"oops": "no body"})
        await broker.publish(SkillTask(skill="good"))
        got: list[str] = []
        while not got:
            got = [d.task.skill for d in await broker.fetch(10, timeout=1)]
        assert got == ["good"]
        [letter] = await broker.dead_letters()
        assert letter.error_type == "MalformedTaskError"


async def test_a_worker_rides_out_its_connections_being_killed(
    prefix: str, raw: aioredis.Redis
) -> None:
    # CLIENT KILL on this worker's connections only (other tests share the server): the
    # same breakage as a restart, for the client side. Nothing hangs, nothing is lost.
    queue = unique_name("q")
    tasks = [SkillTask(skill="s", args=str(i)) for i in range(1000)]
    done = 0

    async def work(task: SkillTask) -> str:
        nonlocal done
        await asyncio.sleep(0.01)
        done += 1
        return task.args

    async with (
        open_broker(url(prefix, queue=queue), visibility_timeout=1.0) as broker,
        open_store(url(prefix)) as store,
        open_store(url(prefix)) as client,
    ):
        assert isinstance(broker, RedisBroker)
        assert isinstance(store, RedisStore)
        names = {f"skilld-broker:{broker.consumer}", f"skilld-store:{store._token_prefix}"}
        worker = Worker(
            broker, store, FunctionExecutor(work), concurrency=20, lease_s=1.0, heartbeat_s=0
        )
        killed = 0
        async with worker:
            await submit_many(broker, client, tasks)
            for _ in range(10):
                await asyncio.sleep(0.05)
                assert done < len(tasks), "the run ended before the connections were killed"
                for connection in await raw.client_list():
                    if connection.get("name") in names:
                        await raw.client_kill_filter(_id=connection["id"])
                        killed += 1
            found = await asyncio.gather(*(client.wait(t.id, 30) for t in tasks))
        assert killed >= 10
        assert [r.output for r in found if r is not None] == [t.args for t in tasks]
        assert await broker.depth() == 0
