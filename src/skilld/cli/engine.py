"""``skilld worker`` and ``skilld dlq``: the engine's worker process and dead-letter queue.

Both find the broker and store the same way ``skilld serve`` does: ``--broker`` /
``--store``, else ``SKILLD_BROKER_URL`` / ``SKILLD_STORE_URL``, else the SQLite files in
``--data-dir`` (``SKILLD_DATA_DIR``, default ``./.skilld``). ``skilld dlq list --json``
prints ``[{"id", "task_id", "skill", "attempts", "reason", "error_type", "failed_at",
"body"}]`` (a stable contract).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from skilld.engine import defaults
from skilld.engine.brokers import Broker, open_broker
from skilld.engine.stores import Store, open_store
from skilld.engine.urls import redact
from skilld.exceptions import SkilldError
from skilld.settings import Settings

if TYPE_CHECKING:
    from skilld.engine.cache import SkillCache
    from skilld.engine.executor import SkillExecutor, SkillLookup
    from skilld.engine.worker import Worker

__all__ = ["dlq_app", "register", "worker"]

T = TypeVar("T")

BrokerOption = Annotated[
    str | None,
    typer.Option("--broker", help="Broker URL (default: SKILLD_BROKER_URL, else SQLite)."),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (default: SKILLD_STORE_URL, else SQLite)."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder of the embedded SQLite files (default ./.skilld)."),
]
SkillsDirOption = Annotated[
    list[Path] | None,
    typer.Option("--skills-dir", help="Extra folder searched for skills (repeatable)."),
]
CwdOption = Annotated[
    Path | None, typer.Option("--cwd", help="Working directory the skills are found from.")
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Default model for fork tasks (SKILLD_DEFAULT_MODEL)."),
]
LeaseOption = Annotated[float, typer.Option("--lease", min=0.1, help="Claim lease in seconds.")]
GraceOption = Annotated[
    float,
    typer.Option("--grace", min=0, help="Seconds running tasks get to finish on SIGTERM."),
]


def _urls(broker: str | None, store: str | None, data_dir: Path | None) -> tuple[str, str]:
    return defaults.resolve_urls(
        Settings.from_env(), broker_url=broker, store_url=store, data_dir=data_dir
    )


def _fail(exc: Exception | str) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def open_backends(
    broker: str | None, store: str | None, data_dir: Path | None
) -> tuple[str, str, Broker, Store]:
    """The broker and store URLs the options name (see the module doc) and their backends,
    not yet connected; a bad URL or an SQLite folder that cannot be made exits with code 2
    and a one-line error."""
    try:
        broker_url, store_url = _urls(broker, store, data_dir)
        return broker_url, store_url, open_broker(broker_url), open_store(store_url)
    except SkilldError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(f"cannot open the engine's files: {exc}") from None


def make_worker(
    registry: SkillLookup,
    broker: Broker,
    store: Store,
    *,
    cwd: Path | None,
    model: str | None,
    concurrency: int,
    lease: float,
    grace: float,
    burst: bool = False,
    skill_cache: SkillCache | None = None,
) -> tuple[SkillExecutor, Worker]:
    """The worker ``skilld worker`` and ``skilld serve`` run: skills from ``registry``,
    fork tasks on ``model`` with ``cwd``'s tools and permission settings, results cached
    for the skills that opt in (``skilld-cache-ttl``), and pinned versions this machine
    lacks found in ``skill_cache`` (the store's own when not given). Returns the
    executor too, for its cache counts."""
    from skilld.engine.cache import result_cache_for, skill_cache_for
    from skilld.engine.executor import SkillExecutor
    from skilld.engine.worker import Worker

    executor = SkillExecutor(
        registry,
        cwd=cwd,
        default_model=model,
        result_cache=result_cache_for(store),
        skill_cache=skill_cache if skill_cache is not None else skill_cache_for(store),
    )
    return executor, Worker(
        broker,
        store,
        executor,
        concurrency=concurrency,
        lease_s=lease,
        shutdown_grace_s=grace,
        burst=burst,
    )


def worker(
    broker: BrokerOption = None,
    store: StoreOption = None,
    data_dir: DataDirOption = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Tasks run at once.")
    ] = defaults.CONCURRENCY,
    skills_dir: SkillsDirOption = None,
    cwd: CwdOption = None,
    model: ModelOption = None,
    lease: LeaseOption = defaults.LEASE_S,
    grace: GraceOption = defaults.SHUTDOWN_GRACE_S,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit once nothing is queued, delayed or running.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each problem.")] = False,
) -> None:
    """Run tasks from the queue until SIGTERM or Ctrl-C (then stop gracefully)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    settings = Settings.from_env()
    broker_url, store_url, broker_obj, store_obj = open_backends(broker, store, data_dir)
    from skilld.skills.registry import SkillRegistry

    try:  # load the skills now: a problem shows before any task runs
        registry = SkillRegistry(cwd, add_dirs=tuple(skills_dir or ()), settings=settings)
        found = len(registry.skills())
    except SkilldError as exc:
        raise _fail(exc) from None
    executor, engine = make_worker(
        registry,
        broker_obj,
        store_obj,
        cwd=cwd,
        model=model or settings.default_model,
        concurrency=concurrency,
        lease=lease,
        grace=grace,
        burst=burst,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, engine.stop)
        async with broker_obj, store_obj:
            typer.echo(
                f"skilld worker {engine.id}: {redact(broker_url)} -> {redact(store_url)}, "
                f"concurrency {concurrency}, {found} skills",
                err=True,
            )
            await engine.run()
        typer.echo(f"skilld worker {engine.id}: stopped ({engine.stats.to_dict()})", err=True)
        cache = executor.result_cache
        if cache is not None and cache.stats.hits + cache.stats.misses:
            typer.echo(f"skilld worker {engine.id}: result cache {cache.stats.to_dict()}", err=True)
        skills = executor.skill_cache
        if skills is not None and skills.stats.hits + skills.stats.misses:
            typer.echo(f"skilld worker {engine.id}: skill cache {skills.stats.to_dict()}", err=True)

    try:
        asyncio.run(main())
    except SkilldError as exc:
        raise _fail(exc) from None


dlq_app = typer.Typer(
    name="dlq",
    help="Inspect, replay and purge the dead-letter queue.",
    no_args_is_help=True,
)


def _with_backends(
    broker: str | None,
    store: str | None,
    data_dir: Path | None,
    action: Callable[[Broker, Store], Awaitable[T]],
) -> T:
    broker_url, store_url = _urls(broker, store, data_dir)

    async def main() -> T:
        async with open_broker(broker_url) as b, open_store(store_url) as s:
            return await action(b, s)

    try:
        return asyncio.run(main())
    except SkilldError as exc:
        raise _fail(exc) from None


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


@dlq_app.command("list")
def dlq_list(
    broker: BrokerOption = None,
    store: StoreOption = None,
    data_dir: DataDirOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most letters shown.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List dead letters, oldest first."""

    async def action(b: Broker, s: Store) -> tuple[list[dict[str, object]], int]:
        letters = await b.dead_letters(limit=limit, offset=offset)
        return [d.to_dict() for d in letters], await b.dead_letter_count()

    letters, total = _with_backends(broker, store, data_dir, action)
    if as_json:
        typer.echo(json.dumps(letters, indent=2))
        return
    if not letters:
        typer.echo("The dead-letter queue is empty.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "task", "skill", "attempts", "failed at", "error")
    for d in letters:
        table.add_row(
            str(d["id"])[:12],
            str(d["task_id"] or "-"),
            str(d["skill"] or "-"),
            str(d["attempts"]),
            _when(float(str(d["failed_at"]))),
            f"{d['error_type']}: {d['reason']}",
        )
    console = Console()
    console.print(table)
    console.print(f"{len(letters)} of {total} dead letters")


@dlq_app.command("show")
def dlq_show(
    letter_id: Annotated[str, typer.Argument(help="Dead-letter id or task id.")],
    broker: BrokerOption = None,
    store: StoreOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show one dead letter (JSON), with the task's last stored result."""

    async def action(b: Broker, s: Store) -> dict[str, object] | None:
        letter = await b.get_dead_letter(letter_id)
        if letter is None:
            return None
        shown = letter.to_dict()
        if letter.task_id is not None:
            from skilld.engine.task import encode

            result = await s.get(letter.task_id)
            shown["result"] = None if result is None else json.loads(encode(result))
        return shown

    shown = _with_backends(broker, store, data_dir, action)
    if shown is None:
        typer.echo(f"error: no dead letter with id or task id {letter_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(shown, indent=2))


def _selection(ids: list[str] | None, all_: bool, verb: str) -> list[str] | None:
    if all_ and ids:
        raise typer.BadParameter(f"give ids or --all to {verb}, not both")
    if not all_ and not ids:
        raise typer.BadParameter(f"say which letters to {verb}: ids, or --all")
    return None if all_ else list(ids or ())


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids or task ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every replayable letter.")] = False,
    broker: BrokerOption = None,
    store: StoreOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Queue dead tasks again as first attempts (malformed messages cannot be replayed)."""
    from skilld.engine.operations import replay_dead_letters

    selection = _selection(ids, all_, "replay")

    async def action(b: Broker, s: Store) -> list[str]:
        return [d.task_id or d.id for d in await replay_dead_letters(b, s, selection)]

    replayed = _with_backends(broker, store, data_dir, action)
    for task_id in replayed:
        typer.echo(task_id)
    typer.echo(f"replayed {len(replayed)} task(s)", err=True)
    if selection is not None and len(replayed) < len(selection):
        typer.echo("some ids were not found or are malformed messages", err=True)
        raise typer.Exit(1)


@dlq_app.command("purge")
def dlq_purge(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids or task ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Drop every dead letter.")] = False,
    broker: BrokerOption = None,
    store: StoreOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Drop dead letters for good."""
    selection = _selection(ids, all_, "purge")

    async def action(b: Broker, s: Store) -> int:
        return await b.purge_dead(selection)

    typer.echo(f"purged {_with_backends(broker, store, data_dir, action)} dead letter(s)")


def register(app: typer.Typer) -> None:
    """Add ``skilld worker`` and ``skilld dlq ...`` to ``app``."""
    app.command("worker")(worker)
    app.add_typer(dlq_app, name="dlq")
