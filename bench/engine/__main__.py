"""End-to-end benchmark of the embedded engine: ``python -m bench.engine``.

Starts a real ``skilld serve`` (SQLite under a temporary data directory, gateway and
worker in one process) and drives it with closed-loop clients: each of ``--clients``
clients submits a task with ``POST /v1/tasks?wait=…`` and submits the next one as soon as
the result comes back, until ``--tasks`` tasks are done. Latency is what a client sees,
from the request to the final result; throughput is finished tasks per second of wall
time.

Scenarios: ``inline`` runs a no-op inline skill (expansion only); ``fork`` runs a fork
skill on the simulated model ``sim:200ms``. Each runs twice: through raw HTTP (a minimal
keep-alive HTTP/1.1 client, so the load generator's own cost stays small) and through
:class:`skilld.Client` (httpx underneath).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from skilld.client import Client
from skilld.engine.task import TaskResult, decode_result

SKILLS = {
    "noop": "---\ndescription: Does nothing.\n---\nok\n",
    "think": "---\ndescription: Asks the model.\ncontext: fork\n---\nThink about $ARGUMENTS.\n",
}


@dataclass(frozen=True)
class Figures:
    scenario: str
    via: str
    tasks: int
    clients: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    queued_p50_ms: float
    run_p50_ms: float
    failed: int


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Run:
    """One measured run: wall time, client-side latencies, and the server's own timings
    (seconds queued before a worker started the task, seconds running it)."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    queued: list[float] = field(default_factory=list)
    running: list[float] = field(default_factory=list)
    failures: int = 0

    def record(self, latency: float, result: TaskResult | None) -> None:
        self.latencies.append(latency)
        if result is None or result.status.value != "succeeded":
            self.failures += 1
            return
        if result.timings.queued_s is not None:
            self.queued.append(result.timings.queued_s)
        if result.timings.run_s is not None:
            self.running.append(result.timings.run_s)


async def closed_loop(
    run_one: Callable[[int], Awaitable[TaskResult | None]], tasks: int, clients: int
) -> Run:
    """Run ``tasks`` calls with ``clients`` in flight."""
    run = Run()
    next_index = 0

    async def client() -> None:
        nonlocal next_index
        while next_index < tasks:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            result = await run_one(index)
            run.record(time.perf_counter() - started, result)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    run.seconds = time.perf_counter() - started
    return run


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive connection, so the load generator costs little CPU
    and the figures measure the gateway (httpx is measured separately, as Client)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def via_http(url: str, skill: str, tasks: int, clients: int) -> Run:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connections = [RawHTTP(host, int(port)) for _ in range(clients)]
    free: asyncio.Queue[RawHTTP] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)

    async def one(index: int) -> TaskResult | None:
        connection = await free.get()
        try:
            body = json.dumps({"skill": skill, "args": f"n{index}"}).encode()
            status, content = await connection.post("/v1/tasks?wait=60", body)
        finally:
            free.put_nowait(connection)
        return decode_result(content) if status == 201 else None

    try:
        return await closed_loop(one, tasks, clients)
    finally:
        for connection in connections:
            await connection.close()


async def via_client(url: str, skill: str, tasks: int, clients: int) -> Run:
    async with Client(url, timeout=120, max_connections=clients) as client:

        async def one(index: int) -> TaskResult | None:
            return await client.submit(skill, f"n{index}", wait=60)

        return await closed_loop(one, tasks, clients)


def start_server(root: Path, concurrency: int) -> tuple[subprocess.Popen[str], str]:
    for name, text in SKILLS.items():
        (root / "skills" / name).mkdir(parents=True)
        (root / "skills" / name / "SKILL.md").write_text(text)
    (root / "home").mkdir()
    env = {**os.environ, "HOME": str(root / "home"), "SKILLD_HOME": str(root / "home")}
    env["SKILLD_MANAGED_DIR"] = str(root / "home")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skilld",
            "serve",
            "--port",
            "0",
            "--skills-dir",
            "skills",
            "--concurrency",
            str(concurrency),
            "--model",
            "sim:200ms",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    if "listening on" not in banner:
        process.kill()
        raise SystemExit(f"skilld serve did not start: {banner}")
    for _ in range(3):
        process.stdout.readline()
    return process, banner.rsplit(" ", 1)[-1].strip()


async def main(args: argparse.Namespace) -> list[Figures]:
    figures: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="skilld-bench-") as folder:
        process, url = start_server(Path(folder), args.concurrency)
        try:
            plan = {"inline": ("noop", args.inline_clients), "fork": ("think", args.fork_clients)}
            for scenario in args.scenarios:
                skill, clients = plan[scenario]
                for via, drive in (("http", via_http), ("client", via_client)):
                    await drive(url, skill, min(clients, 50), clients)  # warm up
                    run = await drive(url, skill, args.tasks, clients)
                    figures.append(
                        Figures(
                            scenario=scenario,
                            via=via,
                            tasks=args.tasks,
                            clients=clients,
                            seconds=round(run.seconds, 2),
                            throughput=round(args.tasks / run.seconds, 1),
                            p50_ms=ms(statistics.median(run.latencies)),
                            p99_ms=ms(percentile(run.latencies, 0.99)),
                            queued_p50_ms=ms(statistics.median(run.queued or [0.0])),
                            run_p50_ms=ms(statistics.median(run.running or [0.0])),
                            failed=run.failures,
                        )
                    )
                    print(json.dumps(asdict(figures[-1])), file=sys.stderr, flush=True)
        finally:
            process.terminate()
            process.communicate(timeout=60)
    return figures


def table(figures: list[Figures]) -> str:
    lines = [
        "| scenario | via | tasks | clients | tasks/s | p50 ms | p99 ms "
        "| queued p50 ms | run p50 ms | failed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {f.scenario} | {f.via} | {f.tasks} | {f.clients} | {f.throughput} | {f.p50_ms} "
        f"| {f.p99_ms} | {f.queued_p50_ms} | {f.run_p50_ms} | {f.failed} |"
        for f in figures
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per run")
    parser.add_argument("--inline-clients", type=int, default=32)
    parser.add_argument("--fork-clients", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=500, help="serve --concurrency")
    parser.add_argument(
        "--scenarios", nargs="+", choices=["inline", "fork"], default=["inline", "fork"]
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    options = parser.parse_args()
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # the figures then include a slower load generator
        loop_factory = None  # type: ignore[assignment]
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        results = runner.run(main(options))
    print(
        f"skilld serve, embedded SQLite default; {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()}\n"
    )
    print(table(results))
    if options.json:
        options.json.write_text(json.dumps([asdict(f) for f in results], indent=2) + "\n")
