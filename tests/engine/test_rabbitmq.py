"""What only the RabbitMQ broker does: its topology, holding-queue delays, confirm window,
prefetch, handles that outlive their channel, reconnection. The shared bodies in
test_brokers.py and test_worker.py run on it too (conftest.BACKENDS)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from skilld.engine.brokers import open_broker
from skilld.engine.brokers.rabbitmq import DELAY_RUNGS_MS, RabbitMQBroker
from skilld.engine.task import SkillTask
from skilld.exceptions import BackendUnavailableError, ConfigurationError
from tests.engine.services import delete_rabbitmq_queues, require_rabbitmq, unique_name
from tests.helpers import REPO

Factory = Callable[..., Awaitable[RabbitMQBroker]]


@pytest.fixture
async def make_broker() -> AsyncIterator[Factory]:
    """Open RabbitMQ brokers on private queues; close them and delete their queues after."""
    amqp = require_rabbitmq()
    opened: list[RabbitMQBroker] = []
    queues: set[str] = set()

    async def make(url: str | None = None, **options: Any) -> RabbitMQBroker:
        options.setdefault("queue", unique_name("rmq"))
        queues.add(options["queue"])
        broker = open_broker(url or amqp, **options)
        assert isinstance(broker, RabbitMQBroker)
        await broker.connect()
        opened.append(broker)
        return broker

    yield make
    for broker in opened:
        await broker.close()
    for queue in queues:
        await asyncio.to_thread(delete_rabbitmq_queues, queue)


async def test_url_options_and_lazy_import() -> None:
    broker = open_broker(
        "amqp://u:secret@127.0.0.1:5672/vh?queue=jobs&queue_type=classic&prefetch=7"
        "&visibility_timeout=12&heartbeat=30"
    )
    assert isinstance(broker, RabbitMQBroker)
    assert (broker.queue, broker.queue_type, broker.prefetch) == ("jobs", "classic", 7)
    assert broker.visibility_timeout == 12
    assert broker.supports_priority
    # skilld's options are not passed on to aio-pika; aio-pika's are.
    assert broker.amqp_url == "amqp://u:secret@127.0.0.1:5672/vh?heartbeat=30"
    assert broker.queue_names()[:2] == ["jobs", "jobs.dead"]
    with pytest.raises(ConfigurationError, match="queue_type='stream'"):
        open_broker("amqp://127.0.0.1/?queue_type=stream")


async def test_unreachable_server_is_a_clear_error_without_the_password() -> None:
    broker = open_broker("amqp://user:hunter2@127.0.0.1:1/", connect_timeout=5)
    with pytest.raises(BackendUnavailableError, match="cannot connect") as caught:
        await broker.connect()
    assert "hunter2" not in str(caught.value)
    assert "user:***@127.0.0.1:1" in str(caught.value)


async def test_classic_queue_delivers_higher_priorities_first(make_broker: Factory) -> None:
    broker = await make_broker(queue_type="classic")
    await broker.publish_many(
        [SkillTask(skill="s", args=a, priority=p) for a, p in [("a", 0), ("b", 9), ("c", 5)]]
    )
    got = await broker.fetch(3, timeout=2)
    assert [d.task.args for d in got] == ["b", "c", "a"]


async def test_delays_are_never_early_and_use_a_bounded_ladder(make_broker: Factory) -> None:
    broker = await make_broker()
    delays = {"late": 0.45, "soon": 0.05, "middle": 0.2}
    start = time.time()
    for name, delay in delays.items():
        await broker.publish(SkillTask(skill="s", args=name), delay=delay)
    arrived: dict[str, float] = {}
    async with asyncio.timeout(10):
        while len(arrived) < 3:
            for delivery in await broker.fetch(3, timeout=1):
                arrived[delivery.task.args] = time.time() - start
                await broker.ack(delivery)
    assert sorted(arrived, key=arrived.__getitem__) == ["soon", "middle", "late"]
    for name, delay in delays.items():
        assert arrived[name] >= delay - 0.006, (name, arrived[name])
        assert arrived[name] < delay + 1.0, (name, arrived[name])
    # Only rungs of the ladder were used, each a power of two of 10 ms.
    assert broker._declared_rungs <= set(DELAY_RUNGS_MS)
    assert len(DELAY_RUNGS_MS) == 24


async def test_a_long_delay_waits_in_a_holding_queue(make_broker: Factory) -> None:
    broker = await make_broker()
    await broker.publish(SkillTask(skill="s"), delay=3 * 24 * 3600)  # longer than any rung
    assert await broker.fetch(1, timeout=0.2) == []
    assert await broker.depth() == 1  # counted while it waits
    assert await broker.purge() == 1
    assert await broker.depth() == 0


async def test_publish_many_keeps_a_bounded_window_of_confirms(make_broker: Factory) -> None:
    broker = await make_broker(confirm_window=64)
    tasks = [SkillTask(skill="s", args=str(i)) for i in range(2000)]
    started = time.perf_counter()
    await broker.publish_many(tasks)
    elapsed = time.perf_counter() - started
    print(f"\n2000 confirmed publishes in {elapsed:.3f}s, at most {broker.peak_confirms} open")
    # Many confirms outstanding at once (not one round trip per message), never more
    # than the window.
    assert 1 < broker.peak_confirms <= 64
    assert await broker.depth() == 2000


async def test_prefetch_follows_the_callers_free_slots(make_broker: Factory) -> None:
    busy = await make_broker()
    idle = await make_broker(queue=busy.queue)
    await busy.publish_many([SkillTask(skill="s", args=str(i)) for i in range(10)])
    held = await busy.fetch(3, timeout=2)
    assert len(held) == 3
    # The busy consumer asked for three: the other seven are not stuck in its buffer.
    others = await idle.fetch(10, timeout=2)
    assert len(others) == 7
    assert len(busy._buffer) == 0


async def test_a_second_ack_or_a_stale_handle_never_breaks_the_channel(
    make_broker: Factory,
) -> None:
    broker = await make_broker()
    await broker.publish_many([SkillTask(skill="s", args=str(i)) for i in range(3)])
    first, *rest = await broker.fetch(3, timeout=2)
    await broker.ack(first)
    await broker.ack(first)  # the server would close the channel on a second ack
    await broker.release([first])
    for delivery in rest:
        await broker.ack(delivery)
    await broker.publish(SkillTask(skill="s", args="after"))
    [after] = await broker.fetch(1, timeout=2)
    assert after.task.args == "after"
    assert broker.reconnections == 0


async def test_server_side_delivery_limit_lands_in_the_dead_queue(
    make_broker: Factory,
) -> None:
    """A consumer that dies before it can even decode the message (here: a raw channel
    that nacks) still cannot loop forever: the quorum queue's x-delivery-limit moves it."""
    broker = await make_broker(max_deliveries=2)
    task = SkillTask(skill="crasher")
    await broker.publish(task)
    channel = await broker._raw_channel()
    try:
        for _ in range(10):
            message = await channel.basic_get(broker.queue, no_ack=False)
            tag = getattr(message.delivery, "delivery_tag", None)
            if tag is None:
                break
            await channel.basic_nack(tag, requeue=True)
    finally:
        await channel.close()

    async def dead() -> list[Any]:
        while not (letters := await broker.dead_letters()):
            await asyncio.sleep(0.02)
        return letters

    [letter] = await asyncio.wait_for(dead(), 5)
    assert letter.error_type == "DeliveryLimitExceeded"
    assert letter.task_id == task.id
    assert "x-delivery-limit" in letter.reason
    assert [d.task_id for d in await broker.replay()] == [task.id]
    [again] = await broker.fetch(1, timeout=2)
    assert again.task.id == task.id


