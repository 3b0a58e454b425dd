"""Coalesce many small awaited operations into one backend call.

A worker acks each task on its own, but a backend pays per round trip: SQLite per
transaction, Redis per command, RabbitMQ per confirm. :class:`Coalescer` collects the items
that arrive while a flush is in flight (or in the same event-loop turn) and hands them to
the backend together; every caller still awaits its own item's completion, so "acked after
the result is stored" keeps its meaning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher", "Coalescer"]

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Run ``send(batch)`` for items added concurrently, at most one send at a time; each
    caller awaits its own item's reply. ``send`` returns one reply per item, in order; a
    reply that is an exception is raised to that item's caller only, and a ``send`` that
    raises fails the whole batch."""

    def __init__(
        self,
        send: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_batch: int = 1024,
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item``; its reply once the batch holding it has been sent."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await future

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue ``items`` together (no task per item); their replies, in order. An error
        reply is raised once every item has its reply."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = []
        for item in items:
            future: asyncio.Future[R] = loop.create_future()
            self._pending.append((item, future))
            futures.append(future)
        if futures and self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    replies = await self._send([item for item, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), reply in zip(batch, replies, strict=True):
                    if future.done():
                        continue
                    if isinstance(reply, Exception):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        finally:
            self._runner = None


class Coalescer(Generic[T]):
    """Run ``flush(batch)`` for items added concurrently; at most one flush at a time."""

    def __init__(
        self, flush: Callable[[Sequence[T]], Awaitable[None]], *, max_batch: int = 1024
    ) -> None:
        async def send(items: Sequence[T]) -> list[None]:
            await flush(items)
            return [None] * len(items)

        self._batcher: Batcher[T, None] = Batcher(send, max_batch=max_batch)

    async def add(self, item: T) -> None:
        """Queue ``item`` and wait until the batch holding it has been flushed."""
        await self._batcher.submit(item)
