"""Producer operations: an idempotency key never strands its task."""

from __future__ import annotations

from skilld.engine.brokers import Broker
from skilld.engine.operations import submit
from skilld.engine.stores import Store
from skilld.engine.stores.base import Acquired
from skilld.engine.task import SkillTask, TaskStatus


async def test_a_key_bound_by_a_submission_that_died_before_publishing_still_runs(
    broker: Broker, store: Store
) -> None:
    # The first submission bound the key, then its process died: nothing recorded, nothing
    # published. A retry with the same key must queue the task under the bound id.
    await store.bind_idempotency_key(":k1", "first-id", ttl=60)
    retry = SkillTask(skill="s", args="a", idempotency_key="k1")
    submission = await submit(broker, store, retry)
    assert submission.task_id == "first-id"
    assert not submission.created
    (delivery,) = await broker.fetch(10, timeout=2)
    assert delivery.task.id == "first-id"
    result = await store.get("first-id")
    assert result is not None
    assert result.status is TaskStatus.QUEUED


async def test_a_duplicate_of_a_running_task_publishes_nothing(
    broker: Broker, store: Store
) -> None:
    first = await submit(broker, store, SkillTask(skill="s", idempotency_key="k2"))
    (delivery,) = await broker.fetch(10, timeout=2)
    outcome = await store.claim(first.task_id, worker="w", lease_s=30)
    assert isinstance(outcome, Acquired)
    again = await submit(broker, store, SkillTask(skill="s", idempotency_key="k2"))
    assert again.task_id == first.task_id
    assert not again.created
    await broker.ack(delivery)
    assert await broker.fetch(10, timeout=0.2) == []
