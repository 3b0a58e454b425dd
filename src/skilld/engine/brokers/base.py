"""The broker contract: the behaviour written once, the primitives a backend fills.

A broker is one durable queue of tasks plus its dead-letter queue. Delivery is
*at least once*: a fetched message stays leased to its consumer until it is acked,
retried, deferred, released or dead-lettered; if the consumer dies, the message comes back
(after the visibility timeout on SQLite, at once when RabbitMQ sees the channel close,
when Redis reclaims it). Exactly-once *results* are the store's job (claims and fencing),
not the broker's.

The public methods (:meth:`Broker.publish`, :meth:`Broker.fetch`, :meth:`Broker.ack`,
:meth:`Broker.retry`, :meth:`Broker.dead_letter`, ...) validate, encode and batch; a
backend implements the underscore primitives, each of which takes a batch where a batch
makes sense, so one transaction, pipeline or confirm window carries many tasks::

    _publish(messages)            add messages (each with priority and delay)
    _fetch(limit, timeout)        lease up to ``limit`` ready messages, waiting at most timeout
    _ack(handles)                 delete leased messages
    _requeue(handle, msg)         replace a leased message by ``msg`` (retry, defer)
    _release(handles)             hand leased messages back unchanged, at once
                                  (the hand-back is not counted as a delivery)
    _dead_letter(handle, letter)  move a leased message to the dead-letter queue
    _extend(handles, seconds)     keep leases alive while tasks run (default: nothing to do)
    _depth() _purge()             count / drop ready and delayed messages
    _dead_list _dead_count _dead_get _dead_take _dead_purge    the dead-letter queue

``limit`` in ``_fetch`` is the caller's free capacity (the worker asks for at most its free
slots), so a push-based backend can size its prefetch from it and no task waits in one
worker's buffer while another worker is idle.

Delivery counts: a message that kills the process running it is delivered again and
again without ever being settled; :meth:`Broker.fetch` dead-letters it once its count
passes ``max_deliveries``. The count belongs to the *task*, not to one message: a
deferral (the next delivery finds the dead worker's claim still held) and a hand-back
replace or return the message without running it, and they carry the count forward
(:attr:`Message.failed`: the deliveries before this one, which ended without a result), so
a task that kills every worker it reaches is stopped on every backend. Only an explicit
:meth:`Broker.retry` (a failure the worker saw and handled: the task's ``attempt``
counter takes over) starts counting from one again. A backend stores the carried count
with the message and reports ``delivery_count = failed + its own deliveries``.
"""

from __future__ import annotations

import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from skilld.engine.batching import Coalescer
from skilld.engine.lifecycle import Connectable
from skilld.engine.task import SkillTask, TaskError, decode_task, encode
from skilld.exceptions import MalformedTaskError

__all__ = [
    "Broker",
    "DeadLetter",
    "Delivery",
    "Message",
    "RawDelivery",
    "Received",
    "fresh_attempt",
]


@dataclass(frozen=True, slots=True)
class Message:
    """An encoded message on its way into a queue.

    ``failed`` counts the deliveries of this task, made before this message replaced the
    one it replaces (a deferral, a hand-back), that ended without a result; the next
    delivery of this message is number ``failed + 1`` (see the module docstring).
    """

    body: bytes
    priority: int = 0
    delay: float = 0.0
    task_id: str | None = None
    failed: int = 0


@dataclass(frozen=True, slots=True)
class RawDelivery:
    """What a backend's ``_fetch`` returns: the body, the backend's handle, and how many
    times the task has been delivered (1 the first time; deliveries carried by
    :attr:`Message.failed` included)."""

    body: bytes
    handle: Any
    delivery_count: int = 1


