"""What a producer does with a broker and a store: submit, cancel, replay dead letters.

The gateway, ``skilld submit`` and the Python client all go through these, so idempotency
keys, the ``queued`` record and replay mean the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from skilld.engine import defaults
from skilld.engine.brokers.base import Broker, DeadLetter, fresh_attempt
from skilld.engine.stores.base import Store
from skilld.engine.task import SkillTask, TaskResult, TaskStatus

__all__ = ["Submission", "cancel", "replay_dead_letters", "submit", "submit_many"]


@dataclass(frozen=True, slots=True)
class Submission:
    """The id a submission stands for; ``created`` is False when an idempotency key
    attached it to an earlier task (nothing new was queued)."""

    task_id: str
    created: bool


def _scoped_key(task: SkillTask) -> str | None:
    if task.idempotency_key is None:
        return None
    return f"{task.tenant or ''}:{task.idempotency_key}"


async def submit(
    broker: Broker,
    store: Store,
    task: SkillTask,
    *,
    delay: float = 0.0,
    idempotency_ttl: float = defaults.IDEMPOTENCY_TTL_S,
) -> Submission:
    """Queue ``task`` (recorded as ``queued`` first, so it is never unknown while queued).

    With an idempotency key (scoped by tenant), a second submission while the key is
    bound returns the first task's id and queues nothing: both share one execution.
    """
    return (await submit_many(broker, store, [task], delay=delay, idempotency_ttl=idempotency_ttl))[
        0
    ]


async def submit_many(
    broker: Broker,
    store: Store,
    tasks: Sequence[SkillTask],
    *,
    delay: float = 0.0,
    idempotency_ttl: float = defaults.IDEMPOTENCY_TTL_S,
) -> list[Submission]:
    """Queue many tasks with one store write and one broker publish."""
    submissions: list[Submission] = []
    fresh: list[SkillTask] = []  # recorded as queued, then published
    resumed: list[SkillTask] = []  # published again under an earlier, bound id
    for task in tasks:
        key = _scoped_key(task)
        if key is not None:
            bound = await store.bind_idempotency_key(key, task.id, ttl=idempotency_ttl)
            if bound != task.id:
                submissions.append(Submission(bound, created=False))
                # The first submission may have died between binding the key and
                # publishing. Publishing again under the bound id is safe (workers claim
                # by task id, so it runs once) and is the only way the key's task runs.
                earlier = await store.get(bound)
                if earlier is None:
                    fresh.append(msgspec.structs.replace(task, id=bound))
                elif earlier.status is TaskStatus.QUEUED:
                    resumed.append(msgspec.structs.replace(task, id=bound))
                continue
        submissions.append(Submission(task.id, created=True))
        fresh.append(task)
    if fresh:
        await store.mark_queued(fresh)
    if fresh or resumed:
        await broker.publish_many([*fresh, *resumed], delay=delay)
    return submissions


async def cancel(store: Store, task_id: str) -> TaskResult | None:
    """Ask for a task to be cancelled; returns its current result (None if unknown).

    A queued task ends ``cancelled`` without running; a running one is stopped by its
    worker and ends ``cancelled``; a finished one keeps its result.
    """
    return await store.request_cancel(task_id)


async def replay_dead_letters(
    broker: Broker, store: Store, ids: Sequence[str] | None = None
) -> list[DeadLetter]:
    """Queue dead tasks again as first attempts (all when ``ids`` is None).

    Their ``dead`` results are reopened to ``queued`` first: a dead-letter replay is the
    one operator action that may change a terminal result.
    """
    letters = await broker.take_dead_letters(ids)
    tasks = [fresh_attempt(letter.task()) for letter in letters]
    # Reopen before publishing: a worker that fetched the replay first would otherwise
    # find the old ``dead`` result and settle the task without running it.
    for task in tasks:
        await store.reopen(task.id)
    await broker.publish_many(tasks)
    return letters
