"""The store contract: results, claims, idempotency keys, breaker state, heartbeats, events.

*Exactly-once results on at-least-once delivery* live here. Before running a task a worker
**claims** its id with a lease (:meth:`Store.claim`): the answer is either the claim (run
it), the finished result (a redelivered finished task: ack it, do not run it), or "busy"
(someone else holds a live lease: leave it alone until the lease expires). Every claim of a
task id gets a higher *fence* number and a random token; :meth:`Store.finish` writes the
result only while the writer's token is still the current one, so a worker whose lease
expired and was taken over can never overwrite the result of the one that took over, and a
terminal result, once written, is never overwritten by anybody.

Waiting (:meth:`Store.wait`, :meth:`Store.watch_events`) is by notification within one
process. A backend that cannot notify across processes (SQLite) also re-reads: one task
per store re-reads every awaited result in one query every ``poll_interval`` (100 ms), and
an event watcher re-reads on a backing-off schedule (50 ms growing to 1 s), so another
process's writes are seen.

A backend implements the underscore primitives; each is one atomic step (one SQLite
transaction, one Redis script or pipeline)::

    _get(ids)                       stored results (queued, running or terminal)
    _put_queued(results, events)    record queued tasks (never over an existing result)
    _claim(task_id, claim, now)     the atomic claim described above
    _renew(claims, until)           extend leases; returns the tokens that were lost
    _release(claim, result)         drop a claim, task back to ``queued`` (retry, defer)
    _finish(result, token, expires) write a terminal result once, fenced by token
    _reopen(task_id)                dead -> queued, for a dead-letter replay
    _bind_key(key, task_id, ttl)    first task id bound to an idempotency key wins
    _request_cancel(task_id, now)   cancel a task nobody runs, flag one that runs
    _cancel_requested(ids)          which of these are flagged
    _add_events(events) _events(task_id, after, limit)
    _get_breaker(name) _put_breaker(name, state)
    _heartbeat(info, ttl) _workers(now)
    _expire(now)                    drop expired results, claims, keys, heartbeats
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from skilld.engine.breaker import BreakerState
from skilld.engine.lifecycle import Connectable
from skilld.engine.task import SkillTask, TaskEvent, TaskResult, TaskStatus, TaskTimings
from skilld.engine.urls import redact

__all__ = [
    "Acquired",
    "Busy",
    "Claim",
    "ClaimOutcome",
    "Finished",
    "Store",
    "WorkerInfo",
]

log = logging.getLogger("skilld.store")
DEFAULT_RESULT_TTL_S = 7 * 24 * 3600.0
_S = TypeVar("_S", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's lease on a task id. ``token`` proves ownership; ``fence`` increases with
    every claim of the same task id."""

    task_id: str
    token: str
    fence: int
    worker: str
    expires_at: float
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Acquired:
    """The claim is ours: run the task."""

    claim: Claim


@dataclass(frozen=True, slots=True)
class Finished:
    """The task already has a terminal result (or was cancelled before it started)."""

    result: TaskResult


@dataclass(frozen=True, slots=True)
class Busy:
    """Another worker holds a live lease on the task until ``expires_at``."""

    holder: str
    expires_at: float


ClaimOutcome = Acquired | Finished | Busy


class WorkerInfo(msgspec.Struct, kw_only=True, frozen=True):
    """A worker's heartbeat: who it is and what it is doing."""

    id: str
    host: str = ""
    pid: int = 0
    concurrency: int = 0
    running: int = 0
    processed: int = 0
    started_at: float = 0.0
    seen_at: float = 0.0


