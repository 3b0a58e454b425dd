"""Tasks, results and progress events: what travels on the wire between the engine's parts.

Every message is a :mod:`msgspec` struct encoded as JSON. Each carries a schema version
``v``; a reader accepts its own version and older ones, and refuses newer ones with a
clear reason instead of guessing. Messages are validated where they enter (the broker's
``fetch``, the gateway's request body): :func:`decode_task` turns anything that is not a
valid task into a :class:`~skilld.exceptions.MalformedTaskError` saying which field is
wrong, and the broker dead-letters it with that reason; a worker never sees it.
"""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

from skilld.exceptions import MalformedTaskError

__all__ = [
    "SCHEMA_VERSION",
    "SkillTask",
    "TaskError",
    "TaskEvent",
    "TaskMode",
    "TaskResult",
    "TaskStatus",
    "TaskTimings",
    "TaskUsage",
    "decode_result",
    "decode_task",
    "encode",
    "new_task_id",
]

SCHEMA_VERSION = 1
"""The wire version written by this skilld; readers accept it and older ones."""

TaskMode = Literal["inline", "fork"]


def new_task_id() -> str:
    """A fresh task id: 32 hex digits, unique without coordination."""
    return uuid.uuid4().hex


class TaskStatus(StrEnum):
    """Where a task stands. The last four are terminal: a terminal result never changes."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self not in (TaskStatus.QUEUED, TaskStatus.RUNNING)


_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


class SkillTask(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """One execution of a skill, as queued.

    Attributes:
        id: unique task id (also the key a skill with side effects dedupes on).
        skill: the skill's name, as ``skilld list`` shows it.
        args: the argument string (what follows ``/name`` when a user types it).
        mode: ``inline`` returns the expanded prompt; ``fork`` runs it on a model.
        skill_version: when set, the worker refuses any other version of the skill.
        model: model URI for fork mode; None means the worker's default.
        session_id / tenant: passed through, for the skill and for accounting.
        priority: 0 (default) to 9; higher runs sooner where the broker supports it.
        timeout_s: wall-clock limit of one attempt.
        max_attempts: attempts before the task goes to the dead-letter queue.
        attempt: which attempt this message is (1 for the first delivery).
        idempotency_key: identical submissions with the same key share one execution.
        depends_on: ids of tasks that must finish first (for the DAG layer; passed through).
        created_at: submission time (seconds since the epoch).
        deadline: absolute time after which the task is not started any more; a task
            deferred by an open circuit breaker waits at most until then.
    """

    v: int = SCHEMA_VERSION
    id: _Id = msgspec.field(default_factory=new_task_id)
    skill: _Name
    args: str = ""
    mode: TaskMode = "inline"
    skill_version: str | None = None
    model: str | None = None
    session_id: str | None = None
    tenant: str | None = None
    priority: Annotated[int, msgspec.Meta(ge=0, le=9)] = 0
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 600.0
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    attempt: Annotated[int, msgspec.Meta(ge=1)] = 1
    idempotency_key: str | None = None
    depends_on: tuple[str, ...] = ()
    created_at: float = msgspec.field(default_factory=time.time)
    deadline: float | None = None

    def next_attempt(self) -> SkillTask:
        """The same task, as its next attempt."""
        return msgspec.structs.replace(self, attempt=self.attempt + 1)


class TaskError(msgspec.Struct, frozen=True):
    """Why a task failed: the exception's type name and its message."""

    type: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> TaskError:
        return cls(type(exc).__name__, str(exc) or type(exc).__name__)


class TaskTimings(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """Seconds since the epoch at each step; ``None`` for a step not reached."""

    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def queued_s(self) -> float | None:
        if self.created_at is None or self.started_at is None:
            return None
        return self.started_at - self.created_at

    @property
    def run_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class TaskUsage(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """Model tokens spent by the task (all attempts of the one that produced the result)."""

    input_tokens: int = 0
    output_tokens: int = 0


class TaskResult(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """What became of a task. Terminal results are written once and never overwritten.

    ``output`` is the skill's text for inline and fork tasks (any JSON value for a
    :class:`~skilld.engine.executor.FunctionExecutor`).
    """

    v: int = SCHEMA_VERSION
    id: str
    status: TaskStatus
    skill: str | None = None
    output: Any = None
    error: TaskError | None = None
    attempts: int = 0
    worker: str | None = None
    timings: TaskTimings = TaskTimings()
    usage: TaskUsage = TaskUsage()
    skill_version: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    @classmethod
    def queued(cls, task: SkillTask) -> TaskResult:
        """The record of a task just accepted, as every store keeps it until a worker
        claims it."""
        return cls(
            id=task.id,
            status=TaskStatus.QUEUED,
            skill=task.skill,
            timings=TaskTimings(created_at=task.created_at),
            skill_version=task.skill_version,
        )


class TaskEvent(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """One progress event of a task; ``offset`` orders a task's events from 1.

    Types: ``queued``, ``started``, ``progress``, ``tool_use``, ``retrying``, ``deferred``,
    ``finished``. ``data`` is free-form JSON.
    """

    task_id: str
    offset: int = 0
    type: str
    data: dict[str, Any] = {}
    at: float = 0.0


_encoder = msgspec.json.Encoder()
_task_decoder = msgspec.json.Decoder(SkillTask)
_result_decoder = msgspec.json.Decoder(TaskResult)


def encode(message: SkillTask | TaskResult | TaskEvent) -> bytes:
    """JSON bytes of a task, result or event."""
    return _encoder.encode(message)


def decode_task(data: bytes | str) -> SkillTask:
    """Validate and decode a task; anything else raises :class:`MalformedTaskError`.

    The error message says what is wrong (``Expected `int`, got `str` - at `$.priority```,
    ``Object missing required field `skill```, ``not JSON``...).
    """
    try:
        task = _task_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise MalformedTaskError(f"invalid task: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MalformedTaskError(f"task is not valid JSON: {exc}") from None
    if task.v > SCHEMA_VERSION:
        raise MalformedTaskError(
            f"task schema version {task.v} is newer than this skilld understands "
            f"({SCHEMA_VERSION}); upgrade the worker"
        )
    return task


def decode_result(data: bytes | str) -> TaskResult:
    """Decode a stored result (results are written by skilld itself, so trusted)."""
    return _result_decoder.decode(data)
