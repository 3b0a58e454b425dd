"""Publish a batch of messages on one aiormq channel with one socket write.

aiormq's ``Channel.basic_publish`` hands the connection's writer one frame set per
message, and the writer makes one ``transport.write`` of each: with the socket's buffer
empty that is one ``send()`` system call per message. For a producer of small tasks that
is most of its time (``bench/results/analysis.md``: a third of the producer's samples, and
the cap on what one process can submit).

:func:`publish_batch` does for every message of a batch what ``basic_publish`` does — the
next delivery tag, a confirmation future in the channel's table, the message id a
``Basic.Return`` is matched by — under the channel's lock, and gives the writer the frames
of the whole batch as one write. The server still confirms each delivery tag (usually
many at once, ``multiple=True``), so each message keeps its own outcome.

:func:`send_frames` does the same for frames that need no reply: a batch of acks is one
write, not one per ``basic_ack``.

Both use the channel attributes aiormq's own methods use. :func:`can_batch` and
:func:`can_write` check that they are there, so an aiormq that reorganised them gets
aiormq's per-message methods instead (the caller's fallback), never a wrong delivery tag.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiormq

__all__ = [
    "ConfirmWindow",
    "Outgoing",
    "can_batch",
    "can_write",
    "publish_batch",
    "send_frames",
]

Outgoing = tuple[str, str, bytes, Any]
"""(exchange, routing key, body, ``spec.Basic.Properties``); a message without a
``message_id`` gets a random one, as ``basic_publish`` gives it."""

_WRITE_PARTS = ("write_queue", "number", "create_future", "is_closed")
_PUBLISH_PARTS = (
    *_WRITE_PARTS,
    "lock",
    "delivery_tag",
    "confirmations",
    "message_id_delivery_tag",
    "publisher_confirms",
    "_split_body",
)


class ConfirmWindow:
    """At most ``size`` publisher confirms outstanding at once; a batch takes its share
    of the window before it is written and each confirm gives one back."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"confirm window {size} (>= 1)")
        self.size = size
        self.used = 0
        self.peak = 0  # most confirms that were outstanding at once
        self._freed = asyncio.Event()

    def room(self, wanted: int) -> bool:
        return self.used + wanted <= self.size

    async def take(self, count: int) -> None:
        """Wait until ``count`` (at most ``size``) confirms fit, then hold them."""
        if count > self.size:
            raise ValueError(f"{count} confirms do not fit a window of {self.size}")
        while not self.room(count):
            self._freed.clear()
            await self._freed.wait()
        self.used += count
        self.peak = max(self.peak, self.used)

    def give(self, count: int = 1) -> None:
        self.used -= count
        self._freed.set()

    def give_one(self, _: object = None) -> None:
        """``give(1)``, shaped as a future's done callback."""
        self.give(1)


def can_write(channel: Any) -> bool:
    """Whether ``channel`` has every part :func:`send_frames` relies on."""
    return all(hasattr(channel, part) for part in _WRITE_PARTS)


def can_batch(channel: Any) -> bool:
    """Whether ``channel`` confirms publishes and has every part :func:`publish_batch`
    relies on."""
    return all(hasattr(channel, part) for part in _PUBLISH_PARTS) and bool(
        channel.publisher_confirms
    )


def _forget(channel: Any, message_id: str, tag: int, _: object) -> None:
    # Once a message is confirmed (or given up), a later Basic.Return with the same id
    # must not be matched to it; the next publish of that id will have its own tag.
    if channel.message_id_delivery_tag.get(message_id) == tag:
        del channel.message_id_delivery_tag[message_id]


async def publish_batch(
    channel: aiormq.Channel, items: Sequence[Outgoing], *, mandatory: bool = True
) -> list[asyncio.Future[Any]]:
    """Write ``items`` as one frame set; one confirmation future per item, in order.

    A future resolves to ``Basic.Ack``, ``Basic.Nack``, or the returned message when
    ``mandatory`` found no queue; it fails when the channel closes first. Awaiting them
    (and how long) is the caller's business. If this coroutine is cancelled or fails
    before the frames reach the writer, the delivery tags are given back and no future
    is left registered.
    """
    from aiormq.abc import ChannelFrame
    from pamqp import commands as spec
    from pamqp.header import ContentHeader

    raw: Any = channel
    futures: list[asyncio.Future[Any]] = []
    async with raw.lock:
        first = raw.delivery_tag + 1
        frames: list[Any] = []
        try:
            for exchange, routing_key, body, props in items:
                message_id = props.message_id
                if not message_id:
                    # A Basic.Return is matched to its publish by message id.
                    message_id = props.message_id = uuid.uuid4().hex
                raw.delivery_tag += 1
                tag = raw.delivery_tag
                future = raw.create_future()
                raw.confirmations[tag] = future
                raw.message_id_delivery_tag[message_id] = tag
                future.add_done_callback(partial(_forget, raw, message_id, tag))
                futures.append(future)
                frames.append(
                    spec.Basic.Publish(
                        exchange=exchange, routing_key=routing_key, mandatory=mandatory
                    )
                )
                frames.append(ContentHeader(properties=props, body_size=len(body)))
                frames.extend(raw._split_body(body))
            payload = ChannelFrame.marshall(channel_number=raw.number, frames=frames)
            await raw.write_queue.put(payload)
        except BaseException:
            # The server has seen none of these: reuse their tags, drop their futures.
            raw.delivery_tag = first - 1
            for tag in range(first, first + len(futures)):
                raw.confirmations.pop(tag, None)
            for future in futures:
                future.cancel()
            raise
    return futures


async def send_frames(channel: aiormq.Channel, frames: Sequence[Any]) -> None:
    """Write method frames that need no reply (acks, nacks) with one socket write, and
    wait until the writer has handed them to the transport, as ``basic_ack`` does."""
    from aiormq.abc import ChannelFrame
    from aiormq.exceptions import ChannelInvalidStateError

    raw: Any = channel
    closing = getattr(raw, "_Channel__close_event", None)
    if raw.is_closed or (closing is not None and closing.is_set()):
        raise ChannelInvalidStateError(f"{channel!r} closed")
    drained = raw.create_future()
    try:
        await raw.write_queue.put(
            ChannelFrame.marshall(channel_number=raw.number, frames=frames, drain_future=drained)
        )
    except BaseException:
        drained.cancel()
        raise
    await drained
