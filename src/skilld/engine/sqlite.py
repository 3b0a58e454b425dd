"""One SQLite file, one writer thread, group commit.

The SQLite broker and store hand their operations (plain functions of a connection) to a
:class:`SQLiteDB`. Its thread takes every operation waiting in its queue, runs them in one
``BEGIN IMMEDIATE`` transaction and commits once; if one of them raises, the batch is
rolled back and each operation runs again in a transaction of its own, so one failing
operation never undoes the others. Operations must therefore be safe to run again (they
read the database and write; they do not mutate Python state). Under load, hundreds of
acks, claims and results share one commit; with a single caller the latency is one
transaction.

The file is in WAL mode with ``synchronous=NORMAL``: a committed transaction survives the
process being killed (``kill -9``); only an operating-system crash or power loss can undo
the last few commits. Other processes may open the same file; SQLite's locking (with a
busy timeout) keeps them consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from skilld.exceptions import BackendUnavailableError

__all__ = ["SQLiteBackend", "SQLiteDB"]

T = TypeVar("T")

_Op = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any], asyncio.AbstractEventLoop]
_Outcome = tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Any, BaseException | None]


class SQLiteDB:
    """A SQLite file served by one thread that batches operations into transactions."""

    def __init__(self, path: Path, *, schema: str, version: int = 1, max_batch: int = 1024) -> None:
        """``schema`` is run on every open (``CREATE … IF NOT EXISTS``); ``version`` is
        kept in ``PRAGMA user_version``, and a file holding another version is refused
        rather than misread."""
        self.path = path
        self._schema = schema
        self._version = version
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    async def open(self) -> None:
        if self._thread is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._serve, name=f"skilld-sqlite:{self.path.name}", daemon=True
        )
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._startup_error is not None:
            error = self._startup_error
            self._thread = None
            if isinstance(error, BackendUnavailableError):
                raise error
            raise BackendUnavailableError(f"cannot open SQLite file {self.path}: {error}")

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(thread.join)

    async def run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op(connection)`` inside a transaction of the writer thread."""
        if self._thread is None:
            raise BackendUnavailableError(f"SQLite file {self.path} is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, future, loop))
        return await future

    # -- the thread --------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        # 0 is a new file (or one another process is creating right now): fine.
        if found not in (0, self._version):
            conn.close()
            raise BackendUnavailableError(
                f"{self.path} holds schema version {found}, this skilld uses {self._version}: "
                "move the file away or choose another data directory"
            )
        conn.executescript(self._schema)
        if found == 0:
            conn.execute(f"PRAGMA user_version = {int(self._version)}")
        return conn

    def _serve(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._run_batch(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        try:
            outcomes = self._transaction(conn, batch, isolate=False)
        except _OpFailed:
            # One operation raised: undo the batch and run each operation in a transaction
            # of its own, so only the faulty one fails. (Savepoints around every operation
            # would cost three statements per operation on the hot path.)
            outcomes = [self._transaction(conn, [item], isolate=True)[0] for item in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[1], []).append(outcome)
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_deliver, items)

    def _transaction(
        self, conn: sqlite3.Connection, batch: list[_Op], *, isolate: bool
    ) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, future, loop in batch:
                try:
                    value = op(conn)
                except Exception as exc:
                    if not isolate:
                        raise _OpFailed from exc
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    return [(future, loop, None, exc)]
                outcomes.append((future, loop, value, None))
            conn.execute("COMMIT")
        except _OpFailed:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            error = BackendUnavailableError(f"SQLite transaction on {self.path} failed: {exc}")
            return [(future, loop, None, error) for _, future, loop in batch]
        return outcomes


class SQLiteBackend:
    """What the SQLite broker and store hold alike: one database file (``path``, its URL)
    opened when the backend connects and closed with it. Listed before the broker or
    store base in a backend's bases, so its ``_connect`` and ``_close`` are the ones used.
    """

    path: Path
    url: str
    _db: SQLiteDB

    def _init_sqlite(self, path: Path | str, *, schema: str, version: int = 1) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._db = SQLiteDB(self.path, schema=schema, version=version)

    async def _connect(self) -> None:
        await self._db.open()

    async def _close(self) -> None:
        await self._db.close()


class _OpFailed(Exception):
    """An operation of a batch raised (the batch is retried one operation at a time)."""


def _deliver(items: list[_Outcome]) -> None:
    for future, _, value, error in items:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
