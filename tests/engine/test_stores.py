"""One body, every store backend (see conftest.BACKENDS)."""

from __future__ import annotations

import asyncio

import pytest

from skilld.engine.breaker import BreakerState
from skilld.engine.stores import Acquired, Busy, Finished, Store, WorkerInfo
from skilld.engine.task import SkillTask, TaskResult, TaskStatus


def done(
    task_id: str, output: str = "out", status: TaskStatus = TaskStatus.SUCCEEDED
) -> TaskResult:
    return TaskResult(id=task_id, status=status, output=output)


async def test_queued_then_running_then_finished(store: Store) -> None:
    task = SkillTask(skill="s")
    await store.mark_queued([task])
    queued = await store.get(task.id)
    assert queued is not None
    assert queued.status is TaskStatus.QUEUED
    assert queued.skill == "s"
    outcome = await store.claim(task.id, worker="w1", lease_s=30)
    assert isinstance(outcome, Acquired)
    assert outcome.claim.fence == 1
    running = await store.get(task.id)
    assert running is not None
    assert running.status is TaskStatus.RUNNING
    assert running.worker == "w1"
    assert await store.finish(done(task.id), claim=outcome.claim)
    assert await store.get(task.id) == done(task.id)
    assert [e.type for e in await store.events(task.id)] == ["queued", "started", "finished"]


async def test_a_finished_result_is_never_overwritten(store: Store) -> None:
    assert await store.finish(done("t", "first"))
    assert not await store.finish(done("t", "second"))
    assert not await store.finish(done("t", "third", TaskStatus.FAILED))
    assert (await store.get("t")) == done("t", "first")
    outcome = await store.claim("t", worker="w", lease_s=30)
    assert isinstance(outcome, Finished)
    assert outcome.result.output == "first"


async def test_mark_queued_never_resets_a_result(store: Store) -> None:
    await store.finish(done("t"))
    await store.mark_queued([SkillTask(skill="s", id="t")])
    assert (await store.get("t")) == done("t")


async def test_a_live_claim_makes_others_wait(store: Store) -> None:
    first = await store.claim("t", worker="w1", lease_s=30)
    assert isinstance(first, Acquired)
    second = await store.claim("t", worker="w2", lease_s=30)
    assert isinstance(second, Busy)
    assert second.holder == "w1"


async def test_fencing_stops_an_expired_holder(store: Store) -> None:
    old = await store.claim("t", worker="w1", lease_s=-1.0)  # a lease that ran out
    assert isinstance(old, Acquired)
    new = await store.claim("t", worker="w2", lease_s=30)
    assert isinstance(new, Acquired)
    assert new.claim.fence == old.claim.fence + 1
    assert await store.renew([old.claim, new.claim], 30) == [old.claim]
    assert not await store.finish(done("t", "stale"), claim=old.claim)
    assert await store.finish(done("t", "fresh"), claim=new.claim)
    assert (await store.get("t")) == done("t", "fresh")


async def test_release_lets_the_next_attempt_claim(store: Store) -> None:
    first = await store.claim("t", worker="w1", lease_s=30)
    assert isinstance(first, Acquired)
    queued = TaskResult(id="t", status=TaskStatus.QUEUED, attempts=1)
    await store.release(first.claim, result=queued)
    assert (await store.get("t")) == queued
    again = await store.claim("t", worker="w2", lease_s=30)
    assert isinstance(again, Acquired)
    assert again.claim.fence == 2


