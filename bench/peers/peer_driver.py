"""One run of one peer (Celery, Dramatiq or Taskiq), inside ``bench/.venv-peers``.

``python -m bench.peers.peer_driver --system dramatiq --task noop --n 20000`` starts the
peer's own worker CLI (two processes), warms it up, offers the load through the peer's
client (``apply_async`` / ``send`` / ``kiq``), watches the results appear in Redis, stops
the workers, deletes the run's queues and result keys, and prints one ``BENCH-RESULT``
JSON line.

A result is *readable* when its key exists in Redis (the key the peer's own result
backend reads). All keys of one poll are checked with one Lua call, so polling costs the
same for every peer.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.peers.load import driver_arguments, emit, run_load, spec_of, warm_up
from bench.peers.procs import check_alive, workers

EXISTS = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('EXISTS', key) end
return out
"""

DEFAULT_CONCURRENCY = {"celery-prefork": 0, "celery-gevent": 500, "dramatiq": 8, "taskiq": 100}
MODULES = {
    "celery-prefork": "bench.peers.apps.celery_app",
    "celery-gevent": "bench.peers.apps.celery_app",
    "dramatiq": "bench.peers.apps.dramatiq_app",
    "taskiq": "bench.peers.apps.taskiq_app",
}
PACKAGES = {
    "celery-prefork": ["celery", "kombu"],
    "celery-gevent": ["celery", "kombu", "gevent"],
    "dramatiq": ["dramatiq", "pika"],
    "taskiq": ["taskiq", "taskiq-aio-pika", "taskiq-redis", "aio-pika"],
}


def commands(system: str, queue: str, processes: int, concurrency: int) -> list[list[str]]:
    """The worker command lines: ``processes`` worker processes in all, for every peer."""
    bin_dir = Path(sys.executable).parent
    celery = [str(bin_dir / "celery"), "-A", MODULES[system], "worker", "-l", "WARNING"]
    # Gossip, mingle and heartbeats are cluster chatter Celery's docs suggest turning off
    # when not needed; off, the workers start in a second instead of several.
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue]
    if system == "celery-prefork":
        return [[*celery, "-P", "prefork", "-c", str(processes), "-n", f"{queue}@%h", *quiet]]
    if system == "celery-gevent":
        return [
            [*celery, "-P", "gevent", "-c", str(concurrency), "-n", f"{queue}-{i}@%h", *quiet]
            for i in range(processes)
        ]
    if system == "dramatiq":
        return [
            [
                str(bin_dir / "dramatiq"),
                MODULES[system],
                "--processes",
                str(processes),
                "--threads",
                str(concurrency),
            ]
        ]
    if system == "taskiq":
        return [
            [
                str(bin_dir / "taskiq"),
                "worker",
                f"{MODULES[system]}:broker",
                "--workers",
                str(processes),
                "--max-async-tasks",
                str(concurrency),
            ]
        ]
    raise SystemExit(f"unknown system {system!r}")


class _Loop:
    """An event loop in a thread, for Taskiq's async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


_TASKIQ_LOOP: _Loop | None = None


def submitter(system: str, module: Any, task: str, queue: str) -> Callable[[int], list[Any]]:
    """``submit(count)`` through the peer's client; handles are the result keys."""
    if system.startswith("celery"):
        celery_task = getattr(module, task)
        key = module.app.backend.get_key_for_task

        def submit_celery(count: int) -> list[Any]:
            return [key(celery_task.apply_async().id) for _ in range(count)]

        return submit_celery
    if system == "dramatiq":
        actor = getattr(module, task)
        backend = module.backend

        def submit_dramatiq(count: int) -> list[Any]:
            return [backend.build_message_key(actor.send()) for _ in range(count)]

        return submit_dramatiq
    global _TASKIQ_LOOP
    if _TASKIQ_LOOP is None:  # one loop and one startup for the driver's whole life
        _TASKIQ_LOOP = _Loop()
        _TASKIQ_LOOP.run(module.broker.startup())
    loop = _TASKIQ_LOOP
    taskiq_task = getattr(module, task)

    async def kiq(count: int) -> list[Any]:
        sent = await asyncio.gather(*(taskiq_task.kiq() for _ in range(count)))
        return [f"{queue}:{s.task_id}" for s in sent]

    def submit_taskiq(count: int) -> list[Any]:
        return loop.run(kiq(count))  # type: ignore[no-any-return]

    return submit_taskiq


