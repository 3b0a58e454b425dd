"""The durable embedded broker: one SQLite file (WAL), rows as messages, leases as columns.

A message row is *ready* when it has no lease token and ``available_at`` has passed.
Fetching sets a lease token and pushes ``available_at`` to the end of the visibility
timeout, so a message whose consumer died (``kill -9``) becomes ready again by itself and
is run again; a live worker extends the lease while the task runs. Settling a message
(ack, retry, dead-letter) checks the lease token, so a consumer that lost its lease cannot
settle the message another consumer now holds. Higher priorities are fetched first, then
older messages.

Several processes may share the file (``skilld serve`` and extra ``skilld worker``\\ s on
one machine). A consumer is woken at once by publishes made in its own process and finds
those of other processes by polling (every 5 ms growing to 100 ms while idle).
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skilld.engine import defaults
from skilld.engine.brokers.base import Broker, DeadLetter, Message, RawDelivery, is_replayable
from skilld.engine.sqlite import SQLiteBackend
from skilld.engine.urls import BackendURL

__all__ = ["SQLiteBroker"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    lease TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0,
    task_id TEXT
);
CREATE INDEX IF NOT EXISTS messages_ready
    ON messages (queue, priority DESC, id) WHERE lease IS NULL;
CREATE INDEX IF NOT EXISTS messages_leased
    ON messages (queue, available_at) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    reason TEXT NOT NULL,
    error_type TEXT NOT NULL,
    failed_at REAL NOT NULL,
    task_id TEXT,
    skill TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_task ON dead_letters (task_id);
"""

_DEAD_COLUMNS = "id, body, reason, error_type, failed_at, task_id, skill, attempts"


def _letter(row: tuple[Any, ...]) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        body=bytes(row[1]),
        reason=row[2],
        error_type=row[3],
        failed_at=row[4],
        task_id=row[5],
        skill=row[6],
        attempts=row[7],
    )


