"""``skilld serve``, ``skilld submit`` and ``skilld result``: the gateway and its users.

``serve`` runs the HTTP gateway and a worker in one process, on one event loop, over the
embedded default (SQLite under ``./.skilld``) unless ``--broker`` / ``--store`` (or
``SKILLD_BROKER_URL`` / ``SKILLD_STORE_URL``) name others. It binds 127.0.0.1 unless told
otherwise, and refuses any other address without ``--token``. SIGTERM or Ctrl-C stop it
gracefully: no new connections or tasks, running tasks get ``--grace`` seconds, the rest
go back to the queue.

``submit`` and ``result`` talk to a running gateway (``--url``, ``SKILLD_URL``, default
``http://127.0.0.1:8000``) with ``SKILLD_API_TOKEN`` as their token. Exit codes: 0 the task
succeeded (or was queued, without ``--wait``), 1 it failed, died or was cancelled, 2 bad
usage or an unreachable gateway, 3 it is still queued or running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skilld.cli.engine import (
    BrokerOption,
    CwdOption,
    DataDirOption,
    GraceOption,
    LeaseOption,
    ModelOption,
    SkillsDirOption,
    StoreOption,
    make_worker,
    open_backends,
)
from skilld.engine import defaults
from skilld.engine.urls import redact
from skilld.exceptions import SkilldError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from skilld.client import Client
    from skilld.engine.brokers import Broker
    from skilld.engine.stores import Store
    from skilld.engine.task import TaskResult
    from skilld.gateway import GatewayConfig

__all__ = ["register", "result", "serve", "submit"]

log = logging.getLogger("skilld.serve")

DEFAULT_PORT = 8000
_SUBMIT_PARALLEL = 32  # requests in flight while submitting a file of tasks

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="SKILLD_URL", help="Where the gateway listens."),
]
ClientTokenOption = Annotated[
    str | None,
    typer.Option("--token", envvar="SKILLD_API_TOKEN", help="Bearer token for the gateway."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


# -- serve -------------------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv4 or IPv6; port 0 picks a free one)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0 picks a free one).")
    ] = DEFAULT_PORT,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=0, help="Tasks run at once (0: the gateway alone)."),
    ] = defaults.CONCURRENCY,
    data_dir: DataDirOption = None,
    skills_dir: SkillsDirOption = None,
    broker: BrokerOption = None,
    store: StoreOption = None,
    token: Annotated[
        list[str] | None,
        typer.Option(
            "--token",
            envvar="SKILLD_API_TOKEN",
            help="Bearer token clients must send (repeatable); required off loopback.",
        ),
    ] = None,
    cwd: CwdOption = None,
    model: ModelOption = None,
    lease: LeaseOption = defaults.LEASE_S,
    grace: GraceOption = defaults.SHUTDOWN_GRACE_S,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1, help="Largest request body, in bytes.")
    ] = 1024 * 1024,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log requests and problems.")
    ] = False,
) -> None:
    """Serve the HTTP API and run tasks, in one process (the embedded engine)."""
    from skilld.gateway import GatewayConfig
    from skilld.settings import Settings

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env()
    config = GatewayConfig.with_tokens(token or (), max_body_bytes=max_body)
    try:
        config.check_bind(host)
    except SkilldError as exc:
        raise _fail(str(exc)) from None
    broker_url, store_url, broker_obj, store_obj = open_backends(broker, store, data_dir)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    plan = _Plan(
        broker_url=broker_url,
        store_url=store_url,
        concurrency=concurrency,
        cwd=cwd,
        skills_dirs=tuple(skills_dir or ()),
        model=model or settings.default_model,
        lease=lease,
        grace=grace,
        verbose=verbose,
    )
    try:
        with asyncio.Runner(loop_factory=_fast_loop()) as runner:
            code = runner.run(_serve(plan, broker_obj, store_obj, config, sock))
    except SkilldError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot open the engine's files: {exc}") from None
    finally:
        sock.close()
    raise typer.Exit(code)


def _fast_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``skilld[gateway]`` brings it), else
    asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


@dataclass(frozen=True, slots=True)
class _Plan:
    """What ``serve`` was asked to run."""

    broker_url: str
    store_url: str
    concurrency: int
    cwd: Path | None
    skills_dirs: tuple[Path, ...]
    model: str | None
    lease: float
    grace: float
    verbose: bool


async def _serve(
    plan: _Plan, broker: Broker, store: Store, config: GatewayConfig, sock: socket.socket
) -> int:
    import uvicorn

    from skilld.gateway import create_app
    from skilld.skills.registry import SkillRegistry

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # The signals are ours (below): uvicorn would re-raise SIGTERM once it stops,
            # killing the process before the worker has handed its tasks back.
            yield

    registry = await asyncio.to_thread(SkillRegistry, plan.cwd, add_dirs=plan.skills_dirs)
    async with broker, store:
        from skilld.engine.cache import skill_cache_for

        # Accepted tasks pin their skill's version, published here for any worker.
        skill_cache = skill_cache_for(store)
        app = create_app(
            broker=broker, store=store, registry=registry, config=config, skill_cache=skill_cache
        )
        server = Server(
            uvicorn.Config(
                app,
                lifespan="on",
                log_level="info" if plan.verbose else "warning",
                access_log=plan.verbose,
                timeout_graceful_shutdown=max(math.ceil(plan.grace), 1),
            )
        )
        worker = None
        if plan.concurrency > 0:
            _, worker = make_worker(
                registry,
                broker,
                store,
                cwd=plan.cwd,
                model=plan.model,
                concurrency=plan.concurrency,
                lease=plan.lease,
                grace=plan.grace,
                skill_cache=skill_cache,
            )

        def stop() -> None:
            server.should_exit = True
            app.state.stopping.set()  # ends open event streams
            if worker is not None:
                worker.stop()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)

        skills = len(registry.skills())
        workers = f"{plan.concurrency} task(s) at once" if worker else "no worker (gateway only)"
        typer.echo(
            f"skilld serve: listening on {_url_of(sock)}\n"
            f"  broker {redact(plan.broker_url)}\n  store  {redact(plan.store_url)}\n"
            f"  {skills} skill(s), {workers}"
            + ("" if config.auth_required else ", no authentication (loopback only)")
        )
        sys.stdout.flush()

        parts: list[asyncio.Task[None]] = [
            asyncio.create_task(server.serve(sockets=[sock]), name="skilld-gateway")
        ]
        if worker is not None:
            parts.append(asyncio.create_task(worker.run(), name="skilld-worker"))
        code = 0
        try:
            pending: set[asyncio.Task[None]] = set(parts)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for part in done:
                    if part.exception() is not None:
                        log.error("%s stopped", part.get_name(), exc_info=part.exception())
                        code = 1
                # One part ending (a crash, or a signal) ends the other gracefully.
                stop()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        typer.echo("skilld serve: stopped" + (f" ({worker.stats.to_dict()})" if worker else ""))
        return code


# -- submit and result -------------------------------------------------------------------


def _json(result: TaskResult) -> str:
    from skilld.engine.task import encode

    return encode(result).decode()


def _print_result(result: TaskResult, as_json: bool) -> int:
    if as_json:
        typer.echo(_json(result))
    elif result.status.value == "succeeded":
        output = result.output
        typer.echo(output if isinstance(output, str) else json.dumps(output, indent=2))
    elif result.terminal:
        error = f": {result.error.type}: {result.error.message}" if result.error else ""
        typer.echo(f"task {result.id} {result.status.value}{error}", err=True)
    else:
        typer.echo(f"task {result.id} is {result.status.value}", err=True)
    if not result.terminal:
        return 3
    return 0 if result.status.value == "succeeded" else 1


def _read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The task lines of a JSONL file, and one message per unusable line (file:line)."""
    tasks: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("skill"), str):
            problems.append(f'{path}:{number}: expected an object with a "skill" name')
            continue
        tasks.append((number, item))
    return tasks, problems