@dataclass(slots=True, eq=False)
class Delivery:
    """A fetched, validated task. Settle it exactly once: ack, retry, defer, release or
    dead-letter. ``handle`` belongs to the backend (a row id and lease token, a delivery
    tag, a stream entry id)."""

    task: SkillTask
    body: bytes
    handle: Any
    delivery_count: int = 1
    received_at: float = field(default_factory=time.time)

    @property
    def redelivered(self) -> bool:
        """True when a consumer received this message before (it may have run)."""
        return self.delivery_count > 1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message in the dead-letter queue, with why it got there.

    ``body`` is kept byte for byte: a malformed message is never "repaired" on the way in.
    """

    id: str
    body: bytes
    reason: str
    error_type: str
    failed_at: float
    task_id: str | None = None
    skill: str | None = None
    attempts: int = 0

    def task(self) -> SkillTask:
        """The dead task (raises :class:`MalformedTaskError` for a malformed message)."""
        return decode_task(self.body)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_id": self.task_id,
            "skill": self.skill,
            "attempts": self.attempts,
            "reason": self.reason,
            "error_type": self.error_type,
            "failed_at": self.failed_at,
            "body": self.body.decode("utf-8", "replace"),
        }


@dataclass(frozen=True, slots=True)
class Received:
    """What one :meth:`Broker.receive` got: the tasks to run, and the messages it moved to
    the dead-letter queue instead (malformed, or past the delivery limit), so the caller
    can record their end (the worker stores a ``dead`` result for each one whose task
    id it knows)."""

    deliveries: list[Delivery]
    dead: list[DeadLetter]


class Broker(Connectable, ABC):
    """A task queue with a dead-letter queue. Use as ``async with open_broker(url) as b:``.

    Subclasses implement the primitives listed in the module docstring and may set
    :attr:`supports_priority`; everything public is written here once.
    """

    url: str = ""
    supports_priority: bool = True

    def __init__(self, *, max_deliveries: int = 20) -> None:
        """``max_deliveries``: a message delivered more often than this without being
        settled is dead-lettered (it most likely crashes its worker)."""
        self.max_deliveries = max_deliveries
        self._acks: Coalescer[Any] = Coalescer(self._ack)

    # -- producing ---------------------------------------------------------------------

    async def publish(self, task: SkillTask, *, delay: float = 0.0) -> None:
        """Queue one task, available after ``delay`` seconds."""
        await self._publish([Message(encode(task), task.priority, delay, task.id)])

    async def publish_many(self, tasks: Iterable[SkillTask], *, delay: float = 0.0) -> None:
        """Queue many tasks in one backend call (one transaction or confirm window)."""
        messages = [Message(encode(t), t.priority, delay, t.id) for t in tasks]
        if messages:
            await self._publish(messages)

    async def publish_raw(self, body: bytes, *, priority: int = 0) -> None:
        """Queue bytes as they are, unvalidated (interop and tests: a malformed message is
        dead-lettered with its reason when fetched)."""
        await self._publish([Message(body, priority, 0.0, None)])

    # -- consuming ---------------------------------------------------------------------

    async def fetch(self, limit: int = 1, *, timeout: float = 1.0) -> list[Delivery]:
        """Lease up to ``limit`` tasks, waiting at most ``timeout`` seconds for the first.

        Messages that are not valid tasks, and tasks delivered more than
        ``max_deliveries`` times, are dead-lettered here with the reason and are not
        returned, so a worker only ever sees tasks it may run. :meth:`receive` also says
        which messages it dead-lettered.
        """
        return (await self.receive(limit, timeout=timeout)).deliveries

    async def receive(self, limit: int = 1, *, timeout: float = 1.0) -> Received:
        """:meth:`fetch`, also reporting the messages it dead-lettered (the broker knows
        nothing of results: the caller records them)."""
        raw = await self._fetch(limit, timeout)
        deliveries: list[Delivery] = []
        dead: list[DeadLetter] = []
        now = time.time()
        for item in raw:
            try:
                task = decode_task(item.body)
            except MalformedTaskError as exc:
                letter = _letter(item, str(exc), "MalformedTaskError", None, now)
                await self._dead_letter(item.handle, letter)
                dead.append(letter)
                continue
            if item.delivery_count > self.max_deliveries:
                # Delivered again and again without ever being settled: it most likely
                # kills the process that runs it. Stop the loop here.
                reason = (
                    f"delivered {item.delivery_count} times without being settled "
                    f"(limit {self.max_deliveries}); it may crash the worker running it"
                )
                letter = _letter(item, reason, "DeliveryLimitExceeded", task, now)
                await self._dead_letter(item.handle, letter)
                dead.append(letter)
                continue
            deliveries.append(Delivery(task, item.body, item.handle, item.delivery_count, now))
        return Received(deliveries, dead)

    async def consume(self, *, batch: int = 1, timeout: float = 1.0) -> AsyncIterator[Delivery]:
        """Yield tasks forever (a convenience over :meth:`fetch`; the worker uses fetch)."""
        while True:
            for delivery in await self.fetch(batch, timeout=timeout):
                yield delivery

    async def ack(self, delivery: Delivery) -> None:
        """The task is settled (its result is stored): remove the message for good.

        Acks arriving together are sent to the backend as one batch.
        """
        await self._acks.add(delivery.handle)

    async def ack_many(self, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            await self._ack([d.handle for d in deliveries])

    async def retry(self, delivery: Delivery, *, delay: float) -> None:
        """Queue the task's next attempt after ``delay`` seconds, replacing this message.

        The delivery count starts again from one: the worker saw this attempt fail, and
        the task's ``attempt`` counter (``max_attempts``) limits what follows.
        """
        task = delivery.task.next_attempt()
        await self._requeue(delivery.handle, Message(encode(task), task.priority, delay, task.id))

    async def defer(self, delivery: Delivery, *, delay: float) -> None:
        """Put the task back for later without counting an attempt (open circuit breaker,
        a claim held elsewhere).

        The deferral itself is not counted as a delivery, but the deliveries before it
        are carried forward: a task whose every run kills its worker (and whose next
        delivery then finds the dead worker's claim and defers) still reaches the
        delivery limit.
        """
        task = delivery.task
        carried = max(0, delivery.delivery_count - 1)
        message = Message(delivery.body, task.priority, delay, task.id, carried)
        await self._requeue(delivery.handle, message)

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Hand tasks back at once, unchanged (graceful shutdown, unused prefetch).

        Like a deferral, the hand-back is not counted as a delivery and the count so far
        is kept: the next delivery has this one's ``delivery_count``.
        """
        if deliveries:
            await self._release([d.handle for d in deliveries])

    async def dead_letter(self, delivery: Delivery, *, error: TaskError) -> DeadLetter:
        """Move the task to the dead-letter queue with its last error."""
        task = delivery.task
        letter = DeadLetter(
            id=uuid.uuid4().hex,
            body=delivery.body,
            reason=error.message,
            error_type=error.type,
            failed_at=time.time(),
            task_id=task.id,
            skill=task.skill,
            attempts=task.attempt,
        )
        await self._dead_letter(delivery.handle, letter)
        return letter

    async def extend(self, deliveries: Sequence[Delivery], seconds: float) -> None:
        """Keep the leases of running tasks alive for another ``seconds``."""
        if deliveries:
            await self._extend([d.handle for d in deliveries], seconds)

    # -- inspection ----------------------------------------------------------------------

    async def depth(self) -> int:
        """Messages waiting (ready or delayed), not counting those leased to a consumer."""
        return await self._depth()

    async def purge(self) -> int:
        """Drop every waiting message; returns how many."""
        return await self._purge()

    async def dead_letters(self, *, limit: int = 100, offset: int = 0) -> list[DeadLetter]:
        """Dead letters, oldest first."""
        return await self._dead_list(limit, offset)

    async def dead_letter_count(self) -> int:
        return await self._dead_count()

    async def get_dead_letter(self, letter_id: str) -> DeadLetter | None:
        """One dead letter by its id or by its task id."""
        return await self._dead_get(letter_id)

    async def replay(self, ids: Sequence[str] | None = None) -> list[DeadLetter]:
        """Queue dead tasks again as fresh first attempts (all when ``ids`` is None).

        Returns the letters that were replayed. Malformed messages cannot be replayed;
        they stay in the dead-letter queue (purge them).
        """
        letters = await self.take_dead_letters(ids)
        await self.publish_many([fresh_attempt(letter.task()) for letter in letters])
        return letters

    async def take_dead_letters(self, ids: Sequence[str] | None = None) -> list[DeadLetter]:
        """Remove replayable dead letters (by letter or task id; all when None) and return
        them, for a caller that publishes them itself."""
        return await self._dead_take(ids, replayable_only=True)

    async def purge_dead(self, ids: Sequence[str] | None = None) -> int:
        """Drop dead letters (all when ``ids`` is None); returns how many."""
        return await self._dead_purge(ids)

    # -- primitives (and _connect, _close: see Connectable) ------------------------------

    @abstractmethod
    async def _publish(self, messages: Sequence[Message]) -> None: ...

    @abstractmethod
    async def _fetch(self, limit: int, timeout: float) -> Sequence[RawDelivery]: ...

    @abstractmethod
    async def _ack(self, handles: Sequence[Any]) -> None: ...

    @abstractmethod
    async def _requeue(self, handle: Any, message: Message) -> None: ...

    @abstractmethod
    async def _release(self, handles: Sequence[Any]) -> None: ...

    @abstractmethod
    async def _dead_letter(self, handle: Any, letter: DeadLetter) -> None: ...

    async def _extend(self, handles: Sequence[Any], seconds: float) -> None:
        return None

    @abstractmethod
    async def _depth(self) -> int: ...

    @abstractmethod
    async def _purge(self) -> int: ...

    @abstractmethod
    async def _dead_list(self, limit: int, offset: int) -> list[DeadLetter]: ...

    @abstractmethod
    async def _dead_count(self) -> int: ...

    @abstractmethod
    async def _dead_get(self, letter_id: str) -> DeadLetter | None: ...

    @abstractmethod
    async def _dead_take(
        self, ids: Sequence[str] | None, *, replayable_only: bool
    ) -> list[DeadLetter]:
        """Remove and return dead letters (by letter id or task id; all when None).

        With ``replayable_only``, letters whose body is not a valid task are left alone.
        """

    @abstractmethod
    async def _dead_purge(self, ids: Sequence[str] | None) -> int: ...


def _letter(
    item: RawDelivery, reason: str, error_type: str, task: SkillTask | None, now: float
) -> DeadLetter:
    return DeadLetter(
        id=uuid.uuid4().hex,
        body=item.body,
        reason=reason,
        error_type=error_type,
        failed_at=now,
        task_id=_id_of_malformed(item.body) if task is None else task.id,
        skill=None if task is None else task.skill,
        attempts=item.delivery_count if task is None else task.attempt,
    )


_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _id_of_malformed(body: bytes) -> str | None:
    """The task id of a malformed message, when it is a JSON object whose ``id`` is a
    valid task id (a field further on is what is wrong); else None: nothing names it."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    task_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(task_id, str) and _ID_PATTERN.fullmatch(task_id):
        return task_id
    return None


def fresh_attempt(task: SkillTask) -> SkillTask:
    """The task as a first attempt again (a replay)."""
    return msgspec.structs.replace(task, attempt=1)


def is_replayable(body: bytes) -> bool:
    """Whether a dead letter's body is a valid task."""
    try:
        decode_task(body)
    except MalformedTaskError:
        return False
    return True