async def test_wait_is_woken_by_finish(store: Store) -> None:
    waiter = asyncio.create_task(store.wait("t", timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    await store.finish(done("t"))
    assert await asyncio.wait_for(waiter, 2) == done("t")


async def test_wait_times_out_with_none(store: Store) -> None:
    await store.mark_queued([SkillTask(skill="s", id="t")])
    assert await store.wait("t", timeout=0.05) is None


async def test_cancel_of_a_queued_task_finishes_it_at_once(store: Store) -> None:
    await store.mark_queued([SkillTask(skill="s", id="t")])
    waiter = asyncio.create_task(store.wait("t", timeout=5))
    await asyncio.sleep(0)
    current = await store.request_cancel("t")
    assert current is not None
    assert current.status is TaskStatus.CANCELLED
    assert (await asyncio.wait_for(waiter, 2)) == current
    outcome = await store.claim("t", worker="w", lease_s=30)
    assert isinstance(outcome, Finished)
    assert outcome.result.status is TaskStatus.CANCELLED
    assert [e.type for e in await store.events("t")] == ["queued", "finished"]


async def test_cancel_of_a_running_task_flags_it_for_its_worker(store: Store) -> None:
    await store.mark_queued([SkillTask(skill="s", id="t")])
    claimed = await store.claim("t", worker="w", lease_s=30)
    assert isinstance(claimed, Acquired)
    heard: list[str] = []
    remove = store.add_cancel_listener(heard.append)
    current = await store.request_cancel("t")
    remove()
    assert heard == ["t"]
    assert current is not None
    assert current.status is TaskStatus.RUNNING
    assert await store.cancel_requested(["t", "other"]) == {"t"}
    cancelled = TaskResult(id="t", status=TaskStatus.CANCELLED)
    assert await store.finish(cancelled, claim=claimed.claim)
    assert await store.cancel_requested(["t"]) == set()


async def test_cancel_flag_set_before_a_claim_is_honoured_at_claim(store: Store) -> None:
    await store.request_cancel("unknown-yet")  # no result yet: only flagged
    assert await store.cancel_requested(["unknown-yet"]) == {"unknown-yet"}
    outcome = await store.claim("unknown-yet", worker="w", lease_s=30)
    assert isinstance(outcome, Finished)
    assert outcome.result.status is TaskStatus.CANCELLED


async def test_cancel_of_a_finished_task_changes_nothing(store: Store) -> None:
    await store.finish(done("t"))
    await store.request_cancel("t")
    assert await store.cancel_requested(["t"]) == set()


async def test_idempotency_key_binds_to_the_first_task(store: Store) -> None:
    assert await store.bind_idempotency_key("k", "a", ttl=60) == "a"
    assert await store.bind_idempotency_key("k", "b", ttl=60) == "a"
    assert await store.bind_idempotency_key("other", "b", ttl=60) == "b"


async def test_expired_idempotency_key_can_be_bound_again(store: Store) -> None:
    assert await store.bind_idempotency_key("k", "a", ttl=0.0) == "a"
    assert await store.bind_idempotency_key("k", "b", ttl=60) == "b"


async def test_events_replay_from_an_offset_and_follow(store: Store) -> None:
    await store.mark_queued([SkillTask(skill="s", id="t")])
    await store.add_event("t", "progress", {"pct": 50})
    assert [(e.offset, e.type) for e in await store.events("t", after=1)] == [(2, "progress")]

    async def follow() -> list[str]:
        return [e.type async for e in store.watch_events("t", after=1)]

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0)
    await store.add_event("t", "tool_use", {"name": "Bash"})
    await store.finish(done("t"))
    assert await asyncio.wait_for(watcher, 5) == ["progress", "tool_use", "finished"]
    finished = (await store.events("t"))[-1]
    assert finished.data == {"status": "succeeded"}


async def test_breaker_state_round_trip(store: Store) -> None:
    assert await store.get_breaker("skill:s") is None
    state = BreakerState(mode="open", failures=5, opened_at=1.0, retry_at=31.0)
    await store.put_breaker("skill:s", state)
    assert await store.get_breaker("skill:s") == state


async def test_heartbeats_expire(store: Store) -> None:
    await store.heartbeat(WorkerInfo(id="w1", concurrency=10), ttl=60)
    await store.heartbeat(WorkerInfo(id="w2"), ttl=0.0)
    workers = await store.workers()
    assert [w.id for w in workers] == ["w1"]
    assert workers[0].seen_at > 0
    assert await store.expire() == 1


async def test_reopen_turns_dead_back_into_queued_only(store: Store) -> None:
    await store.finish(done("dead", status=TaskStatus.DEAD))
    await store.finish(done("ok"))
    assert await store.reopen("dead")
    assert not await store.reopen("ok")
    reopened = await store.get("dead")
    assert reopened is not None
    assert reopened.status is TaskStatus.QUEUED
    assert isinstance(await store.claim("dead", worker="w", lease_s=30), Acquired)


async def test_results_expire_after_their_ttl(store: Store) -> None:
    store.result_ttl = 0.0
    await store.finish(done("t"))
    assert await store.get("t") is None
    assert await store.finished(["t"]) == [False]  # gone, even before the sweep
    assert await store.expire() >= 1
    assert await store.finished(["t"]) == [False]


async def test_finish_needs_a_terminal_status(store: Store) -> None:
    with pytest.raises(ValueError, match="terminal"):
        await store.finish(TaskResult(id="t", status=TaskStatus.RUNNING))


async def test_finished_says_which_tasks_have_a_terminal_result(store: Store) -> None:
    queued, running, succeeded, failed, dead = (SkillTask(skill="s") for _ in range(5))
    await store.mark_queued([queued, running, succeeded, failed, dead])
    claim = await store.claim(running.id, worker="w", lease_s=30)
    assert isinstance(claim, Acquired)
    await store.finish(done(succeeded.id))
    await store.finish(done(failed.id, status=TaskStatus.FAILED))
    await store.finish(done(dead.id, status=TaskStatus.DEAD))
    ids = [queued.id, "unknown", running.id, succeeded.id, failed.id, dead.id]
    assert await store.finished(ids) == [False, False, False, True, True, True]
    # The same answer get_many gives, without the results.
    found = await store.get_many(ids)
    assert await store.finished(ids) == [i in found and found[i].terminal for i in ids]
    assert await store.reopen(dead.id)  # dead -> queued: no longer finished
    assert await store.finished([dead.id, succeeded.id]) == [False, True]
    assert await store.finished([]) == []


async def test_finished_answers_for_thousands_of_ids_in_order(store: Store) -> None:
    tasks = [SkillTask(skill="s") for _ in range(2500)]
    await store.mark_queued(tasks)
    for task in tasks[::7]:
        await store.finish(done(task.id))
    expected = [i % 7 == 0 for i in range(2500)]
    assert await store.finished([t.id for t in tasks]) == expected
