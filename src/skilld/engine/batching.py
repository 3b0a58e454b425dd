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

__all__ = ["Coalescer"]

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Run ``flush(batch)`` for items added concurrently; at most one flush at a time."""

    def __init__(
        self, flush: Callable[[Sequence[T]], Awaitable[None]], *, max_batch: int = 1024
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def add(self, item: T) -> None:
        """Queue ``item`` and wait until the batch holding it has been flushed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        await future

    async def _run(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    await self._flush([item for item, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            self._runner = None