class Store(Connectable, ABC):
    """Results and coordination state. Use as ``async with open_store(url) as s:``."""

    url: str = ""
    notifies_across_processes: bool = False
    """True when a write in one process wakes waiters in another without re-reading."""
    poll_interval: float = 0.1
    """Without cross-process notification: how often awaited results are re-read."""

    def __init__(
        self, *, result_ttl: float = DEFAULT_RESULT_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        self.result_ttl = result_ttl
        self._clock = clock
        self._result_waiters: dict[str, list[asyncio.Future[TaskResult]]] = defaultdict(list)
        self._event_signals: dict[str, asyncio.Event] = {}
        self._cancel_listeners: list[Callable[[str], object]] = []
        self._poller: asyncio.Task[None] | None = None
        # Claim tokens: a random prefix per store object and a counter; unique is what
        # fencing needs, and this costs no system call per task.
        self._token_prefix = secrets.token_hex(6)
        self._token_counter = itertools.count(1)

    # -- life cycle --------------------------------------------------------------------

    async def close(self) -> None:
        """Close what :meth:`connect` opened (idempotent); waiters stop re-reading."""
        if self._connected and self._poller is not None:
            self._poller.cancel()
        await super().close()

    # -- results -------------------------------------------------------------------------

    async def get(self, task_id: str) -> TaskResult | None:
        """The task's current result (queued, running or terminal), or None if unknown."""
        return (await self._get([task_id])).get(task_id)

    async def get_many(self, task_ids: Sequence[str]) -> dict[str, TaskResult]:
        return await self._get(task_ids)

    async def finished(self, task_ids: Sequence[str]) -> list[bool]:
        """Whether each task has a terminal result, in order: what a client tracking many
        tasks asks again and again, answered without reading or decoding the results
        where the backend can (one script on Redis, one indexed query on SQLite)."""
        if not task_ids:
            return []
        return await self._finished(task_ids)

    async def _finished(self, task_ids: Sequence[str]) -> list[bool]:
        found = await self._get(task_ids)
        return [i in found and found[i].terminal for i in task_ids]

    async def mark_queued(self, tasks: Iterable[SkillTask]) -> None:
        """Record tasks as queued (and their ``queued`` event) before they are published.

        Never touches a task that already has a result: resubmitting a finished task id
        does not reset it.
        """
        now = self._clock()
        results: list[TaskResult] = []
        events: list[TaskEvent] = []
        for task in tasks:
            results.append(TaskResult.queued(task))
            events.append(TaskEvent(task_id=task.id, type="queued", data={}, at=now))
        if results:
            await self._put_queued(results, events)
            for event in events:
                self._signal_events(event.task_id)

    async def finish(self, result: TaskResult, *, claim: Claim | None = None) -> bool:
        """Write a terminal result once. Returns False (and writes nothing) when the task
        already has a terminal result or when ``claim`` is no longer the current claim
        (an expired lease another worker took over).
        """
        if not result.terminal:
            raise ValueError(f"finish() needs a terminal status, not {result.status}")
        written = await self._finish(
            result,
            None if claim is None else claim.token,
            self._clock() + self.result_ttl,
        )
        if written:
            self._resolve(result)
        return written

    async def wait(self, task_id: str, timeout: float) -> TaskResult | None:
        """The terminal result, as soon as it is written; None if not within ``timeout``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[TaskResult] = loop.create_future()
        self._result_waiters[task_id].append(future)
        try:
            await self._watch(task_id)
            current = await self.get(task_id)
            if current is not None and current.terminal:
                return current
            if not self.notifies_across_processes and self._poller is None:
                self._poller = asyncio.create_task(self._poll_waiters())
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                return None
        finally:
            waiters = self._result_waiters.get(task_id)
            if waiters is not None:
                if future in waiters:
                    waiters.remove(future)
                if not waiters:
                    del self._result_waiters[task_id]
            if not future.done():
                future.cancel()
            self._unwatch(task_id)

    async def _poll_waiters(self) -> None:
        """For backends that cannot notify across processes: one task re-reads every
        awaited result together every ``poll_interval`` seconds (one query per round,
        however many waiters), so a result written by another process is seen."""
        try:
            while self._result_waiters and self._connected:
                await asyncio.sleep(self.poll_interval)
                ids = list(self._result_waiters)
                for start in range(0, len(ids), 500):
                    try:
                        found = await self._get(ids[start : start + 500])
                    except Exception:
                        log.exception("re-reading awaited results from %s failed", redact(self.url))
                        break
                    for result in found.values():
                        if result.terminal:
                            self._resolve(result)
        finally:
            self._poller = None

    async def reopen(self, task_id: str) -> bool:
        """Turn a ``dead`` result back into ``queued`` for a dead-letter replay (the one
        way a terminal result changes, and only on an operator's request)."""
        return await self._reopen(task_id)

    def _next_token(self) -> str:
        return f"{self._token_prefix}-{next(self._token_counter):x}"

    # -- claims --------------------------------------------------------------------------

    async def claim(
        self, task_id: str, *, worker: str, lease_s: float, attempt: int = 0
    ) -> ClaimOutcome:
        """Claim ``task_id`` for ``worker`` for ``lease_s`` seconds (see module docstring).

        A task flagged for cancellation before it started comes back as :class:`Finished`
        with a ``cancelled`` result.
        """
        now = self._clock()
        claim = Claim(task_id, self._next_token(), 0, worker, now + lease_s, attempt)
        outcome = await self._claim(task_id, claim, now)
        if isinstance(outcome, Finished):
            self._resolve(outcome.result)
        elif isinstance(outcome, Acquired):
            self._signal_events(task_id)
        return outcome

    async def renew(self, claims: Sequence[Claim], lease_s: float) -> list[Claim]:
        """Extend the leases; returns the claims that were lost (taken over or gone)."""
        if not claims:
            return []
        lost = await self._renew(claims, self._clock() + lease_s)
        return [c for c in claims if c.token in lost]

    async def release(self, claim: Claim, *, result: TaskResult | None = None) -> None:
        """Give up a claim (the task goes back to the queue); ``result`` is the
        non-terminal state to show meanwhile (``queued`` with the last error, say)."""
        await self._release(claim, result)

    # -- idempotency ---------------------------------------------------------------------

    async def bind_idempotency_key(self, key: str, task_id: str, *, ttl: float) -> str:
        """Bind ``key`` to ``task_id`` unless it is bound already; returns the task id the
        key stands for (the earlier one when the key was taken)."""
        return await self._bind_key(key, task_id, ttl)

    # -- cancellation --------------------------------------------------------------------

    async def request_cancel(self, task_id: str) -> TaskResult | None:
        """Cancel a task; returns its result after the request (None if unknown).

        A task nobody runs (queued, or its worker's lease ran out) is finished as
        ``cancelled`` at once; a running one is flagged and stopped by its worker (at once
        in this process, within the worker's poll interval elsewhere) and then ends
        ``cancelled``. A finished task keeps its result.
        """
        cancelled = await self._request_cancel(task_id, self._clock())
        if cancelled is not None:
            self._resolve(cancelled)
        for listener in list(self._cancel_listeners):
            listener(task_id)
        return await self.get(task_id)

    def add_cancel_listener(self, listener: Callable[[str], object]) -> Callable[[], None]:
        """Call ``listener(task_id)`` when a cancellation is requested in this process.
        Returns a function that removes the listener."""
        self._cancel_listeners.append(listener)
        return lambda: self._cancel_listeners.remove(listener)

    @property
    def cancels_pushed(self) -> bool:
        """Whether a cancellation requested in another process reaches this store's
        cancel listeners by itself (right now): then a worker asks
        :meth:`cancel_requested` about each task once, not on every poll."""
        return False

    async def cancel_requested(self, task_ids: Collection[str]) -> set[str]:
        """Which of these tasks are flagged for cancellation (a worker polls this for the
        tasks it runs, to hear of cancellations made in other processes)."""
        if not task_ids:
            return set()
        return await self._cancel_requested(task_ids)

    # -- progress events -----------------------------------------------------------------

    async def add_event(self, task_id: str, type: str, data: dict[str, Any] | None = None) -> None:
        """Append a progress event (offsets are assigned by the store)."""
        event = TaskEvent(task_id=task_id, type=type, data=data or {}, at=self._clock())
        await self._add_events([event])
        self._signal_events(task_id)

    async def events(self, task_id: str, *, after: int = 0, limit: int = 1000) -> list[TaskEvent]:
        """The task's events with offsets greater than ``after``, in order."""
        return await self._events(task_id, after, limit)

    async def watch_events(self, task_id: str, *, after: int = 0) -> AsyncIterator[TaskEvent]:
        """Replay the events after ``after`` and follow new ones until ``finished``."""
        pause = 0.05
        await self._watch(task_id)
        try:
            while True:
                signal = self._event_signals.setdefault(task_id, asyncio.Event())
                signal.clear()
                batch = await self._events(task_id, after, 1000)
                for event in batch:
                    after = event.offset
                    yield event
                    if event.type == "finished":
                        return
                if batch:
                    pause = 0.05
                    continue
                try:
                    if self.notifies_across_processes:
                        await signal.wait()
                    else:
                        await asyncio.wait_for(signal.wait(), pause)
                except TimeoutError:
                    pause = min(pause * 2, 1.0)
        finally:
            self._unwatch(task_id)

    # -- circuit breakers ----------------------------------------------------------------

    async def get_breaker(self, name: str) -> BreakerState | None:
        return await self._get_breaker(name)

    async def put_breaker(self, name: str, state: BreakerState) -> None:
        await self._put_breaker(name, state)

    # -- heartbeats ----------------------------------------------------------------------

    async def heartbeat(self, info: WorkerInfo, *, ttl: float) -> None:
        """Record that a worker is alive; it disappears from :meth:`workers` after ``ttl``."""
        await self._heartbeat(replace_seen(info, self._clock()), ttl)

    async def workers(self) -> list[WorkerInfo]:
        """Workers whose last heartbeat has not expired."""
        return await self._workers(self._clock())

    async def expire(self) -> int:
        """Drop expired results, claims, keys and heartbeats; returns how many."""
        return await self._expire(self._clock())

    # -- in-process notification ---------------------------------------------------------

    def _resolve(self, result: TaskResult) -> None:
        for future in self._result_waiters.get(result.id, ()):
            if not future.done():
                future.set_result(result)
        self._signal_events(result.id)

    def _signal_events(self, task_id: str) -> None:
        signal = self._event_signals.get(task_id)
        if signal is not None:
            signal.set()

    # -- primitives (and _connect, _close: see Connectable) ------------------------------

    async def _watch(self, task_id: str) -> None:
        """A waiter in this process starts waiting for ``task_id``'s result or events:
        a backend that notifies across processes subscribes here, before the waiter's
        first read, so nothing written after that read is missed. Always paired with
        :meth:`_unwatch` (also when this raises)."""
        return

    def _unwatch(self, task_id: str) -> None:
        """A waiter registered with :meth:`_watch` is gone."""
        return

    @abstractmethod
    async def _get(self, task_ids: Sequence[str]) -> dict[str, TaskResult]: ...

    @abstractmethod
    async def _put_queued(
        self, results: Sequence[TaskResult], events: Sequence[TaskEvent]
    ) -> None: ...

    @abstractmethod
    async def _claim(self, task_id: str, claim: Claim, now: float) -> ClaimOutcome:
        """Atomically: a terminal result → Finished; a cancel flag → write ``cancelled`` and
        Finished; a live lease with another token → Busy; else store ``claim`` with the
        next fence, mark the task running, add a ``started`` event → Acquired (with the
        stored fence)."""

    @abstractmethod
    async def _renew(self, claims: Sequence[Claim], until: float) -> set[str]: ...

    @abstractmethod
    async def _release(self, claim: Claim, result: TaskResult | None) -> None: ...

    @abstractmethod
    async def _finish(self, result: TaskResult, token: str | None, expires_at: float) -> bool:
        """Atomically: if a terminal result exists, or ``token`` is given and is not the
        current claim's token, return False; else store the result, drop the claim and
        the cancel flag, add a ``finished`` event, return True."""

    @abstractmethod
    async def _reopen(self, task_id: str) -> bool: ...

    @abstractmethod
    async def _bind_key(self, key: str, task_id: str, ttl: float) -> str: ...

    @abstractmethod
    async def _request_cancel(self, task_id: str, now: float) -> TaskResult | None:
        """Atomically: a terminal result → nothing; a known task without a live claim →
        write and return its ``cancelled`` result (as :meth:`_finish` does); else flag it
        for its worker and return None."""

    @abstractmethod
    async def _cancel_requested(self, task_ids: Collection[str]) -> set[str]: ...

    @abstractmethod
    async def _add_events(self, events: Sequence[TaskEvent]) -> None: ...

    @abstractmethod
    async def _events(self, task_id: str, after: int, limit: int) -> list[TaskEvent]: ...

    @abstractmethod
    async def _get_breaker(self, name: str) -> BreakerState | None: ...

    @abstractmethod
    async def _put_breaker(self, name: str, state: BreakerState) -> None: ...

    @abstractmethod
    async def _heartbeat(self, info: WorkerInfo, ttl: float) -> None: ...

    @abstractmethod
    async def _workers(self, now: float) -> list[WorkerInfo]: ...

    @abstractmethod
    async def _expire(self, now: float) -> int: ...


def replace_seen(info: WorkerInfo, now: float) -> WorkerInfo:
    return msgspec.structs.replace(info, seen_at=now)


def finished_event(result: TaskResult) -> TaskEvent:
    """The ``finished`` event a store appends with a terminal result."""
    data: dict[str, Any] = {"status": result.status.value}
    if result.error is not None:
        data["error"] = {"type": result.error.type, "message": result.error.message}
    return TaskEvent(task_id=result.id, type="finished", data=data, at=time.time())


def started_event(claim: Claim) -> TaskEvent:
    return TaskEvent(
        task_id=claim.task_id,
        type="started",
        data={"worker": claim.worker, "fence": claim.fence, "attempt": claim.attempt},
        at=time.time(),
    )


def running_result(previous: TaskResult | None, claim: Claim, now: float) -> TaskResult:
    """The ``running`` state recorded with a claim."""
    if previous is None:
        return TaskResult(
            id=claim.task_id,
            status=TaskStatus.RUNNING,
            attempts=claim.attempt,
            worker=claim.worker,
            timings=TaskTimings(started_at=now),
        )
    return replace_struct(
        previous,
        status=TaskStatus.RUNNING,
        attempts=claim.attempt or previous.attempts,
        worker=claim.worker,
        timings=replace_struct(previous.timings, started_at=now),
    )


def cancelled_result(previous: TaskResult | None, task_id: str, now: float) -> TaskResult:
    """The result of a task cancelled while nobody ran it."""
    from skilld.engine.task import TaskError

    base = previous or TaskResult(id=task_id, status=TaskStatus.CANCELLED)
    return replace_struct(
        base,
        status=TaskStatus.CANCELLED,
        error=TaskError("TaskCancelled", "cancelled before it ran"),
        timings=replace_struct(base.timings, finished_at=now),
    )


def replace_struct(obj: _S, **changes: Any) -> _S:
    return msgspec.structs.replace(obj, **changes)
