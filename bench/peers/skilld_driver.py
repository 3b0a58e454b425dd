"""One run of skilld, in skilld's own environment.

``python -m bench.peers.skilld_driver --system skilld --task noop --n 20000 --option
broker=amqp --option store=redis`` starts ``skilld worker`` processes on the named
backends, warms them up, offers the load through the engine's producer API
(:func:`skilld.engine.operations.submit_many`, what the gateway and ``skilld.Client`` use),
watches the results through :meth:`Store.finished`, stops the workers, deletes the run's
queues and keys, and prints one ``BENCH-RESULT`` JSON line.

Backends (``--option broker=…``, ``--option store=…``): ``amqp`` (RabbitMQ, a fresh queue
per run), ``redis`` (Redis Streams broker / Redis store, a fresh key prefix per run) and
``sqlite`` (the embedded default: two files in a fresh folder). ``--option
gateway=1`` submits and polls through the HTTP gateway instead (``skilld serve
--concurrency 0`` in front of the same backends).

Tasks: ``noop`` is an inline skill whose body is one word (expansion only); ``sleep`` is
a fork task on the simulated model ``sim:200ms`` (one 200 ms ``asyncio.sleep`` per task).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.peers.load import driver_arguments, emit, run_load, spec_of, warm_up
from bench.peers.procs import REPO, check_alive, workers

SKILLS = REPO / "bench" / "peers" / "skills"
SLEEP_MODEL = "sim:200ms"


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


def backend_urls(
    options: dict[str, str], *, amqp: str, redis: str, run: str, folder: Path
) -> tuple[str, str]:
    """(broker URL, store URL) of this run; each run gets its own queue / prefix / files."""
    broker = options.get("broker", "amqp")
    store = options.get("store", "redis")
    sep_a = "&" if "?" in amqp else "?"
    sep_r = "&" if "?" in redis else "?"
    broker_url = {
        "amqp": f"{amqp}{sep_a}queue=bench-skilld-{run}"
        + (f"&queue_type={options['queue_type']}" if "queue_type" in options else ""),
        "redis": f"{redis}{sep_r}queue=bench&prefix=bench-skilld-{run}:",
        "sqlite": f"sqlite:///{folder / 'queue.db'}",
    }[broker]
    store_url = {
        "redis": f"{redis}{sep_r}prefix=bench-skilld-{run}:",
        "sqlite": f"sqlite:///{folder / 'results.db'}",
    }[store]
    return broker_url, store_url


def start_profiler(options: dict[str, str], pid: int) -> subprocess.Popen[bytes] | None:
    """``--option pyspy=BIN --option profile=FILE``: sample the first worker with py-spy
    (collapsed stacks, 250 Hz, without pausing it) while the load runs."""
    if "pyspy" not in options or "profile" not in options:
        return None
    return subprocess.Popen(
        [
            options["pyspy"],
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--output",
            options["profile"],
            "--rate",
            "250",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    args = driver_arguments(__doc__ or "").parse_args()
    options = dict(item.split("=", 1) for item in args.option)
    run = args.run_id or uuid.uuid4().hex[:8]
    folder = Path(tempfile.mkdtemp(prefix="bench-skilld-"))
    broker_url, store_url = backend_urls(
        options, amqp=args.amqp, redis=args.redis, run=run, folder=folder
    )
    concurrency = args.concurrency or 100  # skilld's default (engine/defaults.CONCURRENCY)
    python = sys.executable
    worker = [
        python, "-m", "skilld", "worker",
        "--broker", broker_url,
        "--store", store_url,
        "--concurrency", str(concurrency),
        "--skills-dir", str(SKILLS),
        "--cwd", str(folder),
        "--model", SLEEP_MODEL,
    ]  # fmt: skip
    cmds = [list(worker) for _ in range(args.processes)]
    gateway = options.get("gateway") == "1"
    port = free_port()
    if gateway:
        cmds.append(
            [
                python,
                "-m",
                "skilld",
                "serve",
                "--broker",
                broker_url,
                "--store",
                store_url,
                "--concurrency",
                "0",
                "--port",
                str(port),
                "--data-dir",
                str(folder),
                "--skills-dir",
                str(SKILLS),
            ]
        )
    record: dict[str, Any] = {
        "system": args.system,
        "task": args.task,
        "processes": args.processes,
        "concurrency": concurrency,
        "broker": broker_url.split("://")[0],
        "store": store_url.split("://")[0],
        "gateway": gateway,
        "versions": {"skilld": metadata.version("skilld")},
        "commands": [" ".join(["skilld", *cmd[3:]]) for cmd in cmds],
    }

    from skilld.engine.brokers import open_broker
    from skilld.engine.operations import submit_many
    from skilld.engine.stores import open_store
    from skilld.engine.task import SkillTask

    loop = _Loop()
    broker = open_broker(broker_url)
    store = open_store(store_url)

    def task_of(kind: str) -> SkillTask:
        if kind == "noop":
            return SkillTask(skill="noop")
        return SkillTask(skill="sleep", mode="fork", model=SLEEP_MODEL)

    def engine_client(kind: str) -> tuple[Callable[[int], list[str]], Callable[..., list[bool]]]:
        async def submit_async(count: int) -> list[str]:
            tasks = [task_of(kind) for _ in range(count)]
            return [s.task_id for s in await submit_many(broker, store, tasks)]

        async def poll_async(ids: Sequence[str]) -> list[bool]:
            # Whether each result is readable, as the peers' drivers ask it (their
            # EXISTS script): Store.finished, without reading the results themselves.
            return await store.finished(ids)

        return (lambda n: loop.run(submit_async(n))), (lambda ids: loop.run(poll_async(ids)))

    def http_client(kind: str) -> tuple[Callable[[int], list[str]], Callable[..., list[bool]]]:
        import httpx

        base = f"http://127.0.0.1:{port}"
        body = {"skill": "noop"} if kind == "noop" else {
            "skill": "sleep", "mode": "fork", "model": SLEEP_MODEL
        }  # fmt: skip
        http = httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=64))

        async def one(_: int) -> str:
            response = await http.post("/v1/tasks", json=body)
            response.raise_for_status()
            return str(response.json()["id"])

        async def submit_async(count: int) -> list[str]:
            out: list[str] = []
            for start in range(0, count, 64):
                out += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 64))))
            return out

        async def status(task_id: str) -> bool:
            response = await http.get(f"/v1/tasks/{task_id}")
            return response.status_code == 200 and response.json().get("status") not in (
                "queued", "running"
            )  # fmt: skip

        async def poll_async(ids: Sequence[str]) -> list[bool]:
            # One GET per outstanding task (the API has no batch read); only the oldest
            # 256 are asked each round, the rest wait their turn.
            head = list(ids[:256])
            flags = list(await asyncio.gather(*(status(i) for i in head)))
            return flags + [False] * (len(ids) - len(head))

        return (lambda n: loop.run(submit_async(n))), (lambda ids: loop.run(poll_async(ids)))

    def wait_for_gateway(timeout: float = 60.0) -> None:
        import httpx

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not answer on port {port} in {timeout:.0f} s")

    client = http_client if gateway else engine_client
    try:
        loop.run(broker.connect())
        loop.run(store.connect())
        with workers(cmds, env={}, name=f"skilld-{run}") as procs:
            if gateway:
                wait_for_gateway()
            warm_up(*client("noop"), args.warmup)
            check_alive(procs, "skilld")
            record["worker_pids"] = [p.pid for p in procs[: args.processes]]
            # ``--option profile_target=client`` samples this process (the producer and
            # the poller), ``=gateway`` the ``skilld serve`` process, instead of a worker.
            target = {"client": os.getpid(), "gateway": procs[-1].pid}.get(
                options.get("profile_target", ""), procs[0].pid
            )
            profiler = start_profiler(options, target)
            try:
                outcome = run_load(spec_of(args), *client(args.task))
            finally:
                stop_profiler(profiler)
            check_alive(procs, "skilld")
        record["outcome"] = outcome.to_dict()
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for backend, method in ((broker, "delete_topology"), (broker, "delete_all"),
                                (store, "delete_all")):  # fmt: skip
            clean = getattr(backend, method, None)
            if clean is not None:
                with contextlib.suppress(Exception):
                    loop.run(clean())
        with contextlib.suppress(Exception):
            loop.run(broker.close())
        with contextlib.suppress(Exception):
            loop.run(store.close())
        shutil.rmtree(folder, ignore_errors=True)
    emit(record)
    os._exit(0)


if __name__ == "__main__":
    main()
