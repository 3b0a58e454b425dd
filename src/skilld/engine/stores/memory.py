"""An in-process store: the whole contract in dictionaries, for tests and embedding.

Every primitive runs without awaiting anything, so within one event loop each is atomic,
which is all the claim and fencing logic needs. Waiters are woken by notification only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from skilld.engine import defaults
from skilld.engine.breaker import BreakerState
from skilld.engine.stores.base import (
    Acquired,
    Busy,
    Claim,
    ClaimOutcome,
    Finished,
    Store,
    WorkerInfo,
    cancelled_result,
    finished_event,
    replace_struct,
    running_result,
    started_event,
)
from skilld.engine.task import TaskEvent, TaskResult, TaskStatus
from skilld.engine.urls import BackendURL

__all__ = ["MemoryStore"]


@dataclass(slots=True)
class _Held:
    token: str | None
    fence: int
    worker: str
    expires_at: float


class MemoryStore(Store):
    """A store in this process's memory (``memory://NAME`` shares one per name)."""

    notifies_across_processes = True  # there is no other process to hear from
    _named: ClassVar[dict[str, MemoryStore]] = {}

    def __init__(
        self,
        *,
        result_ttl: float = defaults.RESULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(result_ttl=result_ttl, clock=clock)
        self.url = "memory://"
        self._results: dict[str, tuple[TaskResult, float]] = {}
        self._claims: dict[str, _Held] = {}
        self._keys: dict[str, tuple[str, float]] = {}
        self._cancels: set[str] = set()
        self._event_log: dict[str, list[TaskEvent]] = defaultdict(list)
        self._breakers: dict[str, BreakerState] = {}
        self._beats: dict[str, tuple[WorkerInfo, float]] = {}

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> MemoryStore:
        store = url.named(cls._named, lambda: cls(**options))
        store.url = url.url
        return store

    def _append(self, event: TaskEvent) -> None:
        log = self._event_log[event.task_id]
        log.append(replace_struct(event, offset=len(log) + 1))

    def _terminal(self, task_id: str) -> TaskResult | None:
        found = self._results.get(task_id)
        if found is not None and found[0].terminal:
            return found[0]
        return None

    async def _get(self, task_ids: Sequence[str]) -> dict[str, TaskResult]:
        now = self._clock()
        return {
            i: found[0]
            for i in task_ids
            if (found := self._results.get(i)) is not None and found[1] > now
        }

    async def _put_queued(self, results: Sequence[TaskResult], events: Sequence[TaskEvent]) -> None:
        expires = self._clock() + self.result_ttl
        for result, event in zip(results, events, strict=True):
            if result.id not in self._results:
                self._results[result.id] = (result, expires)
                self._append(event)

    async def _claim(self, task_id: str, claim: Claim, now: float) -> ClaimOutcome:
        done = self._terminal(task_id)
        if done is not None:
            return Finished(done)
        previous = self._results.get(task_id)
        if task_id in self._cancels:
            result = cancelled_result(previous[0] if previous else None, task_id, now)
            await self._finish(result, None, now + self.result_ttl)
            return Finished(result)
        held = self._claims.get(task_id)
        if held is not None and held.token is not None and held.expires_at > now:
            return Busy(held.worker, held.expires_at)
        fence = (held.fence if held else 0) + 1
        claim = replace(claim, fence=fence)
        self._claims[task_id] = _Held(claim.token, fence, claim.worker, claim.expires_at)
        running = running_result(previous[0] if previous else None, claim, now)
        self._results[task_id] = (running, now + self.result_ttl)
        self._append(started_event(claim))
        return Acquired(claim)

    async def _renew(self, claims: Sequence[Claim], until: float) -> set[str]:
        lost: set[str] = set()
        for claim in claims:
            held = self._claims.get(claim.task_id)
            if held is None or held.token != claim.token:
                lost.add(claim.token)
            else:
                held.expires_at = until
        return lost

    async def _release(self, claim: Claim, result: TaskResult | None) -> None:
        held = self._claims.get(claim.task_id)
        if held is None or held.token != claim.token:
            return
        held.token = None
        if result is not None and self._terminal(claim.task_id) is None:
            self._results[claim.task_id] = (result, self._clock() + self.result_ttl)

    async def _finish(self, result: TaskResult, token: str | None, expires_at: float) -> bool:
        if self._terminal(result.id) is not None:
            return False
        held = self._claims.get(result.id)
        if token is not None and (held is None or held.token != token):
            return False
        self._results[result.id] = (result, expires_at)
        self._claims.pop(result.id, None)
        self._cancels.discard(result.id)
        self._append(finished_event(result))
        return True

    async def _reopen(self, task_id: str) -> bool:
        found = self._results.get(task_id)
        if found is None or found[0].status is not TaskStatus.DEAD:
            return False
        reopened = replace_struct(found[0], status=TaskStatus.QUEUED)
        self._results[task_id] = (reopened, found[1])
        return True

    async def _bind_key(self, key: str, task_id: str, ttl: float) -> str:
        now = self._clock()
        bound = self._keys.get(key)
        if bound is not None and bound[1] > now:
            return bound[0]
        self._keys[key] = (task_id, now + ttl)
        return task_id

    async def _request_cancel(self, task_id: str, now: float) -> TaskResult | None:
        if self._terminal(task_id) is not None:
            return None
        held = self._claims.get(task_id)
        previous = self._results.get(task_id)
        if previous is not None and (held is None or held.token is None or held.expires_at <= now):
            result = cancelled_result(previous[0], task_id, now)
            await self._finish(result, None, now + self.result_ttl)
            return result
        self._cancels.add(task_id)
        return None

    async def _cancel_requested(self, task_ids: Collection[str]) -> set[str]:
        return {i for i in task_ids if i in self._cancels}

    async def _add_events(self, events: Sequence[TaskEvent]) -> None:
        for event in events:
            self._append(event)

    async def _events(self, task_id: str, after: int, limit: int) -> list[TaskEvent]:
        log = self._event_log.get(task_id, [])
        return log[after : after + limit]

    async def _get_breaker(self, name: str) -> BreakerState | None:
        return self._breakers.get(name)

    async def _put_breaker(self, name: str, state: BreakerState) -> None:
        self._breakers[name] = state

    async def _heartbeat(self, info: WorkerInfo, ttl: float) -> None:
        self._beats[info.id] = (info, self._clock() + ttl)

    async def _workers(self, now: float) -> list[WorkerInfo]:
        return [info for info, until in self._beats.values() if until > now]

    async def _expire(self, now: float) -> int:
        gone = [i for i, (_, until) in self._results.items() if until <= now]
        for task_id in gone:
            del self._results[task_id]
            self._event_log.pop(task_id, None)
        keys = [k for k, (_, until) in self._keys.items() if until <= now]
        for key in keys:
            del self._keys[key]
        beats = [w for w, (_, until) in self._beats.items() if until <= now]
        for worker_id in beats:
            del self._beats[worker_id]
        return len(gone) + len(keys) + len(beats)
