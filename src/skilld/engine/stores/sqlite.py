"""The durable embedded store: results, claims and the rest in one SQLite file (WAL).

Each primitive is one operation of the writer thread (see :mod:`skilld.engine.sqlite`), so
it is one transaction, and claims and fenced results are atomic even when several
processes share the file. Within a process, waiters are woken by notification; a result
written by *another* process is seen by re-reading (all awaited results in one query every
100 ms), so a waiter in a second process learns of it within about a tenth of a second.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from skilld.engine import defaults
from skilld.engine.breaker import BreakerState
from skilld.engine.sqlite import SQLiteBackend
from skilld.engine.stores.base import (
    Acquired,
    Busy,
    Claim,
    ClaimOutcome,
    Finished,
    Store,
    WorkerInfo,
    cancelled_result,
    finished_event,
    replace_struct,
    running_result,
    started_event,
)
from skilld.engine.task import TaskEvent, TaskResult, TaskStatus, decode_result, encode
from skilld.engine.urls import BackendURL

__all__ = ["SQLiteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    task_id TEXT PRIMARY KEY,
    terminal INTEGER NOT NULL,
    body BLOB NOT NULL,
    expires_at REAL NOT NULL,
    token TEXT,
    fence INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    cancel INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS results_expiry ON results (expires_at);
CREATE TABLE IF NOT EXISTS cancels (task_id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    task_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    data BLOB NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS breakers (name TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""
SCHEMA_VERSION = 2
# A task's claim lives in its result row (token, fence, worker, lease_until), so a claim or
# a finish is one read and one write. ``cancels`` holds cancellations of tasks the store
# has no row for yet; a claim consumes them.

_json = msgspec.json.Encoder()
_data = msgspec.json.Decoder(dict[str, Any])
_breaker = msgspec.json.Decoder(BreakerState)
_worker = msgspec.json.Decoder(WorkerInfo)

_TERMINAL_SET = (
    "terminal = 1, body = :body, expires_at = :expires, token = NULL, lease_until = 0, cancel = 0"
)


class _State(NamedTuple):
    body: bytes | None
    terminal: bool
    cancel: bool
    token: str | None
    fence: int
    worker: str
    lease_until: float


def _state(conn: sqlite3.Connection, task_id: str) -> _State:
    """Everything a claim, a finish or a cancellation decides on, in one statement."""
    row = conn.execute(
        "SELECT r.body, r.terminal,"
        " COALESCE(r.cancel, 0) OR EXISTS (SELECT 1 FROM cancels WHERE task_id = :id),"
        " r.token, r.fence, r.worker, r.lease_until"
        " FROM (SELECT :id AS id) AS k LEFT JOIN results AS r ON r.task_id = k.id",
        {"id": task_id},
    ).fetchone()
    return _State(
        row[0], bool(row[1]), bool(row[2]), row[3], row[4] or 0, row[5] or "", row[6] or 0.0
    )


def _append(conn: sqlite3.Connection, event: TaskEvent) -> None:
    conn.execute(
        "INSERT INTO events (task_id, seq, type, data, at)"
        " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM events WHERE task_id = ?",
        (event.task_id, event.type, _json.encode(event.data), event.at, event.task_id),
    )


def _write_terminal(conn: sqlite3.Connection, result: TaskResult, expires_at: float) -> None:
    """Store a terminal result over whatever the row holds (callers checked it may)."""
    conn.execute(
        "INSERT INTO results (task_id, terminal, body, expires_at) VALUES (:id, 1, :body, :expires)"
        f" ON CONFLICT (task_id) DO UPDATE SET {_TERMINAL_SET}",
        {"id": result.id, "body": encode(result), "expires": expires_at},
    )
    _append(conn, finished_event(result))


class SQLiteStore(SQLiteBackend, Store):
    """A store in a SQLite file.

    Args:
        path: the database file (created with its directory).
        result_ttl: seconds a terminal result is kept.
    """

    def __init__(self, path: Path | str, *, result_ttl: float = defaults.RESULT_TTL_S) -> None:
        super().__init__(result_ttl=result_ttl)
        self._init_sqlite(path, schema=SCHEMA, version=SCHEMA_VERSION)

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> SQLiteStore:
        url.setdefaults(options, result_ttl=defaults.RESULT_TTL_S)
        store = cls(url.path, **options)
        store.url = url.url
        return store

    async def _get(self, task_ids: Sequence[str]) -> dict[str, TaskResult]:
        now = self._clock()
        ids = list(task_ids)

        def op(conn: sqlite3.Connection) -> dict[str, TaskResult]:
            found: dict[str, TaskResult] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT task_id, body FROM results WHERE task_id IN ({marks})"
                    " AND expires_at > ?",
                    (*chunk, now),
                ).fetchall()
                found.update((r[0], decode_result(r[1])) for r in rows)
            return found

        return await self._db.run(op)

    async def _finished(self, task_ids: Sequence[str]) -> list[bool]:
        now = self._clock()
        ids = list(task_ids)

        def op(conn: sqlite3.Connection) -> set[str]:
            done: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT task_id FROM results WHERE task_id IN ({marks})"
                    " AND terminal = 1 AND expires_at > ?",
                    (*chunk, now),
                ).fetchall()
                done.update(r[0] for r in rows)
            return done

        done = await self._db.run(op)
        return [i in done for i in ids]

    async def _put_queued(self, results: Sequence[TaskResult], events: Sequence[TaskEvent]) -> None:
        expires = self._clock() + self.result_ttl

        def op(conn: sqlite3.Connection) -> None:
            for result, event in zip(results, events, strict=True):
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO results (task_id, terminal, body, expires_at)"
                    " VALUES (?, 0, ?, ?)",
                    (result.id, encode(result), expires),
                )
                if cursor.rowcount == 1:
                    _append(conn, event)

        await self._db.run(op)

    async def _claim(self, task_id: str, claim: Claim, now: float) -> ClaimOutcome:
        ttl = self.result_ttl

        def op(conn: sqlite3.Connection) -> ClaimOutcome:
            state = _state(conn, task_id)
            previous = None if state.body is None else decode_result(state.body)
            if state.terminal:
                assert previous is not None
                return Finished(previous)
            if state.cancel:
                result = cancelled_result(previous, task_id, now)
                _write_terminal(conn, result, now + ttl)
                conn.execute("DELETE FROM cancels WHERE task_id = ?", (task_id,))
                return Finished(result)
            if state.token is not None and state.lease_until > now:
                return Busy(state.worker, state.lease_until)
            mine = replace(claim, fence=state.fence + 1)
            conn.execute(
                "INSERT INTO results (task_id, terminal, body, expires_at, token, fence, worker,"
                " lease_until) VALUES (:id, 0, :body, :expires, :token, :fence, :worker, :until)"
                " ON CONFLICT (task_id) DO UPDATE SET body = :body, expires_at = :expires,"
                " token = :token, fence = :fence, worker = :worker, lease_until = :until",
                {
                    "id": task_id,
                    "body": encode(running_result(previous, mine, now)),
                    "expires": now + ttl,
                    "token": mine.token,
                    "fence": mine.fence,
                    "worker": mine.worker,
                    "until": mine.expires_at,
                },
            )
            _append(conn, started_event(mine))
            return Acquired(mine)

        return await self._db.run(op)

    async def _renew(self, claims: Sequence[Claim], until: float) -> set[str]:
        def op(conn: sqlite3.Connection) -> set[str]:
            lost: set[str] = set()
            for claim in claims:
                cursor = conn.execute(
                    "UPDATE results SET lease_until = ? WHERE task_id = ? AND token = ?",
                    (until, claim.task_id, claim.token),
                )
                if cursor.rowcount != 1:
                    lost.add(claim.token)
            return lost

        return await self._db.run(op)

    async def _release(self, claim: Claim, result: TaskResult | None) -> None:
        body = None if result is None else encode(result)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE results SET token = NULL, lease_until = 0, body = COALESCE(?, body)"
                " WHERE task_id = ? AND token = ?",
                (body, claim.task_id, claim.token),
            )

        await self._db.run(op)

    async def _finish(self, result: TaskResult, token: str | None, expires_at: float) -> bool:
        params = {"id": result.id, "body": encode(result), "expires": expires_at, "token": token}

        def op(conn: sqlite3.Connection) -> bool:
            if token is not None:
                cursor = conn.execute(
                    f"UPDATE results SET {_TERMINAL_SET}"
                    " WHERE task_id = :id AND token = :token AND terminal = 0",
                    params,
                )
                if cursor.rowcount != 1:
                    return False  # already finished, or the claim was taken over
            else:
                cursor = conn.execute(
                    f"UPDATE results SET {_TERMINAL_SET} WHERE task_id = :id AND terminal = 0",
                    params,
                )
                if cursor.rowcount != 1:
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO results (task_id, terminal, body, expires_at)"
                        " VALUES (:id, 1, :body, :expires)",
                        params,
                    )
                    if cursor.rowcount != 1:
                        return False  # a terminal result is there already
            _append(conn, finished_event(result))
            return True

        return await self._db.run(op)

    async def _reopen(self, task_id: str) -> bool:
        expires = self._clock() + self.result_ttl

        def op(conn: sqlite3.Connection) -> bool:
            state = _state(conn, task_id)
            if state.body is None:
                return False
            stored = decode_result(state.body)
            if stored.status is not TaskStatus.DEAD:
                return False
            conn.execute(
                "UPDATE results SET terminal = 0, body = ?, expires_at = ?, token = NULL"
                " WHERE task_id = ?",
                (encode(replace_struct(stored, status=TaskStatus.QUEUED)), expires, task_id),
            )
            return True

        return await self._db.run(op)

    async def _bind_key(self, key: str, task_id: str, ttl: float) -> str:
        now = self._clock()

        def op(conn: sqlite3.Connection) -> str:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE key = ? AND expires_at <= ?", (key, now)
            )
            conn.execute(
                "INSERT OR IGNORE INTO idempotency_keys (key, task_id, expires_at)"
                " VALUES (?, ?, ?)",
                (key, task_id, now + ttl),
            )
            row = conn.execute(
                "SELECT task_id FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchone()
            return str(row[0])

        return await self._db.run(op)

    async def _request_cancel(self, task_id: str, now: float) -> TaskResult | None:
        ttl = self.result_ttl

        def op(conn: sqlite3.Connection) -> TaskResult | None:
            state = _state(conn, task_id)
            if state.terminal:
                return None
            if state.body is None:
                conn.execute(
                    "INSERT OR IGNORE INTO cancels (task_id, at) VALUES (?, ?)", (task_id, now)
                )
                return None
            if state.token is None or state.lease_until <= now:
                result = cancelled_result(decode_result(state.body), task_id, now)
                _write_terminal(conn, result, now + ttl)
                return result
            conn.execute("UPDATE results SET cancel = 1 WHERE task_id = ?", (task_id,))
            return None

        return await self._db.run(op)

    async def _cancel_requested(self, task_ids: Collection[str]) -> set[str]:
        ids = list(task_ids)

        def op(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(ids), 400):
                chunk = ids[start : start + 400]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT task_id FROM results WHERE task_id IN ({marks}) AND cancel = 1"
                    f" UNION SELECT task_id FROM cancels WHERE task_id IN ({marks})",
                    (*chunk, *chunk),
                ).fetchall()
                found.update(r[0] for r in rows)
            return found

        return await self._db.run(op)

    async def _add_events(self, events: Sequence[TaskEvent]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            for event in events:
                _append(conn, event)

        await self._db.run(op)

    async def _events(self, task_id: str, after: int, limit: int) -> list[TaskEvent]:
        def op(conn: sqlite3.Connection) -> list[TaskEvent]:
            rows = conn.execute(
                "SELECT seq, type, data, at FROM events WHERE task_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (task_id, after, limit),
            ).fetchall()
            return [
                TaskEvent(task_id=task_id, offset=r[0], type=r[1], data=_data.decode(r[2]), at=r[3])
                for r in rows
            ]

        return await self._db.run(op)

    async def _get_breaker(self, name: str) -> BreakerState | None:
        def op(conn: sqlite3.Connection) -> BreakerState | None:
            row = conn.execute("SELECT body FROM breakers WHERE name = ?", (name,)).fetchone()
            return None if row is None else _breaker.decode(row[0])

        return await self._db.run(op)

    async def _put_breaker(self, name: str, state: BreakerState) -> None:
        body = _json.encode(state)

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO breakers (name, body) VALUES (?, ?)", (name, body))

        await self._db.run(op)

    async def _heartbeat(self, info: WorkerInfo, ttl: float) -> None:
        body = _json.encode(info)
        until = self._clock() + ttl

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO workers (id, body, expires_at) VALUES (?, ?, ?)",
                (info.id, body, until),
            )

        await self._db.run(op)

    async def _workers(self, now: float) -> list[WorkerInfo]:
        def op(conn: sqlite3.Connection) -> list[WorkerInfo]:
            rows = conn.execute(
                "SELECT body FROM workers WHERE expires_at > ? ORDER BY id", (now,)
            ).fetchall()
            return [_worker.decode(r[0]) for r in rows]

        return await self._db.run(op)

    async def _expire(self, now: float) -> int:
        ttl = self.result_ttl

        def op(conn: sqlite3.Connection) -> int:
            gone = [
                r[0]
                for r in conn.execute(
                    "SELECT task_id FROM results WHERE expires_at <= ?", (now,)
                ).fetchall()
            ]
            conn.executemany("DELETE FROM events WHERE task_id = ?", [(t,) for t in gone])
            conn.executemany("DELETE FROM results WHERE task_id = ?", [(t,) for t in gone])
            keys = conn.execute(
                "DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,)
            ).rowcount
            beats = conn.execute("DELETE FROM workers WHERE expires_at <= ?", (now,)).rowcount
            conn.execute("DELETE FROM cancels WHERE at <= ?", (now - ttl,))
            return len(gone) + keys + beats

        return await self._db.run(op)
