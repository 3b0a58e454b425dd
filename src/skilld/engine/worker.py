"""The worker: fetch tasks, claim them, run them, store the result, ack.

One asyncio process holds up to ``concurrency`` tasks at once (thousands: a task waiting on
a model costs a coroutine, not a thread). For each delivery::

    claim the task id ─┬─ finished already ──────────────► ack (never run twice)
                       ├─ held by a live lease elsewhere ─► defer until the lease ends
                       └─ ours ─► circuit breaker ─┬─ open ──► defer (until the deadline)
                                                   └─ closed / probe ─► run under timeout
    run ─┬─ output ─────────────────► store result (fenced) ─► ack
         ├─ cancelled ──────────────► store ``cancelled`` ─► ack
         └─ error ─► retry policy ─┬─ retry ─► back on the queue after a delay
                                   ├─ dead ──► store ``dead`` ─► dead-letter queue
                                   └─ fail ──► store ``failed`` ─► ack

A message the broker dead-letters while fetching (malformed, or delivered more than
``max_deliveries`` times: it keeps killing the workers that run it) never reaches a
handler; the worker stores a ``dead`` result for it (and so its ``finished`` event), so a
client waiting on the task sees it end. A malformed message without a valid ``id`` names
no task: there is nothing to record, only the dead letter.

While tasks run, one loop renews all their claims and broker leases in a batch (a
10-minute model call is never handed to a second worker), another asks the store about
cancellations made in other processes, a third writes the heartbeat. :meth:`Worker.stop`
(SIGTERM) stops fetching, lets running tasks finish within the grace period and hands the
rest back to the queue unchanged: nothing is lost, and a task cut off is run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from skilld.engine import defaults
from skilld.engine.breaker import (
    CLOSED,
    Admission,
    BreakerPolicy,
    BreakerState,
    counts_as_failure,
    retry_after_of,
)
from skilld.engine.brokers.base import Broker, DeadLetter, Delivery
from skilld.engine.executor import Executor, Outcome
from skilld.engine.retry import RetryPolicy
from skilld.engine.stores.base import Acquired, Busy, Claim, Finished, Store, WorkerInfo
from skilld.engine.task import (
    SkillTask,
    TaskError,
    TaskResult,
    TaskStatus,
    TaskTimings,
    TaskUsage,
)
from skilld.engine.urls import redact
from skilld.exceptions import MalformedTaskError

__all__ = ["Worker", "WorkerStats"]

log = logging.getLogger("skilld.worker")


@dataclass(slots=True)
class WorkerStats:
    """Counts since the worker started (one task may count in several: retried, then
    succeeded)."""

    received: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    deferred: int = 0
    duplicates: int = 0  # deliveries of tasks that were already finished

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True, eq=False)
class _Running:
    delivery: Delivery
    claim: Claim
    execution: asyncio.Task[Outcome] | None = None
    cancel_requested: bool = False
    lease_lost: bool = False

    def stopped_by_request(self) -> bool:
        """Whether a cancellation was requested (read through a call: the flag changes
        while the handler awaits, which a type checker's narrowing cannot see)."""
        return self.cancel_requested


class _Breakers:
    """The worker's view of the shared breaker states, refreshed from the store at most
    every ``sync_s`` seconds and written back when they change."""

    def __init__(
        self, store: Store, policy: BreakerPolicy, *, sync_s: float, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._policy = policy
        self._sync_s = sync_s
        self._clock = clock
        self._states: dict[str, tuple[BreakerState, float]] = {}

    async def _get(self, key: str, now: float) -> BreakerState:
        cached = self._states.get(key)
        if cached is not None and now - cached[1] < self._sync_s:
            return cached[0]
        state = await self._store.get_breaker(key) or CLOSED
        self._states[key] = (state, now)
        return state

    async def _put(self, key: str, old: BreakerState, new: BreakerState, now: float) -> None:
        self._states[key] = (new, now)
        if new != old:
            await self._store.put_breaker(key, new)

    async def admit(self, keys: tuple[str, ...]) -> Admission:
        now = self._clock()
        for key in keys:
            state = await self._get(key, now)
            admission, new = self._policy.admit(state, now)
            await self._put(key, state, new, now)
            if not admission.allowed:
                return admission
        return Admission(True)

    async def record(self, keys: tuple[str, ...], exc: BaseException | None) -> None:
        """Count a run: success (``exc`` None), a failure of the service, or neither
        (a cancellation, an error the task itself caused)."""
        now = self._clock()
        for key in keys:
            state = await self._get(key, now)
            if exc is None:
                new = self._policy.record_success(state, now)
            elif counts_as_failure(exc):
                new = self._policy.record_failure(state, now, retry_after=retry_after_of(exc))
            else:
                new = self._policy.record_neutral(state, now)
            await self._put(key, state, new, now)


class Worker:
    """Runs tasks from ``broker`` with ``executor``, keeping results in ``store``.

    Args:
        broker / store / executor: where tasks come from, where results go, what runs them.
        concurrency: tasks run at once (and leased at most: no task waits in this process
            behind a busy slot while another worker is idle).
        worker_id: how this worker names itself in claims and heartbeats (default:
            ``host:pid:random``).
        lease_s: claim lease; renewed every third of it (or of the broker's visibility
            timeout, if shorter) while a task runs.
        retry: the retry policy (backoff, jitter, cap).
        breaker: the circuit-breaker policy (per skill, and per model for fork tasks).
        breaker_sync_s: how stale this worker's copy of a shared breaker may get.
        default_model: the model fork tasks without one run on (names their breaker).
        fetch_batch: most tasks leased per fetch.
        heartbeat_s: heartbeat period (0 turns heartbeats off).
        cancel_poll_s: how often to ask the store about cancellations made elsewhere.
        shutdown_grace_s: how long :meth:`stop` lets running tasks finish.
        burst: stop by itself once nothing is queued, delayed or running.
        expire_every_s: how often this worker sweeps expired results, keys and
            heartbeats out of the store (0: never).
        rand / clock: injected randomness (retry jitter) and wall clock.
    """

    def __init__(
        self,
        broker: Broker,
        store: Store,
        executor: Executor,
        *,
        concurrency: int = defaults.CONCURRENCY,
        worker_id: str | None = None,
        lease_s: float = defaults.LEASE_S,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        breaker_sync_s: float = 1.0,
        default_model: str | None = None,
        fetch_batch: int = 256,
        heartbeat_s: float = defaults.HEARTBEAT_S,
        cancel_poll_s: float = defaults.CANCEL_POLL_S,
        shutdown_grace_s: float = defaults.SHUTDOWN_GRACE_S,
        expire_every_s: float = defaults.EXPIRE_EVERY_S,
        burst: bool = False,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if concurrency < 1:
            raise ValueError("a worker needs concurrency >= 1")
        self.broker = broker
        self.store = store
        self.executor = executor
        self.concurrency = concurrency
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = lease_s
        self.retry = retry or RetryPolicy()
        self.default_model = default_model or getattr(executor, "default_model", None)
        self.fetch_batch = fetch_batch
        self.heartbeat_s = heartbeat_s
        self.cancel_poll_s = cancel_poll_s
        self.shutdown_grace_s = shutdown_grace_s
        self.expire_every_s = expire_every_s
        self.burst = burst
        self.stats = WorkerStats()
        self._rand = rand
        self._clock = clock
        self._breakers = _Breakers(
            store, breaker or BreakerPolicy(), sync_s=breaker_sync_s, clock=clock
        )
        self._running: dict[str, _Running] = {}
        # Claimed since the last cancellation check (see _cancel_loop).
        self._unchecked: set[str] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._started_at = 0.0

    # -- public ----------------------------------------------------------------------

    @property
    def running(self) -> int:
        """Tasks being handled right now."""
        return len(self._handlers)

    async def run(self) -> None:
        """Fetch and run tasks until :meth:`stop`; then shut down gracefully."""
        await self.broker.connect()
        await self.store.connect()
        self._started_at = self._clock()
        remove_listener = self.store.add_cancel_listener(self._cancel_local)
        loops = [
            asyncio.create_task(self._renew_loop(), name="skilld-renew"),
            # Also with in-process notification: a cancellation that arrives while a claim
            # is being written is only found in the store.
            asyncio.create_task(self._cancel_loop(), name="skilld-cancel"),
        ]
        if self.heartbeat_s > 0:
            loops.append(asyncio.create_task(self._heartbeat_loop(), name="skilld-heartbeat"))
        if self.expire_every_s > 0:
            loops.append(asyncio.create_task(self._expire_loop(), name="skilld-expire"))
        self._started.set()
        try:
            await self._fetch_loop()
        finally:
            try:
                await self._drain()
            finally:
                remove_listener()
                for loop in loops:
                    loop.cancel()
                await asyncio.gather(*loops, return_exceptions=True)

    def stop(self) -> None:
        """Stop taking work; :meth:`run` returns once running tasks are settled."""
        self._stopping.set()

    async def cancel(self, task_id: str) -> bool:
        """Cancel a task running in this worker at once; False if it does not run here."""
        return self._cancel_local(task_id)

    async def __aenter__(self) -> Worker:
        self._runner = asyncio.create_task(self.run(), name=f"skilld-worker:{self.id}")
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._runner, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._runner.done():
            self._runner.result()  # raises what made it fail
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
        if self._runner is not None:
            await self._runner

    # -- the loops -------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        while not self._stopping.is_set():
            free = self.concurrency - len(self._handlers)
            if free <= 0:
                self._slot_free.clear()
                await _first(self._slot_free.wait(), self._stopping.wait())
                continue
            try:
                received = await self.broker.receive(min(free, self.fetch_batch), timeout=0.2)
            except Exception:
                log.exception(
                    "worker %s: fetching from %s failed", self.id, redact(self.broker.url)
                )
                await _first(asyncio.sleep(1.0), self._stopping.wait())
                continue
            deliveries = received.deliveries
            if received.dead:
                await self._record_dead_letters(received.dead)
            if self._stopping.is_set():
                await self.broker.release(deliveries)  # fetched after stop(): hand back
                return
            if not deliveries and self.burst and not self._handlers:
                if await self.broker.depth() == 0:
                    self.stop()  # burst mode: nothing waiting (retries included), done
                continue
            for delivery in deliveries:
                self.stats.received += 1
                handler = asyncio.create_task(self._handle(delivery))
                self._handlers.add(handler)
                handler.add_done_callback(self._handler_done)

    async def _record_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Store a ``dead`` result for each message the broker dead-lettered while
        fetching, when its task id is known (see the module docstring)."""
        for letter in letters:
            self.stats.dead += 1
            if letter.task_id is None:
                continue  # malformed beyond naming a task: nobody can be waiting on it
            try:
                await self._record_dead(letter, letter.task_id)
            except Exception:
                log.exception(
                    "worker %s: recording the dead letter of %s failed", self.id, letter.task_id
                )

    async def _record_dead(self, letter: DeadLetter, task_id: str) -> None:
        try:
            task: SkillTask | None = letter.task()
        except MalformedTaskError:
            task = None
            current = await self.store.get(task_id)
            if current is not None and current.status is TaskStatus.RUNNING:
                # A well-formed message of the same id runs somewhere: its worker writes
                # the result, which this malformed copy must not pre-empt.
                return
        result = TaskResult(
            id=task_id,
            status=TaskStatus.DEAD,
            skill=letter.skill,
            error=TaskError(letter.error_type, letter.reason),
            attempts=letter.attempts,
            worker=self.id,
            timings=TaskTimings(
                created_at=None if task is None else task.created_at,
                finished_at=self._clock(),
            ),
            skill_version=None if task is None else task.skill_version,
        )
        # Not fenced by a claim: the claim still held is most likely the one of the worker
        # this task killed. A terminal result already written is kept (finish refuses).
        if not await self.store.finish(result):
            log.info("worker %s: %s already had a result; kept it", self.id, task_id)

    def _handler_done(self, handler: asyncio.Task[None]) -> None:
        self._handlers.discard(handler)
        self._slot_free.set()
        if not handler.cancelled() and handler.exception() is not None:
            log.error("worker %s: handler crashed", self.id, exc_info=handler.exception())

    async def _drain(self) -> None:
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=self.shutdown_grace_s)
        leftover = set(self._handlers)
        for handler in leftover:
            handler.cancel()  # each hands its task back to the queue
        if leftover:
            await asyncio.gather(*leftover, return_exceptions=True)

    async def _renew_loop(self) -> None:
        visibility = getattr(self.broker, "visibility_timeout", self.lease_s)
        period = min(self.lease_s, visibility) / 3
        while True:
            await asyncio.sleep(period)
            running = list(self._running.values())
            if not running:
                continue
            try:
                lost = await self.store.renew([r.claim for r in running], self.lease_s)
                await self.broker.extend([r.delivery for r in running], visibility)
            except Exception:
                log.exception("worker %s: renewing leases failed", self.id)
                continue
            lost_ids = {c.task_id for c in lost}
            for run in running:
                # A task that finished while the renewal was under way has no claim any
                # more: that is not a lost lease.
                finished = run.execution is not None and run.execution.done()
                if run.claim.task_id in lost_ids and not finished:
                    log.warning("worker %s: lost the lease on %s", self.id, run.claim.task_id)
                    run.lease_lost = True
                    if run.execution is not None:
                        run.execution.cancel()

    async def _cancel_loop(self) -> None:
        """Ask the store which running tasks are flagged for cancellation.

        Where the store pushes cancellations made in other processes
        (:attr:`Store.cancels_pushed`), each task is asked about once, after it was
        registered as running: a push that arrived while its claim was being written
        found nothing to stop, and the flag it left is found here. Otherwise every
        running task is asked about on every round.
        """
        while True:
            await asyncio.sleep(self.cancel_poll_s)
            if not self._running:
                continue
            if self.store.cancels_pushed:
                asked, self._unchecked = self._unchecked, set()
                asked &= self._running.keys()
            else:
                asked = set(self._running)
                self._unchecked.clear()
            if not asked:
                continue
            try:
                flagged = await self.store.cancel_requested(asked)
            except Exception:
                log.exception("worker %s: polling cancellations failed", self.id)
                self._unchecked |= asked & self._running.keys()
                continue
            for task_id in flagged:
                self._cancel_local(task_id)

    async def _heartbeat_loop(self) -> None:
        while True:
            info = WorkerInfo(
                id=self.id,
                host=socket.gethostname(),
                pid=os.getpid(),
                concurrency=self.concurrency,
                running=len(self._handlers),
                processed=self.stats.succeeded + self.stats.failed + self.stats.dead,
                started_at=self._started_at,
            )
            try:
                await self.store.heartbeat(info, ttl=3 * self.heartbeat_s)
            except Exception:
                log.exception("worker %s: heartbeat failed", self.id)
            await asyncio.sleep(self.heartbeat_s)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(self.expire_every_s)
            try:
                await self.store.expire()
            except Exception:
                log.exception("worker %s: sweeping expired entries failed", self.id)

    def _cancel_local(self, task_id: str) -> bool:
        run = self._running.get(task_id)
        if run is None:
            return False
        run.cancel_requested = True  # honoured before the execution starts, if it has not
        if run.execution is not None:
            run.execution.cancel()
        return True

    # -- one delivery ------------------------------------------------------------------

    async def _handle(self, delivery: Delivery) -> None:
        task = delivery.task
        try:
            outcome = await self.store.claim(
                task.id, worker=self.id, lease_s=self.lease_s, attempt=task.attempt
            )
        except asyncio.CancelledError:
            await _shielded(self.broker.release([delivery]))
            raise
        except Exception:
            log.exception("worker %s: claiming %s failed; handing it back", self.id, task.id)
            await _shielded(self.broker.release([delivery]))
            return
        if isinstance(outcome, Finished):
            self.stats.duplicates += 1
            await self.broker.ack(delivery)
            return
        if isinstance(outcome, Busy):
            self.stats.deferred += 1
            await self.broker.defer(delivery, delay=max(0.05, outcome.expires_at - self._clock()))
            return
        assert isinstance(outcome, Acquired)
        run = _Running(delivery, outcome.claim)
        self._running[task.id] = run
        self._unchecked.add(task.id)
        try:
            await self._run_claimed(task, run)
        except asyncio.CancelledError:
            # Shutdown: hand the task back unchanged; it runs again elsewhere.
            await _shielded(self._hand_back(task, run))
            raise
        finally:
            self._running.pop(task.id, None)
            self._unchecked.discard(task.id)

    async def _hand_back(self, task: SkillTask, run: _Running) -> None:
        await self.store.release(run.claim, result=self._queued(task, None))
        await self.broker.release([run.delivery])

    async def _run_claimed(self, task: SkillTask, run: _Running) -> None:
        started = self._clock()
        if task.deadline is not None and started > task.deadline:
            error = TaskError("DeadlineExceeded", "the task's deadline passed before it started")
            await self._settle(task, run, TaskStatus.FAILED, started, error=error)
            return
        keys = self._breaker_keys(task)
        admission = await self._breakers.admit(keys)
        if not admission.allowed:
            await self._defer_for_breaker(task, run, admission)
            return

        if run.cancel_requested:
            self.stats.cancelled += 1
            await self._breakers.record(keys, asyncio.CancelledError())
            error = TaskError("TaskCancelled", "cancelled before it ran")
            await self._settle(task, run, TaskStatus.CANCELLED, started, error=error)
            return
        events = _Events(self.store, task.id)
        run.execution = asyncio.create_task(self.executor.execute(task, events=events))
        try:
            async with asyncio.timeout(task.timeout_s):
                result = await run.execution
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the worker is shutting down
            if run.lease_lost:
                return  # another worker owns the task now; it writes the result
            if run.stopped_by_request():
                self.stats.cancelled += 1
                await self._breakers.record(keys, asyncio.CancelledError())
                error = TaskError("TaskCancelled", "cancelled while running")
                await self._settle(task, run, TaskStatus.CANCELLED, started, error=error)
                return
            # Cancelled from inside (the skill's own code): a failure like any other.
            inner = RuntimeError("the task's code cancelled its own execution")
            await self._breakers.record(keys, inner)
            await self._failed(task, run, inner, started)
            return
        except TimeoutError as exc:
            timeout = TimeoutError(
                f"the attempt ran longer than its timeout of {task.timeout_s:g}s"
            )
            await self._breakers.record(keys, exc)
            await self._failed(task, run, timeout, started)
            return
        except Exception as exc:
            await self._breakers.record(keys, exc)
            await self._failed(task, run, exc, started)
            return
        await self._breakers.record(keys, None)
        self.stats.succeeded += 1
        await self._settle(task, run, TaskStatus.SUCCEEDED, started, outcome=result)

    def _breaker_keys(self, task: SkillTask) -> tuple[str, ...]:
        if task.mode == "fork":
            model = task.model or self.default_model
            if model:
                return (f"skill:{task.skill}", f"model:{model}")
        return (f"skill:{task.skill}",)

    async def _defer_for_breaker(
        self, task: SkillTask, run: _Running, admission: Admission
    ) -> None:
        now = self._clock()
        if task.deadline is not None and admission.retry_at > task.deadline:
            error = TaskError(
                "CircuitOpen",
                f"the circuit breaker of {task.skill} stayed open past the task's deadline",
            )
            await self._settle(task, run, TaskStatus.FAILED, now, error=error)
            return
        self.stats.deferred += 1
        delay = max(0.0, admission.retry_at - now)
        await self.store.release(run.claim, result=self._queued(task, None))
        await self.store.add_event(task.id, "deferred", {"reason": "circuit open", "delay": delay})
        await self.broker.defer(run.delivery, delay=delay)

    async def _failed(
        self, task: SkillTask, run: _Running, exc: BaseException, started: float
    ) -> None:
        error = TaskError.from_exception(exc)
        decision = self.retry.decide(task, exc, rand=self._rand)
        if decision.action == "retry":
            self.stats.retried += 1
            await self.store.release(run.claim, result=self._queued(task, error))
            await self.store.add_event(
                task.id,
                "retrying",
                {"attempt": task.attempt, "delay": decision.delay, "error": error.message},
            )
            await self.broker.retry(run.delivery, delay=decision.delay)
            return
        if decision.action == "dead":
            self.stats.dead += 1
            written = await self._store_result(task, run, TaskStatus.DEAD, started, error=error)
            if written:
                await self.broker.dead_letter(run.delivery, error=error)
            else:
                await self.broker.ack(run.delivery)
            return
        self.stats.failed += 1
        await self._settle(task, run, TaskStatus.FAILED, started, error=error)

    async def _settle(
        self,
        task: SkillTask,
        run: _Running,
        status: TaskStatus,
        started: float,
        *,
        outcome: Outcome | None = None,
        error: TaskError | None = None,
    ) -> None:
        """Store the terminal result, then ack (a result that cannot be stored is not
        acked: the message comes back and the task runs again)."""
        await self._store_result(task, run, status, started, outcome=outcome, error=error)
        await self.broker.ack(run.delivery)

    async def _store_result(
        self,
        task: SkillTask,
        run: _Running,
        status: TaskStatus,
        started: float,
        *,
        outcome: Outcome | None = None,
        error: TaskError | None = None,
    ) -> bool:
        result = TaskResult(
            id=task.id,
            status=status,
            skill=task.skill,
            output=None if outcome is None else outcome.output,
            error=error,
            attempts=task.attempt,
            worker=self.id,
            timings=TaskTimings(
                created_at=task.created_at, started_at=started, finished_at=self._clock()
            ),
            usage=TaskUsage() if outcome is None else outcome.usage,
            skill_version=task.skill_version if outcome is None else outcome.skill_version,
        )
        written = await self.store.finish(result, claim=run.claim)
        if not written:
            log.info("worker %s: result of %s was already written; kept it", self.id, task.id)
        return written

    def _queued(self, task: SkillTask, error: TaskError | None) -> TaskResult:
        return TaskResult(
            id=task.id,
            status=TaskStatus.QUEUED,
            skill=task.skill,
            error=error,
            attempts=task.attempt,
            timings=TaskTimings(created_at=task.created_at),
            skill_version=task.skill_version,
        )


@dataclass(slots=True)
class _Events:
    """The :class:`~skilld.engine.executor.EventSink` of one task."""

    store: Store
    task_id: str
    sent: int = field(default=0)

    async def __call__(self, type: str, data: dict[str, Any] | None = None) -> None:
        self.sent += 1
        await self.store.add_event(self.task_id, type, data)


async def _first(*aws: Any) -> None:
    """Wait for the first of several awaitables; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _shielded(aw: Any) -> None:
    """Run a clean-up step even while being cancelled; log (never raise) its failure."""
    with contextlib.suppress(asyncio.CancelledError):
        try:
            await asyncio.shield(aw)
        except Exception:
            log.exception("clean-up step failed")