async def _submit_many(
    client: Client,
    path: Path,
    items: Sequence[tuple[int, dict[str, Any]]],
    *,
    wait: bool,
    as_json: bool,
) -> list[str]:
    """Submit every line (``_SUBMIT_PARALLEL`` at a time) behind a progress bar; with
    ``wait``, follow each to its end. Returns one message per line that failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    problems: list[str] = []
    gate = asyncio.Semaphore(_SUBMIT_PARALLEL)
    console = Console(stderr=True)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
        # Ids and results go to stdout (for pipes); the bar stays on stderr.
        redirect_stdout=False,
    ) as progress:
        bar = progress.add_task("finished" if wait else "submitted", total=len(items))

        async def one(number: int, item: dict[str, Any]) -> None:
            fields = dict(item)
            skill, args = fields.pop("skill"), fields.pop("args", "")
            key = fields.pop("idempotency_key", None)
            try:
                async with gate:
                    result = await client.submit(skill, args, idempotency_key=key, **fields)
                if wait:
                    result = await client.wait(result.id)
            except SkilldError as exc:
                problems.append(f"{path}:{number}: {exc}")
            else:
                typer.echo(_json(result) if as_json else result.id)
                if wait and result.status.value != "succeeded":
                    problems.append(f"{path}:{number}: task {result.id} {result.status.value}")
            progress.advance(bar)

        await asyncio.gather(*(one(number, item) for number, item in items))
    return problems


def submit(
    name: Annotated[str | None, typer.Argument(help="The skill to run.")] = None,
    args: Annotated[list[str] | None, typer.Argument(help="Its arguments.")] = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="inline or fork (default: the skill's own context)."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model URI for fork.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result and print it.")] = False,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help='A JSONL file of tasks: {"skill": …, "args": …} a line.'),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Share one execution per key.")
    ] = None,
    url: UrlOption = "http://127.0.0.1:8000",
    token: ClientTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue a skill run on a gateway; print its id (or, with --wait, its output)."""
    from skilld.client import Client

    if mode is not None and mode not in ("inline", "fork"):
        raise typer.BadParameter("--mode must be inline or fork")
    if (name is None) == (from_file is None):
        raise _fail("give a skill NAME, or --from-file FILE (not both)")

    async def main() -> int:
        async with Client(url, token=token) as client:
            if from_file is not None:
                items, problems = _read_jsonl(from_file)
                problems += await _submit_many(client, from_file, items, wait=wait, as_json=as_json)
                for problem in problems:
                    typer.echo(f"error: {problem}", err=True)
                return 1 if problems else 0
            assert name is not None
            options: dict[str, Any] = {"model": model} if model else {}
            queued = await client.submit(
                name,
                list(args or ()),
                mode=mode,  # type: ignore[arg-type]
                idempotency_key=idempotency_key,
                **options,
            )
            if not wait:
                typer.echo(_json(queued) if as_json else queued.id)
                return 0
            return _print_result(await client.wait(queued.id), as_json)

    raise typer.Exit(_run_client(main, url))


def result(
    task_id: Annotated[str, typer.Argument(help="The task's id.")],
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it finishes.")] = False,
    url: UrlOption = "http://127.0.0.1:8000",
    token: ClientTokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a task's output (or its state, or why it failed)."""
    from skilld.client import Client

    async def main() -> int:
        async with Client(url, token=token) as client:
            found = await (client.wait(task_id) if wait else client.get(task_id))
            return _print_result(found, as_json)

    raise typer.Exit(_run_client(main, url))


def _run_client(main: Callable[[], Awaitable[int]], url: str) -> int:
    import httpx

    async def run() -> int:
        return await main()

    try:
        return asyncio.run(run())
    except httpx.TransportError as exc:
        raise _fail(f"cannot reach the gateway at {url}: {exc or type(exc).__name__}") from None
    except SkilldError as exc:
        raise _fail(str(exc)) from None


def register(app: typer.Typer) -> None:
    """Add ``skilld serve``, ``skilld submit`` and ``skilld result`` to ``app``."""
    app.command("serve")(serve)
    app.command("submit")(submit)
    app.command("result")(result)
