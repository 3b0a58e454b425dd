"""An in-process broker for tests and embedding: the full contract, no durability.

It keeps the same lease semantics as the SQLite broker (a fetched message comes back after
``visibility_timeout`` unless it is settled or extended), so the shared test body proves
the same behaviour on both. :meth:`MemoryBroker.join` waits until every message is
settled, like dramatiq's ``StubBroker.join``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from skilld.engine import defaults
from skilld.engine.brokers.base import Broker, DeadLetter, Message, RawDelivery, is_replayable
from skilld.engine.urls import BackendURL

__all__ = ["MemoryBroker"]


@dataclass(slots=True)
class _Entry:
    body: bytes
    priority: int
    task_id: str | None
    deliveries: int = 0
    token: str | None = None  # set while leased
    available_at: float = 0.0  # when ready (or when the lease expires)


class MemoryBroker(Broker):
    """A queue in this process's memory.

    Args:
        visibility_timeout: seconds a fetched message stays leased without being extended.
        clock: monotonic time source (injected by tests).
    """

    _named: ClassVar[dict[str, MemoryBroker]] = {}

    def __init__(
        self,
        *,
        visibility_timeout: float = defaults.VISIBILITY_TIMEOUT_S,
        max_deliveries: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_deliveries=max_deliveries)
        self.url = "memory://"
        self.visibility_timeout = visibility_timeout
        self._clock = clock
        self._ids = itertools.count(1)
        self._entries: dict[int, _Entry] = {}
        # (-priority, id) for ready entries; (available_at, id) for delayed or leased ones.
        # Both are lazy: an id popped from a heap is checked against _entries.
        self._ready: list[tuple[int, int]] = []
        self._waiting: list[tuple[float, int]] = []
        self._dead: dict[str, DeadLetter] = {}
        self._wakeup: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> MemoryBroker:
        """``memory://`` is a new queue; ``memory://NAME`` the process-wide one of that name."""
        url.setdefaults(options, visibility_timeout=defaults.VISIBILITY_TIMEOUT_S)
        broker = url.named(cls._named, lambda: cls(**options))
        broker.url = url.url
        return broker

    # -- helpers ---------------------------------------------------------------------

    def _signal(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _check_settled(self) -> None:
        if not self._entries and self._settled is not None:
            self._settled.set()

    def _add(self, message: Message, now: float) -> None:
        entry_id = next(self._ids)
        # Deliveries carried over from the message this one replaces (a deferral).
        entry = _Entry(message.body, message.priority, message.task_id, message.failed)
        self._entries[entry_id] = entry
        if message.delay > 0:
            entry.available_at = now + message.delay
            heapq.heappush(self._waiting, (entry.available_at, entry_id))
        else:
            heapq.heappush(self._ready, (-message.priority, entry_id))

    def _promote(self, now: float) -> None:
        """Move due delayed entries and expired leases to the ready heap."""
        while self._waiting and self._waiting[0][0] <= now:
            at, entry_id = heapq.heappop(self._waiting)
            entry = self._entries.get(entry_id)
            if entry is None or entry.available_at != at:
                continue  # settled, or its lease was extended (a newer heap item exists)
            entry.token = None
            heapq.heappush(self._ready, (-entry.priority, entry_id))

    def _leased(self, handle: Any) -> tuple[int, _Entry] | None:
        entry_id, token = handle
        entry = self._entries.get(entry_id)
        if entry is None or entry.token != token:
            return None  # settled already, or the lease expired and someone else has it
        return entry_id, entry

    def _remove(self, handle: Any) -> bool:
        found = self._leased(handle)
        if found is None:
            return False
        del self._entries[found[0]]
        return True

    # -- primitives ------------------------------------------------------------------

    async def _publish(self, messages: Sequence[Message]) -> None:
        now = self._clock()
        for message in messages:
            self._add(message, now)
        if self._settled is not None:
            self._settled.clear()
        self._signal()

    async def _fetch(self, limit: int, timeout: float) -> Sequence[RawDelivery]:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        deadline = self._clock() + timeout
        while True:
            now = self._clock()
            self._promote(now)
            out: list[RawDelivery] = []
            token = secrets.token_hex(6)
            while self._ready and len(out) < limit:
                _, entry_id = heapq.heappop(self._ready)
                entry = self._entries.get(entry_id)
                if entry is None or entry.token is not None or entry.available_at > now:
                    continue
                entry.token = token
                entry.deliveries += 1
                entry.available_at = now + self.visibility_timeout
                heapq.heappush(self._waiting, (entry.available_at, entry_id))
                out.append(RawDelivery(entry.body, (entry_id, token), entry.deliveries))
            if out or now >= deadline:
                return out
            wait = deadline - now
            if self._waiting:
                wait = min(wait, max(0.0, self._waiting[0][0] - now))
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)

    async def _ack(self, handles: Sequence[Any]) -> None:
        for handle in handles:
            self._remove(handle)
        self._check_settled()

    async def _requeue(self, handle: Any, message: Message) -> None:
        if self._remove(handle):
            self._add(message, self._clock())
            self._signal()

    async def _release(self, handles: Sequence[Any]) -> None:
        now = self._clock()
        for handle in handles:
            found = self._leased(handle)
            if found is not None:
                entry_id, entry = found
                entry.token = None
                entry.deliveries -= 1  # a hand-back is not a delivery that failed
                entry.available_at = now
                heapq.heappush(self._ready, (-entry.priority, entry_id))
        self._signal()

    async def _dead_letter(self, handle: Any, letter: DeadLetter) -> None:
        if self._remove(handle):
            self._dead[letter.id] = letter
        self._check_settled()

    async def _extend(self, handles: Sequence[Any], seconds: float) -> None:
        until = self._clock() + seconds
        for handle in handles:
            found = self._leased(handle)
            if found is not None:
                entry_id, entry = found
                entry.available_at = until
                heapq.heappush(self._waiting, (until, entry_id))

    async def _depth(self) -> int:
        return sum(1 for e in self._entries.values() if e.token is None)

    async def _purge(self) -> int:
        doomed = [i for i, e in self._entries.items() if e.token is None]
        for entry_id in doomed:
            del self._entries[entry_id]
        self._check_settled()
        return len(doomed)

    async def _dead_list(self, limit: int, offset: int) -> list[DeadLetter]:
        return list(self._dead.values())[offset : offset + limit]

    async def _dead_count(self) -> int:
        return len(self._dead)

    async def _dead_get(self, letter_id: str) -> DeadLetter | None:
        if letter_id in self._dead:
            return self._dead[letter_id]
        return next((d for d in self._dead.values() if d.task_id == letter_id), None)

    def _select(self, ids: Sequence[str] | None) -> list[DeadLetter]:
        if ids is None:
            return list(self._dead.values())
        wanted = set(ids)
        return [d for d in self._dead.values() if d.id in wanted or d.task_id in wanted]

    async def _dead_take(
        self, ids: Sequence[str] | None, *, replayable_only: bool
    ) -> list[DeadLetter]:
        taken = [d for d in self._select(ids) if not replayable_only or is_replayable(d.body)]
        for letter in taken:
            del self._dead[letter.id]
        return taken

    async def _dead_purge(self, ids: Sequence[str] | None) -> int:
        doomed = self._select(ids)
        for letter in doomed:
            del self._dead[letter.id]
        return len(doomed)

    # -- test helpers ----------------------------------------------------------------

    async def join(self, timeout: float | None = None) -> None:
        """Wait until every message is settled (acked or dead-lettered).

        Raises TimeoutError after ``timeout`` seconds.
        """
        if self._settled is None:
            self._settled = asyncio.Event()
        if not self._entries:
            return
        self._settled.clear()
        async with asyncio.timeout(timeout):
            while self._entries:
                self._settled.clear()
                await self._settled.wait()