class SQLiteBroker(SQLiteBackend, Broker):
    """A queue in a SQLite file.

    Args:
        path: the database file (created with its directory).
        queue: the queue's name; one file can hold several queues.
        visibility_timeout: seconds a fetched message stays leased unless extended; after
            that it is delivered again (the worker extends leases while tasks run).
        max_deliveries: see :class:`~skilld.engine.brokers.base.Broker`.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        queue: str = defaults.QUEUE,
        visibility_timeout: float = defaults.VISIBILITY_TIMEOUT_S,
        max_deliveries: int = 20,
    ) -> None:
        super().__init__(max_deliveries=max_deliveries)
        self._init_sqlite(path, schema=SCHEMA)
        self.queue = queue
        self.visibility_timeout = visibility_timeout
        self._wakeup: asyncio.Event | None = None

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> SQLiteBroker:
        url.setdefaults(
            options, queue=defaults.QUEUE, visibility_timeout=defaults.VISIBILITY_TIMEOUT_S
        )
        broker = cls(url.path, **options)
        broker.url = url.url
        return broker

    def _signal(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    # -- primitives ------------------------------------------------------------------

    async def _publish(self, messages: Sequence[Message]) -> None:
        now = time.time()
        rows = [
            (self.queue, m.body, m.priority, now + m.delay, m.task_id, m.failed) for m in messages
        ]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO messages (queue, body, priority, available_at, task_id, deliveries)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

        await self._db.run(op)
        self._signal()

    async def _fetch(self, limit: int, timeout: float) -> Sequence[RawDelivery]:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = 0.005
        while True:
            self._wakeup.clear()
            found, next_at = await self._db.run(lambda conn: self._lease(conn, limit))
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            wait = min(remaining, pause)
            if next_at is not None:
                wait = min(wait, max(0.0, next_at - time.time()))
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait)
                pause = 0.005
            except TimeoutError:
                pause = min(pause * 2, 0.1)

    def _lease(
        self, conn: sqlite3.Connection, limit: int
    ) -> tuple[list[RawDelivery], float | None]:
        now = time.time()
        # Leases that ran out: their consumer died or stalled. Make them ready again.
        conn.execute(
            "UPDATE messages SET lease = NULL"
            " WHERE queue = ? AND lease IS NOT NULL AND available_at <= ?",
            (self.queue, now),
        )
        rows = conn.execute(
            "SELECT id, body, deliveries FROM messages"
            " WHERE queue = ? AND lease IS NULL AND available_at <= ?"
            " ORDER BY priority DESC, id LIMIT ?",
            (self.queue, now, limit),
        ).fetchall()
        if not rows:
            row = conn.execute(
                "SELECT MIN(available_at) FROM messages WHERE queue = ?", (self.queue,)
            ).fetchone()
            return [], row[0]
        token = secrets.token_hex(8)
        until = now + self.visibility_timeout
        conn.executemany(
            "UPDATE messages SET lease = ?, available_at = ?, deliveries = deliveries + 1"
            " WHERE id = ?",
            [(token, until, row[0]) for row in rows],
        )
        return [RawDelivery(bytes(r[1]), (r[0], token), r[2] + 1) for r in rows], None

    async def _ack(self, handles: Sequence[Any]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM messages WHERE id = ? AND lease = ?", handles)

        await self._db.run(op)

    async def _requeue(self, handle: Any, message: Message) -> None:
        available_at = time.time() + message.delay

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE messages SET body = ?, priority = ?, available_at = ?, lease = NULL,"
                " deliveries = ? WHERE id = ? AND lease = ?",
                (message.body, message.priority, available_at, message.failed, *handle),
            )

        await self._db.run(op)
        self._signal()

    async def _release(self, handles: Sequence[Any]) -> None:
        now = time.time()

        def op(conn: sqlite3.Connection) -> None:
            # A hand-back is not a delivery that failed: it does not count.
            conn.executemany(
                "UPDATE messages SET lease = NULL, available_at = ?,"
                " deliveries = MAX(deliveries - 1, 0) WHERE id = ? AND lease = ?",
                [(now, *h) for h in handles],
            )

        await self._db.run(op)
        self._signal()

    async def _dead_letter(self, handle: Any, letter: DeadLetter) -> None:
        def op(conn: sqlite3.Connection) -> None:
            cursor = conn.execute("DELETE FROM messages WHERE id = ? AND lease = ?", handle)
            if cursor.rowcount != 1:
                return  # the lease was lost: whoever holds the message now settles it
            conn.execute(
                f"INSERT INTO dead_letters (queue, {_DEAD_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.queue,
                    letter.id,
                    letter.body,
                    letter.reason,
                    letter.error_type,
                    letter.failed_at,
                    letter.task_id,
                    letter.skill,
                    letter.attempts,
                ),
            )

        await self._db.run(op)

    async def _extend(self, handles: Sequence[Any], seconds: float) -> None:
        until = time.time() + seconds

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE messages SET available_at = ? WHERE id = ? AND lease = ?",
                [(until, *h) for h in handles],
            )

        await self._db.run(op)

    async def _depth(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE queue = ? AND lease IS NULL", (self.queue,)
            ).fetchone()
            return int(row[0])

        return await self._db.run(op)

    async def _purge(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM messages WHERE queue = ? AND lease IS NULL", (self.queue,)
            )
            return cursor.rowcount

        return await self._db.run(op)

    async def _dead_list(self, limit: int, offset: int) -> list[DeadLetter]:
        def op(conn: sqlite3.Connection) -> list[DeadLetter]:
            rows = conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE queue = ?"
                " ORDER BY seq LIMIT ? OFFSET ?",
                (self.queue, limit, offset),
            ).fetchall()
            return [_letter(r) for r in rows]

        return await self._db.run(op)

    async def _dead_count(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT COUNT(*) FROM dead_letters WHERE queue = ?", (self.queue,)
            ).fetchone()
            return int(row[0])

        return await self._db.run(op)

    async def _dead_get(self, letter_id: str) -> DeadLetter | None:
        def op(conn: sqlite3.Connection) -> DeadLetter | None:
            row = conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE queue = ?"
                " AND (id = ? OR task_id = ?) ORDER BY seq LIMIT 1",
                (self.queue, letter_id, letter_id),
            ).fetchone()
            return None if row is None else _letter(row)

        return await self._db.run(op)

    def _select(self, conn: sqlite3.Connection, ids: Sequence[str] | None) -> list[DeadLetter]:
        rows = conn.execute(
            f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE queue = ? ORDER BY seq",
            (self.queue,),
        ).fetchall()
        letters = [_letter(r) for r in rows]
        if ids is None:
            return letters
        wanted = set(ids)
        return [d for d in letters if d.id in wanted or d.task_id in wanted]

    async def _dead_take(
        self, ids: Sequence[str] | None, *, replayable_only: bool
    ) -> list[DeadLetter]:
        def op(conn: sqlite3.Connection) -> list[DeadLetter]:
            taken = [
                d for d in self._select(conn, ids) if not replayable_only or is_replayable(d.body)
            ]
            conn.executemany("DELETE FROM dead_letters WHERE id = ?", [(d.id,) for d in taken])
            return taken

        return await self._db.run(op)

    async def _dead_purge(self, ids: Sequence[str] | None) -> int:
        def op(conn: sqlite3.Connection) -> int:
            doomed = self._select(conn, ids)
            conn.executemany("DELETE FROM dead_letters WHERE id = ?", [(d.id,) for d in doomed])
            return len(doomed)

        return await self._db.run(op)
