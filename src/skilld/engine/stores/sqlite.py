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
from typing import Any

import msgspec

from skilld.engine import defaults
from skilld.engine.breaker import BreakerState
from skilld.engine.sqlite import SQLiteDB
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
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS results_expiry ON results (expires_at);
CREATE TABLE IF NOT EXISTS claims (
    task_id TEXT PRIMARY KEY,
    token TEXT,
    fence INTEGER NOT NULL,
    worker TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cancels (task_id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
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

_json = msgspec.json.Encoder()
_data = msgspec.json.Decoder(dict[str, Any])
_breaker = msgspec.json.Decoder(BreakerState)
_worker = msgspec.json.Decoder(WorkerInfo)


def _row_result(conn: sqlite3.Connection, task_id: str) -> tuple[TaskResult, bool] | None:
    row = conn.execute(
        "SELECT body, terminal FROM results WHERE task_id = ?", (task_id,)
    ).fetchone()
    return None if row is None else (decode_result(row[0]), bool(row[1]))


def _state(
    conn: sqlite3.Connection, task_id: str
) -> tuple[bytes | None, bool, bool, str | None, int | None, str, float]:
    """Everything a claim or a finish decides on, in one statement: (result body,
    terminal, cancel requested, claim token, fence, holder, lease expiry)."""
    row = conn.execute(
        "SELECT r.body, r.terminal, EXISTS (SELECT 1 FROM cancels WHERE task_id = :id),"
        " c.token, c.fence, c.worker, c.expires_at"
        " FROM (SELECT :id AS id) AS k"
        " LEFT JOIN results AS r ON r.task_id = k.id"
        " LEFT JOIN claims AS c ON c.task_id = k.id",
        {"id": task_id},
    ).fetchone()
    return row[0], bool(row[1]), bool(row[2]), row[3], row[4], row[5] or "", row[6] or 0.0


def _append(conn: sqlite3.Connection, event: TaskEvent) -> None:
    conn.execute(
        "INSERT INTO events (task_id, seq, type, data, at)"
        " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ? FROM events WHERE task_id = ?",
        (event.task_id, event.type, _json.encode(event.data), event.at, event.task_id),
    )


def _write(
    conn: sqlite3.Connection, result: TaskResult, expires_at: float, *, insert_only: bool = False
) -> bool:
    verb = "INSERT OR IGNORE" if insert_only else "INSERT OR REPLACE"
    cursor = conn.execute(
        f"{verb} INTO results (task_id, terminal, body, expires_at) VALUES (?, ?, ?, ?)",
        (result.id, int(result.terminal), encode(result), expires_at),
    )
    return cursor.rowcount == 1


class SQLiteStore(Store):
    """A store in a SQLite file.

    Args:
        path: the database file (created with its directory).
        result_ttl: seconds a terminal result is kept.
    """

    def __init__(self, path: Path | str, *, result_ttl: float = defaults.RESULT_TTL_S) -> None:
        super().__init__(result_ttl=result_ttl)
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._db = SQLiteDB(self.path, schema=SCHEMA)

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> SQLiteStore:
        options.setdefault("result_ttl", url.float_option("result_ttl", defaults.RESULT_TTL_S))
        store = cls(url.path, **options)
        store.url = url.url
        return store

    async def _connect(self) -> None:
        await self._db.open()

    async def _close(self) -> None:
        await self._db.close()

    async def _get(self, task_ids: Sequence[str]) -> dict[str, TaskResult]:
        now = self._clock()

        def op(conn: sqlite3.Connection) -> dict[str, TaskResult]:
            found: dict[str, TaskResult] = {}
            for task_id in task_ids:
                row = conn.execute(
                    "SELECT body FROM results WHERE task_id = ? AND expires_at > ?",
                    (task_id, now),
                ).fetchone()
                if row is not None:
                    found[task_id] = decode_result(row[0])
            return found

        return await self._db.run(op)

    async def _put_queued(self, results: Sequence[TaskResult], events: Sequence[TaskEvent]) -> None:
        expires = self._clock() + self.result_ttl

        def op(conn: sqlite3.Connection) -> None:
            for result, event in zip(results, events, strict=True):
                if _write(conn, result, expires, insert_only=True):
                    _append(conn, event)

        await self._db.run(op)

    async def _claim(self, task_id: str, claim: Claim, now: float) -> ClaimOutcome:
        ttl = self.result_ttl

        def op(conn: sqlite3.Connection) -> ClaimOutcome:
            body, terminal, cancel, token, fence, worker, expires_at = _state(conn, task_id)
            previous = None if body is None else decode_result(body)
            if terminal:
                assert previous is not None
                return Finished(previous)
            if cancel:
                result = cancelled_result(previous, task_id, now)
                self._finish_in(conn, result, now + ttl, had_cancel=True)
                return Finished(result)
            if token is not None and expires_at > now:
                return Busy(worker, expires_at)
            mine = replace(claim, fence=(fence or 0) + 1)
            conn.execute(
                "INSERT OR REPLACE INTO claims (task_id, token, fence, worker, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (task_id, mine.token, mine.fence, mine.worker, mine.expires_at),
            )
            _write(conn, running_result(previous, mine, now), now + ttl)
            _append(conn, started_event(mine))
            return Acquired(mine)

        return await self._db.run(op)

    async def _renew(self, claims: Sequence[Claim], until: float) -> set[str]:
        def op(conn: sqlite3.Connection) -> set[str]:
            lost: set[str] = set()
            for claim in claims:
                cursor = conn.execute(
                    "UPDATE claims SET expires_at = ? WHERE task_id = ? AND token = ?",
                    (until, claim.task_id, claim.token),
                )
                if cursor.rowcount != 1:
                    lost.add(claim.token)
            return lost

        return await self._db.run(op)

    async def _release(self, claim: Claim, result: TaskResult | None) -> None:
        expires = self._clock() + self.result_ttl

        def op(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE claims SET token = NULL WHERE task_id = ? AND token = ?",
                (claim.task_id, claim.token),
            )
            if cursor.rowcount == 1 and result is not None:
                stored = _row_result(conn, claim.task_id)
                if stored is None or not stored[1]:
                    _write(conn, result, expires)

        await self._db.run(op)

    @staticmethod
    def _finish_in(
        conn: sqlite3.Connection,
        result: TaskResult,
        expires_at: float,
        *,
        had_claim: bool = True,
        had_cancel: bool = True,
    ) -> None:
        _write(conn, result, expires_at)
        if had_claim:
            conn.execute("DELETE FROM claims WHERE task_id = ?", (result.id,))
        if had_cancel:
            conn.execute("DELETE FROM cancels WHERE task_id = ?", (result.id,))
        _append(conn, finished_event(result))

    async def _finish(self, result: TaskResult, token: str | None, expires_at: float) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            _, terminal, cancel, held, fence, _, _ = _state(conn, result.id)
            if terminal:
                return False
            if token is not None and held != token:
                return False
            self._finish_in(
                conn, result, expires_at, had_claim=fence is not None, had_cancel=cancel
            )
            return True

        return await self._db.run(op)

    async def _reopen(self, task_id: str) -> bool:
        expires = self._clock() + self.result_ttl

        def op(conn: sqlite3.Connection) -> bool:
            stored = _row_result(conn, task_id)
            if stored is None or stored[0].status is not TaskStatus.DEAD:
                return False
            _write(conn, replace_struct(stored[0], status=TaskStatus.QUEUED), expires)
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
            body, terminal, cancel, token, fence, _, expires_at = _state(conn, task_id)
            if terminal:
                return None
            if body is not None and (token is None or expires_at <= now):
                result = cancelled_result(decode_result(body), task_id, now)
                self._finish_in(
                    conn, result, now + ttl, had_claim=fence is not None, had_cancel=cancel
                )
                return result
            conn.execute(
                "INSERT OR IGNORE INTO cancels (task_id, at) VALUES (?, ?)", (task_id, now)
            )
            return None

        return await self._db.run(op)

    async def _cancel_requested(self, task_ids: Collection[str]) -> set[str]:
        ids = list(task_ids)

        def op(conn: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT task_id FROM cancels WHERE task_id IN ({marks})", chunk
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
            return len(gone) + keys + beats

        return await self._db.run(op)
