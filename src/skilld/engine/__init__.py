"""The task engine: skill executions as tasks, from one process to a cluster.

::

    from skilld.engine import SkillTask, Worker, SkillExecutor, open_broker, open_store, submit

    async with open_broker("sqlite:///.skilld/queue.db") as broker, \\
               open_store("sqlite:///.skilld/results.db") as store:
        await submit(broker, store, SkillTask(skill="review", args="src/", mode="fork"))
        async with Worker(broker, store, SkillExecutor(default_model="sim:200ms")):
            ...

Tasks and results (:mod:`.task`), brokers (:mod:`.brokers`) and stores (:mod:`.stores`)
chosen by URL, the worker (:mod:`.worker`), what it runs (:mod:`.executor`), and the pure
policies it follows (:mod:`.retry`, :mod:`.breaker`). Every default is in :mod:`.defaults`.
"""

from __future__ import annotations

from skilld.engine.breaker import BreakerPolicy, BreakerState
from skilld.engine.brokers import Broker, DeadLetter, Delivery, open_broker
from skilld.engine.executor import (
    EventSink,
    Executor,
    FunctionExecutor,
    Outcome,
    SkillExecutor,
)
from skilld.engine.operations import (
    Submission,
    cancel,
    replay_dead_letters,
    submit,
    submit_many,
)
from skilld.engine.retry import RetryPolicy
from skilld.engine.stores import Claim, Store, WorkerInfo, open_store
from skilld.engine.task import (
    SkillTask,
    TaskError,
    TaskEvent,
    TaskResult,
    TaskStatus,
    TaskTimings,
    TaskUsage,
    decode_task,
)
from skilld.engine.worker import Worker, WorkerStats

__all__ = [
    "BreakerPolicy",
    "BreakerState",
    "Broker",
    "Claim",
    "DeadLetter",
    "Delivery",
    "EventSink",
    "Executor",
    "FunctionExecutor",
    "Outcome",
    "RetryPolicy",
    "SkillExecutor",
    "SkillTask",
    "Store",
    "Submission",
    "TaskError",
    "TaskEvent",
    "TaskResult",
    "TaskStatus",
    "TaskTimings",
    "TaskUsage",
    "Worker",
    "WorkerInfo",
    "WorkerStats",
    "cancel",
    "decode_task",
    "open_broker",
    "open_store",
    "replay_dead_letters",
    "submit",
    "submit_many",
]
