"""Batched AMQP writes (engine/brokers/amqp_batch.py): a batch of publishes or acks is one
write to the connection, and every message keeps its own delivery tag and outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from skilld.engine.brokers import rabbitmq as rabbitmq_module
from skilld.engine.brokers.amqp_batch import ConfirmWindow, can_batch, publish_batch, send_frames
from skilld.engine.task import SkillTask
from tests.engine.services import require_rabbitmq, unique_name
from tests.engine.test_rabbitmq import Factory, make_broker

__all__ = ["make_broker"]  # the fixture, imported for its use below


class _Writes:
    """Counts the frame sets a channel hands its connection's writer."""

    def __init__(self, channel: Any) -> None:
        self.count = 0
        queue = channel.write_queue
        put = queue.put

        async def counting_put(item: Any) -> None:
            self.count += 1
            await put(item)

        queue.put = counting_put
        self._queue = queue

    def close(self) -> None:
        del self._queue.put  # the class's own put again


@pytest.fixture
async def channel() -> AsyncIterator[tuple[Any, str]]:
    """A confirming aiormq channel and a fresh durable queue on it."""
    import aiormq

    amqp = require_rabbitmq()
    queue = unique_name("batch")
    connection = await aiormq.connect(amqp)
    # As the broker's publishing channel: a returned message is a result, not an error.
    chan = await connection.channel(publisher_confirms=True, on_return_raises=False)
    await chan.queue_declare(queue, durable=True)
    try:
        yield chan, queue
    finally:
        cleanup = await connection.channel()
        await cleanup.queue_delete(queue)
        await connection.close()


def _props(message_id: str | None) -> Any:
    from pamqp import commands as spec

    return spec.Basic.Properties(delivery_mode=2, message_id=message_id)


async def test_a_batch_is_one_write_and_every_message_is_confirmed_in_order(
    channel: tuple[Any, str],
) -> None:
    chan, queue = channel
    assert can_batch(chan)
    writes = _Writes(chan)
    items = [("", queue, f"body-{i}".encode(), _props(f"id-{i}")) for i in range(300)]
    first_tag = chan.delivery_tag + 1
    futures = await publish_batch(chan, items)
    writes.close()
    assert writes.count == 1
    confirms = await asyncio.gather(*futures)
    assert all(type(c).__name__ == "Ack" for c in confirms)
    assert chan.delivery_tag == first_tag + 299
    assert chan.message_id_delivery_tag == {}  # forgotten once confirmed
    got = []
    for _ in range(300):
        message = await chan.basic_get(queue, no_ack=True)
        got.append((message.body, message.header.properties.message_id))
    assert got == [(f"body-{i}".encode(), f"id-{i}") for i in range(300)]


async def test_a_message_no_queue_takes_comes_back_alone(channel: tuple[Any, str]) -> None:
    chan, queue = channel
    items = [
        ("", queue, b"kept-1", _props("a")),
        ("", unique_name("nowhere"), b"lost", _props("b")),
        ("", queue, b"kept-2", _props(None)),  # gets a random id, as basic_publish does
    ]
    kept_1, lost, kept_2 = await asyncio.gather(*await publish_batch(chan, items))
    assert type(kept_1).__name__ == type(kept_2).__name__ == "Ack"
    assert lost.body == b"lost"  # the returned message, not an ack
    assert items[2][3].message_id
    declared = await chan.queue_declare(queue, durable=True, passive=True)
    assert declared.message_count == 2


async def test_cancelled_before_the_write_gives_the_tags_back(channel: tuple[Any, str]) -> None:
    chan, queue = channel
    tag = chan.delivery_tag
    queue_obj = chan.write_queue
    put = queue_obj.put
    blocked = asyncio.Event()

    async def stuck_put(item: Any) -> None:
        blocked.set()
        await asyncio.Event().wait()  # a full writer queue that never drains

    queue_obj.put = stuck_put
    try:
        task = asyncio.create_task(
            publish_batch(chan, [("", queue, b"x", _props(f"c{i}")) for i in range(5)])
        )
        await blocked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        queue_obj.put = put
    assert chan.delivery_tag == tag
    assert not any(t > tag for t in chan.confirmations)
    assert chan.message_id_delivery_tag == {}
    # The channel is still good: the next publish gets the next tag and is confirmed.
    [future] = await publish_batch(chan, [("", queue, b"y", _props("after"))])
    assert type(await future).__name__ == "Ack"
    assert chan.delivery_tag == tag + 1


async def test_acks_of_a_batch_are_one_write(channel: tuple[Any, str]) -> None:
    chan, queue = channel
    await asyncio.gather(
        *await publish_batch(chan, [("", queue, b"m", _props(f"m{i}")) for i in range(4)])
    )
    consumer = await chan.connection.channel()
    await consumer.basic_qos(prefetch_count=10)
    got: list[Any] = []
    arrived = asyncio.Event()

    def on_message(message: Any) -> None:
        got.append(message)
        if len(got) == 4:
            arrived.set()

    await consumer.basic_consume(queue, on_message)
    async with asyncio.timeout(5):
        await arrived.wait()
    from pamqp import commands as spec

    writes = _Writes(consumer)
    await send_frames(consumer, [spec.Basic.Ack(delivery_tag=m.delivery.delivery_tag) for m in got])
    writes.close()
    assert writes.count == 1
    await consumer.close()  # unacked deliveries would go back to the queue here
    declared = await chan.queue_declare(queue, durable=True, passive=True)
    assert declared.message_count == 0


async def test_frames_on_a_closed_channel_are_refused(channel: tuple[Any, str]) -> None:
    import aiormq
    from pamqp import commands as spec

    chan, _ = channel
    other = await chan.connection.channel()
    await other.close()
    with pytest.raises(aiormq.exceptions.ChannelInvalidStateError):
        await send_frames(other, [spec.Basic.Ack(delivery_tag=1)])


async def test_the_window_holds_at_most_its_size() -> None:
    window = ConfirmWindow(4)
    await window.take(3)
    assert window.room(1)
    assert not window.room(2)
    waiting = asyncio.create_task(window.take(2))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # 3 + 2 > 4
    window.give_one()
    await asyncio.wait_for(waiting, 1)
    assert window.used == 4
    assert window.peak == 4
    with pytest.raises(ValueError, match="do not fit"):
        await window.take(5)
    with pytest.raises(ValueError, match="confirm window 0"):
        ConfirmWindow(0)


async def test_the_broker_falls_back_to_one_publish_per_message(
    make_broker: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An aiormq without the parts batching needs: aiormq's own methods, same results.
    monkeypatch.setattr(rabbitmq_module, "can_batch", lambda channel: False)
    monkeypatch.setattr(rabbitmq_module, "can_write", lambda channel: False)
    broker = await make_broker(confirm_window=8)
    await broker.publish_many([SkillTask(skill="s", args=str(i)) for i in range(30)])
    assert 1 < broker.peak_confirms <= 8
    deliveries: list[Any] = []
    async with asyncio.timeout(5):
        while len(deliveries) < 30:
            deliveries += await broker.fetch(30 - len(deliveries), timeout=1)
    assert sorted(int(d.task.args) for d in deliveries) == list(range(30))
    await broker.ack_many(deliveries)
    assert await broker.fetch(30, timeout=0.3) == []
    assert await broker.depth() == 0