def queue_names(system: str, queue: str) -> tuple[list[str], list[str]]:
    """(queues, exchanges) a run of ``system`` declares under its queue name."""
    if system.startswith("celery"):
        return [queue], [queue]
    if system == "dramatiq":
        return [queue, f"{queue}.DQ", f"{queue}.XQ"], []
    return [queue, f"{queue}.dead_letter", f"{queue}.delay"], [queue]


def clean_up(amqp: str, queues: Sequence[str], exchanges: Sequence[str]) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp))
    try:
        channel = connection.channel()
        for name in queues:
            channel.queue_delete(name)
        for name in exchanges:
            channel.exchange_delete(name)
    finally:
        connection.close()


def main() -> None:
    args = driver_arguments(__doc__ or "").parse_args()
    # "<peer>-redis": the same peer on its Redis broker instead of RabbitMQ.
    named = args.system
    on_redis = named.endswith("-redis")
    system = named.removesuffix("-redis")
    if system not in MODULES:
        raise SystemExit(f"unknown system {named!r}; one of {sorted(MODULES)} (+ -redis)")
    concurrency = args.concurrency or DEFAULT_CONCURRENCY[system]
    queue = f"bench-{named}-{args.run_id or uuid.uuid4().hex[:8]}"
    env = {
        "BENCH_QUEUE": queue,
        "BENCH_BROKER": "redis" if on_redis else "amqp",
        "BENCH_AMQP_URL": args.amqp,
        "BENCH_REDIS_URL": args.redis,
        "BENCH_CONCURRENCY": str(concurrency or 1),
    }
    os.environ.update(env)  # the app module reads them at import
    module = importlib.import_module(MODULES[system])

    import redis

    client = redis.Redis.from_url(args.redis)
    exists = client.register_script(EXISTS)
    all_keys: list[Any] = []

    def poll(keys: Sequence[Any]) -> list[bool]:
        return [bool(x) for x in exists(keys=list(keys))]

    def tracked(submit: Callable[[int], list[Any]]) -> Callable[[int], list[Any]]:
        def submit_and_track(count: int) -> list[Any]:
            keys = submit(count)
            all_keys.extend(keys)
            return keys

        return submit_and_track

    record: dict[str, Any] = {
        "system": named,
        "broker": "redis" if on_redis else "amqp",
        "task": args.task,
        "processes": args.processes,
        "concurrency": concurrency or args.processes,
        "queue": queue,
        "versions": {p: metadata.version(p) for p in PACKAGES[system]},
    }
    cmds = commands(system, queue, args.processes, concurrency)
    record["commands"] = [" ".join([Path(cmd[0]).name, *cmd[1:]]) for cmd in cmds]
    try:
        with workers(cmds, env=env, name=queue) as procs:
            warm_up(tracked(submitter(system, module, "noop", queue)), poll, args.warmup)
            check_alive(procs, queue)
            outcome = run_load(
                spec_of(args), tracked(submitter(system, module, args.task, queue)), poll
            )
            check_alive(procs, queue)
        record["outcome"] = outcome.to_dict()
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for _attempt in range(30):  # the servers may be restarting (other jobs' fault tests)
            try:
                for start in range(0, len(all_keys), 5000):
                    client.delete(*all_keys[start : start + 5000])
                if on_redis:  # the broker's keys all carry the run's queue name
                    for pattern in (f"*{queue}*",):
                        keys = list(client.scan_iter(match=pattern, count=1000))
                        for start in range(0, len(keys), 1000):
                            client.delete(*keys[start : start + 1000])
                else:
                    clean_up(args.amqp, *queue_names(system, queue))
                break
            except Exception as exc:
                record.setdefault("cleanup_error", f"{type(exc).__name__}: {exc}")
                time.sleep(2)
    emit(record)
    # Taskiq's and Celery's client threads may linger; the record is out, so leave now.
    os._exit(0)


if __name__ == "__main__":
    main()