class _Proxy:
    """A TCP proxy on loopback whose connections the test can cut (a network failure as
    the client sees it; the server sees the connection drop and requeues)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_consuming_resumes_after_the_connection_drops(make_broker: Factory) -> None:
    proxy = _Proxy(5672)
    port = await proxy.start()
    try:
        broker = await make_broker(f"amqp://guest:guest@127.0.0.1:{port}/")
        await broker.publish_many([SkillTask(skill="s", args=str(i)) for i in range(4)])
        held = await broker.fetch(2, timeout=2)
        assert len(held) == 2
        starts = broker.consumer_starts

        proxy.cut()
        # Deliveries of the dead connection are back on the queue; their handles are
        # stale now and settling them is a no-op, not an error.
        seen: set[str] = set()
        async with asyncio.timeout(15):
            while len(seen) < 4:
                for delivery in await broker.fetch(4, timeout=0.5):
                    seen.add(delivery.task.args)
                    await broker.ack(delivery)
        for delivery in held:
            await broker.ack(delivery)
        assert seen == {"0", "1", "2", "3"}
        assert broker.reconnections >= 1
        assert broker.consumer_starts > starts

        # And it keeps consuming what is published after the reconnection.
        await broker.publish(SkillTask(skill="s", args="later"))
        [later] = await broker.fetch(1, timeout=5)
        assert later.task.args == "later"
    finally:
        await proxy.close()


async def test_batched_acks_settle_exactly_the_batch(make_broker: Factory) -> None:
    broker = await make_broker()
    await broker.publish_many([SkillTask(skill="s", args=a) for a in "abcde"])
    a, b, c, d, e = await broker.fetch(5, timeout=2)
    # Out of order and around a delivery still held: only a, b and d are settled.
    await broker.ack_many([d, a, b])
    await broker.release([c])
    await broker.ack(e)
    [again] = await broker.fetch(5, timeout=2)
    assert again.task.args == "c"
    await broker.ack(again)
    assert await broker.fetch(5, timeout=0.3) == []
    assert await broker.depth() == 0
    assert broker.reconnections == 0


async def test_classic_queue_counts_deliveries_too(make_broker: Factory) -> None:
    broker = await make_broker(queue_type="classic", visibility_timeout=0.1, max_deliveries=2)
    await broker.publish(SkillTask(skill="crasher"))
    counts = []
    async with asyncio.timeout(10):
        while not await broker.dead_letter_count():
            counts += [d.delivery_count for d in await broker.fetch(1, timeout=0.5)]
    assert counts == [1, 2]  # never settled, then stopped at the limit
    [letter] = await broker.dead_letters()
    assert letter.error_type == "DeliveryLimitExceeded"


async def test_a_deferral_keeps_the_count_and_a_retry_starts_again(make_broker: Factory) -> None:
    broker = await make_broker(visibility_timeout=0.1)
    await broker.publish(SkillTask(skill="s"))
    assert len(await broker.fetch(1, timeout=2)) == 1  # its worker dies: never settled
    [again] = await broker.fetch(1, timeout=5)
    assert again.delivery_count == 2
    await broker.defer(again, delay=0)  # the dead worker's claim is still held
    [deferred] = await broker.fetch(1, timeout=2)
    assert deferred.delivery_count == 2  # not a fresh start: it would loop for ever
    await broker.defer(deferred, delay=0)  # a clean deferral adds nothing
    [still] = await broker.fetch(1, timeout=2)
    assert still.delivery_count == 2
    await broker.retry(still, delay=0)  # a handled failure: the attempt counter takes over
    [retried] = await broker.fetch(1, timeout=2)
    assert (retried.delivery_count, retried.task.attempt) == (1, 2)
    await broker.ack(retried)


def test_aio_pika_is_imported_only_when_an_amqp_broker_connects() -> None:
    code = (
        "import sys, skilld, skilld.engine.brokers as b\n"
        "assert 'aio_pika' not in sys.modules\n"
        "b.open_broker('amqp://127.0.0.1/?queue=q')\n"
        "assert 'aio_pika' not in sys.modules, 'imported before connecting'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
