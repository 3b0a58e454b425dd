"""The worker, on every backend (one body; see conftest.BACKENDS)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

from skilld.engine.breaker import BreakerPolicy
from skilld.engine.brokers import Broker, open_broker
from skilld.engine.executor import EventSink, FunctionExecutor
from skilld.engine.operations import cancel, submit, submit_many
from skilld.engine.retry import RetryPolicy
from skilld.engine.stores import Store, open_store
from skilld.engine.task import SkillTask, TaskResult, TaskStatus
from skilld.engine.worker import Worker
from skilld.exceptions import ModelAPIError, Retry, SkillNotFoundError

FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)


def worker(broker: Broker, store: Store, fn: Any, **options: Any) -> Worker:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("heartbeat_s", 0)
    return Worker(broker, store, FunctionExecutor(fn), **options)


async def results(store: Store, ids: list[str], timeout: float = 10) -> list[TaskResult]:
    found = await asyncio.gather(*(store.wait(i, timeout) for i in ids))
    assert all(r is not None for r in found), "some tasks did not finish in time"
    return [r for r in found if r is not None]


async def test_runs_tasks_and_stores_results(broker: Broker, store: Store) -> None:
    tasks = [SkillTask(skill="upper", args=f"t{i}") for i in range(20)]
    async with worker(broker, store, lambda t: t.args.upper(), concurrency=4) as w:
        await submit_many(broker, store, tasks)
        done = await results(store, [t.id for t in tasks])
    assert [r.output for r in done] == [f"T{i}" for i in range(20)]
    assert {r.status for r in done} == {TaskStatus.SUCCEEDED}
    assert all(r.attempts == 1 and r.worker == w.id for r in done)
    assert all(r.timings.run_s is not None and r.timings.run_s >= 0 for r in done)
    assert w.stats.succeeded == 20
    assert await broker.depth() == 0


async def test_finished_task_delivered_again_is_acked_without_running(
    broker: Broker, store: Store
) -> None:
    calls: list[str] = []
    task = SkillTask(skill="s", args="dup")
    sentinel = SkillTask(skill="s", args="sentinel")
    await store.finish(TaskResult(id=task.id, status=TaskStatus.SUCCEEDED, output="first"))
    await submit(broker, store, task)
    await submit(broker, store, sentinel)
    async with worker(broker, store, lambda t: calls.append(t.args), concurrency=1) as w:
        await results(store, [sentinel.id])
    assert calls == ["sentinel"]
    assert w.stats.duplicates == 1
    assert (await store.get(task.id)) == TaskResult(
        id=task.id, status=TaskStatus.SUCCEEDED, output="first"
    )
    assert await broker.depth() == 0


async def test_transient_failure_is_retried(broker: Broker, store: Store) -> None:
    def flaky(task: SkillTask) -> str:
        if task.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "ok"

    task = SkillTask(skill="s")
    async with worker(broker, store, flaky):
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert (result.status, result.output, result.attempts) == (TaskStatus.SUCCEEDED, "ok", 2)
    retrying = [e for e in await store.events(task.id) if e.type == "retrying"]
    assert retrying[0].data["error"] == "first attempt fails"


async def test_retry_signal_delays_the_next_attempt(broker: Broker, store: Store) -> None:
    starts: list[float] = []

    def once_later(task: SkillTask) -> str:
        starts.append(time.monotonic())
        if task.attempt == 1:
            raise Retry(delay=0.3, reason="not yet")
        return "now"

    task = SkillTask(skill="s")
    async with worker(broker, store, once_later):
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.output == "now"
    assert starts[1] - starts[0] >= 0.29


async def test_poison_task_goes_dead_and_the_others_flow(broker: Broker, store: Store) -> None:
    calls: Counter[str] = Counter()

    def run(task: SkillTask) -> str:
        calls[task.skill] += 1
        if task.skill == "poison":
            raise ValueError("this task always breaks")
        return "fine"

    poison = SkillTask(skill="poison", max_attempts=3)
    good = [SkillTask(skill="good") for _ in range(30)]
    async with worker(broker, store, run, concurrency=5):
        await submit_many(broker, store, [poison, *good])
        done = await results(store, [t.id for t in good])
        [dead] = await results(store, [poison.id])
    assert {r.status for r in done} == {TaskStatus.SUCCEEDED}
    assert dead.status is TaskStatus.DEAD
    assert dead.error is not None
    assert (dead.error.type, dead.error.message) == ("ValueError", "this task always breaks")
    assert dead.attempts == 3
    assert calls == {"poison": 3, "good": 30}
    [letter] = await broker.dead_letters()
    assert (letter.task_id, letter.reason, letter.attempts) == (
        poison.id,
        "this task always breaks",
        3,
    )


async def test_replayed_dead_letter_runs_again(broker: Broker, store: Store) -> None:
    from skilld.engine.operations import replay_dead_letters

    healthy = False

    def run(task: SkillTask) -> str:
        if not healthy:
            raise RuntimeError("down")
        return "back"

    task = SkillTask(skill="s", max_attempts=1)
    async with worker(broker, store, run):
        await submit(broker, store, task)
        [dead] = await results(store, [task.id])
        assert dead.status is TaskStatus.DEAD
        healthy = True
        waiter = asyncio.create_task(store.wait(task.id, 0))  # the dead result, at once
        assert (await waiter) == dead
        # The worker stores the dead result, then dead-letters the message: on a remote
        # broker the letter lands a moment after the result is readable.
        async with asyncio.timeout(5):
            while await broker.dead_letter_count() == 0:
                await asyncio.sleep(0.01)
        assert [d.task_id for d in await replay_dead_letters(broker, store)] == [task.id]
        result = await _wait_status(store, task.id, TaskStatus.SUCCEEDED)
    assert result.output == "back"
    assert await broker.dead_letter_count() == 0


async def _wait_status(store: Store, task_id: str, status: TaskStatus) -> TaskResult:
    async def poll() -> TaskResult:
        offset, seen = 0, False
        while not seen:  # a replayed task has a "finished" event per life
            async for event in store.watch_events(task_id, after=offset):
                offset = event.offset
                seen = event.type == "finished" and event.data["status"] == status.value
        result = await store.get(task_id)
        assert result is not None
        return result

    return await asyncio.wait_for(poll(), 10)


async def test_errors_the_task_caused_fail_without_retry(broker: Broker, store: Store) -> None:
    calls = 0

    def run(task: SkillTask) -> None:
        nonlocal calls
        calls += 1
        raise SkillNotFoundError(task.skill, ["close-name"])

    task = SkillTask(skill="nope")
    async with worker(broker, store, run):
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.status is TaskStatus.FAILED
    assert result.error is not None
    assert "Did you mean close-name?" in result.error.message
    assert calls == 1
    assert await broker.dead_letter_count() == 0


async def test_malformed_message_is_dead_lettered_and_the_worker_goes_on(
    broker: Broker, store: Store
) -> None:
    await broker.publish_raw(b'{"skill": "x", "priority": "urgent"}')
    task = SkillTask(skill="s")
    async with worker(broker, store, lambda t: "ok"):
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.status is TaskStatus.SUCCEEDED
    [letter] = await broker.dead_letters()
    assert letter.error_type == "MalformedTaskError"
    assert "at `$.priority`" in letter.reason


async def test_cancel_stops_a_running_task_at_once(broker: Broker, store: Store) -> None:
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def forever(task: SkillTask) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    task = SkillTask(skill="s")
    async with worker(broker, store, forever):
        await submit(broker, store, task)
        await asyncio.wait_for(started.wait(), 5)
        await cancel(store, task.id)
        [result] = await results(store, [task.id], timeout=5)
    assert stopped.is_set()
    assert result.status is TaskStatus.CANCELLED
    assert await broker.depth() == 0


async def test_cancel_before_start_never_runs(broker: Broker, store: Store) -> None:
    calls: list[str] = []
    task = SkillTask(skill="s")
    await submit(broker, store, task)
    await cancel(store, task.id)
    async with worker(broker, store, lambda t: calls.append(t.id)):
        [result] = await results(store, [task.id])
    assert result.status is TaskStatus.CANCELLED
    assert calls == []


async def test_timeout_ends_the_attempt(broker: Broker, store: Store) -> None:
    async def slow(task: SkillTask) -> None:
        await asyncio.Event().wait()

    task = SkillTask(skill="s", timeout_s=0.1, max_attempts=1)
    async with worker(broker, store, slow):
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.status is TaskStatus.DEAD
    assert result.error is not None
    assert result.error.type == "TimeoutError"
    assert "longer than its timeout of 0.1s" in result.error.message


async def test_open_breaker_defers_instead_of_hammering(broker: Broker, store: Store) -> None:
    failures = 0
    healthy = False

    def model_call(task: SkillTask) -> str:
        nonlocal failures, healthy
        if not healthy:
            failures += 1
            if failures == 2:
                healthy = True  # the service recovers, but the breaker is open now
            raise ModelAPIError("overloaded", status=503)
        return "ok"

    tasks = [SkillTask(skill="flaky", max_attempts=10) for _ in range(4)]
    policy = BreakerPolicy(failure_threshold=2, open_s=0.3)
    async with worker(broker, store, model_call, concurrency=1, breaker=policy):
        await submit_many(broker, store, tasks)
        done = await results(store, [t.id for t in tasks])
    assert {r.status for r in done} == {TaskStatus.SUCCEEDED}
    assert failures == 2
    state = await store.get_breaker("skill:flaky")
    assert state is not None
    assert state.mode == "closed"
    deferred = [e for t in tasks for e in await store.events(t.id) if e.type == "deferred"]
    assert deferred, "tasks arriving while the breaker was open should have been deferred"


async def test_graceful_stop_hands_running_tasks_back(broker: Broker, store: Store) -> None:
    started = asyncio.Event()
    running = 0

    async def blocked(task: SkillTask) -> None:
        nonlocal running
        running += 1
        if running == 2:
            started.set()
        await asyncio.Event().wait()

    tasks = [SkillTask(skill="s") for _ in range(2)]
    await submit_many(broker, store, tasks)
    async with worker(broker, store, blocked, concurrency=2, shutdown_grace_s=0.05) as w:
        await asyncio.wait_for(started.wait(), 5)
    assert w.running == 0
    states = await store.get_many([t.id for t in tasks])
    assert {r.status for r in states.values()} == {TaskStatus.QUEUED}
    async with worker(broker, store, lambda t: "second life"):
        done = await results(store, [t.id for t in tasks])
    assert {r.output for r in done} == {"second life"}


async def test_long_task_keeps_its_lease(broker: Broker, store: Store) -> None:
    calls: Counter[str] = Counter()

    async def long(task: SkillTask) -> str:
        calls[task.id] += 1
        await asyncio.sleep(1.2)  # the long model call under test, longer than 2 leases
        return "done"

    task = SkillTask(skill="s")
    first = worker(broker, store, long, lease_s=0.5)
    second = worker(broker, store, long, lease_s=0.5)
    async with first, second:
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.output == "done"
    assert calls[task.id] == 1


async def test_holds_a_thousand_tasks_in_flight(broker: Broker, store: Store) -> None:
    n = 1000
    in_flight = 0
    all_in = asyncio.Event()
    release = asyncio.Event()

    async def wait_for_all(task: SkillTask) -> int:
        nonlocal in_flight
        in_flight += 1
        if in_flight == n:
            all_in.set()
        await release.wait()
        return 1

    tasks = [SkillTask(skill="s") for _ in range(n)]
    async with worker(broker, store, wait_for_all, concurrency=n, lease_s=60) as w:
        await submit_many(broker, store, tasks)
        await asyncio.wait_for(all_in.wait(), 30)
        assert w.running == n
        release.set()
        done = await results(store, [t.id for t in tasks], timeout=30)
    assert len(done) == n
    assert {r.status for r in done} == {TaskStatus.SUCCEEDED}


async def test_same_idempotency_key_shares_one_execution(broker: Broker, store: Store) -> None:
    calls = 0

    def run(task: SkillTask) -> str:
        nonlocal calls
        calls += 1
        return task.args

    first = SkillTask(skill="s", args="one", idempotency_key="order-7")
    second = SkillTask(skill="s", args="two", idempotency_key="order-7")
    other_tenant = SkillTask(skill="s", args="three", idempotency_key="order-7", tenant="b")
    async with worker(broker, store, run):
        subs = await submit_many(broker, store, [first, second, other_tenant])
        assert [(s.task_id, s.created) for s in subs] == [
            (first.id, True),
            (first.id, False),
            (other_tenant.id, True),
        ]
        done = await results(store, [first.id, other_tenant.id])
    assert [r.output for r in done] == ["one", "three"]
    assert calls == 2


async def test_progress_events_reach_the_store(broker: Broker, store: Store) -> None:
    async def reporting(task: SkillTask, events: EventSink) -> str:
        await events("progress", {"step": 1})
        return "ok"

    task = SkillTask(skill="s")
    async with worker(broker, store, reporting):
        await submit(broker, store, task)
        await results(store, [task.id])
    types = [e.type for e in await store.events(task.id)]
    assert types == ["queued", "started", "progress", "finished"]


async def test_heartbeats_name_the_worker(broker: Broker, store: Store) -> None:
    async with worker(broker, store, lambda t: None, heartbeat_s=0.05) as w:

        async def seen() -> None:
            while w.id not in {i.id for i in await store.workers()}:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(seen(), 5)
        [info] = await store.workers()
    assert info.concurrency == w.concurrency


async def test_task_past_its_deadline_is_not_started(broker: Broker, store: Store) -> None:
    calls: list[str] = []
    late = SkillTask(skill="s", deadline=time.time() - 1)
    async with worker(broker, store, lambda t: calls.append(t.id)):
        await submit(broker, store, late)
        [result] = await results(store, [late.id])
    assert result.status is TaskStatus.FAILED
    assert result.error is not None
    assert result.error.type == "DeadlineExceeded"
    assert calls == []


async def test_a_task_cancelling_itself_fails_like_any_error(broker: Broker, store: Store) -> None:
    async def self_cancelling(task: SkillTask) -> None:
        raise asyncio.CancelledError

    task = SkillTask(skill="s", max_attempts=1)
    async with worker(broker, store, self_cancelling) as w:
        await submit(broker, store, task)
        [result] = await results(store, [task.id])
    assert result.status is TaskStatus.DEAD
    assert result.error is not None
    assert "cancelled its own execution" in result.error.message
    assert w.running == 0


async def test_burst_worker_stops_when_everything_is_done(broker: Broker, store: Store) -> None:
    def flaky(task: SkillTask) -> str:
        if task.attempt == 1:
            raise RuntimeError("again")
        return "ok"

    tasks = [SkillTask(skill="s") for _ in range(5)]
    await submit_many(broker, store, tasks)
    w = worker(broker, store, flaky, burst=True)
    await asyncio.wait_for(w.run(), 20)  # returns by itself, retries included
    done = await store.get_many([t.id for t in tasks])
    assert {r.status for r in done.values()} == {TaskStatus.SUCCEEDED}
    assert w.stats.retried == 5


async def test_cancel_arriving_while_the_claim_is_written_is_not_lost() -> None:
    from skilld.engine.brokers.memory import MemoryBroker
    from skilld.engine.stores import ClaimOutcome
    from skilld.engine.stores.memory import MemoryStore

    class CancelDuringClaim(MemoryStore):
        async def claim(
            self, task_id: str, *, worker: str, lease_s: float, attempt: int = 0
        ) -> ClaimOutcome:
            outcome = await super().claim(task_id, worker=worker, lease_s=lease_s, attempt=attempt)
            await self.request_cancel(task_id)  # the worker has not registered the run yet
            return outcome

    async def forever(task: SkillTask) -> None:
        await asyncio.Event().wait()

    broker, store = MemoryBroker(), CancelDuringClaim()
    task = SkillTask(skill="s")
    async with worker(broker, store, forever, cancel_poll_s=0.02):
        await submit(broker, store, task)
        [result] = await results(store, [task.id], timeout=5)
    assert result.status is TaskStatus.CANCELLED


@pytest.mark.parametrize("pushed", [False, True])
async def test_cancel_arriving_while_the_claim_is_written_is_found_whether_pushed_or_not(
    pushed: bool,
) -> None:
    from skilld.engine.brokers.memory import MemoryBroker
    from skilld.engine.stores import ClaimOutcome
    from skilld.engine.stores.memory import MemoryStore

    class FlagDuringClaim(MemoryStore):
        """A cancellation from "another process": the flag is set while the claim is
        written, and no listener of this process hears of it."""

        @property
        def cancels_pushed(self) -> bool:
            return pushed

        async def claim(
            self, task_id: str, *, worker: str, lease_s: float, attempt: int = 0
        ) -> ClaimOutcome:
            outcome = await super().claim(task_id, worker=worker, lease_s=lease_s, attempt=attempt)
            listeners, self._cancel_listeners = self._cancel_listeners, []
            try:
                await self.request_cancel(task_id)
            finally:
                self._cancel_listeners = listeners
            return outcome

    async def forever(task: SkillTask) -> None:
        await asyncio.Event().wait()

    broker, store = MemoryBroker(), FlagDuringClaim()
    task = SkillTask(skill="s")
    async with worker(broker, store, forever, cancel_poll_s=0.02):
        await submit(broker, store, task)
        [result] = await results(store, [task.id], timeout=5)
    assert result.status is TaskStatus.CANCELLED


@pytest.mark.parametrize("pushed", [False, True])
async def test_a_store_that_pushes_cancels_is_asked_once_per_task(pushed: bool) -> None:
    from collections.abc import Collection

    from skilld.engine.brokers.memory import MemoryBroker
    from skilld.engine.stores.memory import MemoryStore

    asked: list[str] = []

    class Counting(MemoryStore):
        @property
        def cancels_pushed(self) -> bool:
            return pushed

        async def cancel_requested(self, task_ids: Collection[str]) -> set[str]:
            asked.extend(task_ids)
            return await super().cancel_requested(task_ids)

    started = asyncio.Event()

    async def slow(task: SkillTask) -> str:
        started.set()
        await asyncio.sleep(0.3)
        return "ok"

    broker, store = MemoryBroker(), Counting()
    task = SkillTask(skill="s")
    async with worker(broker, store, slow, cancel_poll_s=0.02):
        await submit(broker, store, task)
        [result] = await results(store, [task.id], timeout=5)
    assert result.status is TaskStatus.SUCCEEDED
    if pushed:
        assert asked == [task.id]
    else:
        assert asked.count(task.id) >= 5  # every round while it ran


async def _past_the_delivery_limit(broker: Broker, store: Store, tasks: list[SkillTask]) -> None:
    """Deliver ``tasks`` as often as the limit allows, each time to a "worker" that dies
    (it claims the task, then never settles the message)."""
    for turn in range(broker.max_deliveries):
        got: list[str] = []
        while len(got) < len(tasks):
            for delivery in await broker.fetch(len(tasks), timeout=3):
                assert delivery.delivery_count == turn + 1
                got.append(delivery.task.id)
                await store.claim(delivery.task.id, worker=f"killed-{turn}", lease_s=60)
        assert sorted(got) == sorted(t.id for t in tasks)


async def test_task_dead_lettered_by_the_delivery_limit_gets_a_dead_result(
    backend_urls: tuple[str, str],
) -> None:
    broker_url, store_url = backend_urls
    async with (
        open_broker(broker_url, visibility_timeout=0.1, max_deliveries=2) as broker,
        open_store(store_url) as store,
    ):
        task = SkillTask(skill="crasher")
        done = SkillTask(skill="crasher", args="finished before")
        await submit_many(broker, store, [task, done])
        await store.finish(TaskResult(id=done.id, status=TaskStatus.SUCCEEDED, output="kept"))
        await _past_the_delivery_limit(broker, store, [task, done])
        calls: list[str] = []
        async with worker(broker, store, lambda t: calls.append(t.args), concurrency=1) as w:
            result = await store.wait(task.id, 10)
            for _ in range(100):
                if await broker.dead_letter_count() == 2:
                    break
                await asyncio.sleep(0.05)  # polls the dead-letter count; no fixed wait
        assert calls == []
        assert result is not None
        assert (result.status, result.attempts, result.skill) == (TaskStatus.DEAD, 1, "crasher")
        assert result.error is not None
        assert result.error.type == "DeliveryLimitExceeded"
        assert "delivered 3 times" in result.error.message
        events = await store.events(task.id)
        assert events[-1].type == "finished"
        assert events[-1].data["status"] == "dead"
        # A finished result is never overwritten, not even by a dead letter.
        assert await store.get(done.id) == TaskResult(
            id=done.id, status=TaskStatus.SUCCEEDED, output="kept"
        )
        assert w.stats.dead == 2


async def test_malformed_message_with_a_valid_id_gets_a_dead_result(
    broker: Broker, store: Store
) -> None:
    await broker.publish_raw(b'{"id": "bad-1", "skill": "s", "priority": "high"}')
    await broker.publish_raw(b"[1, 2]")  # names no task: nothing to record
    async with worker(broker, store, lambda t: "ok") as w:
        result = await store.wait("bad-1", 10)
    assert result is not None
    assert result.status is TaskStatus.DEAD
    assert result.error is not None
    assert result.error.type == "MalformedTaskError"
    assert "at `$.priority`" in result.error.message
    assert [e.type for e in await store.events("bad-1")][-1] == "finished"
    assert w.stats.dead >= 1
