"""The Redis store: results, claims, fencing, keys, breakers, heartbeats and events.

One hash per task (``{p}t:{id}``, see :class:`~skilld.engine.redis_common.RedisKeys`)
holds its last stored result, a ``done`` flag once the result is terminal, the current
claim (token, fence, worker, start time) and the cancel flag, and expires with the result.
Every step that decides something is one Lua script, so it is atomic across any number of
workers:

* **claim**: terminal → finished; cancel flag → cancelled; else ``SET {p}l:{id} token NX
  PX lease`` — taken by another token → busy; else the fence goes up by one, the claim is
  recorded and a ``started`` event appended. The lease is renewed while the task runs and
  released only by a compare-and-delete (the lease is deleted only if it still holds the
  releaser's token).
* **finish** (the fencing check): writes the result only if no terminal result exists and
  the writer's token is still the task's current claim token — a worker whose lease
  expired and was taken over can never overwrite the result of the one that took over,
  and nobody overwrites a finished result.

Waiting is by notification, with no polling loop: each process keeps **one** pub/sub
connection; a waiter subscribes to its task's channel ``{p}n:{id}`` (reference-counted, so
a thousand waiters on a thousand tasks share that one connection), the finish script
publishes the result there and event appends publish ``e``. A blocking read per waiter
(``XREAD BLOCK``) was the alternative; it holds a connection per waiting client, which does
not scale to thousands of waiters. If the pub/sub connection drops (Redis restarted), it
is re-established with back-off, every channel is subscribed again and every waiter
re-reads its task, so no notification lost during the outage leaves a waiter hanging.
Cancellation requests travel on ``{p}cancel`` to every worker.

The hot path (claim, finish, events, acks) goes through an auto-pipeline: commands issued
together share one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import msgspec

from skilld.engine import defaults
from skilld.engine.breaker import BreakerState
from skilld.engine.redis_common import RedisBackend, from_redis_url, scripts
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
)
from skilld.engine.task import (
    TaskEvent,
    TaskResult,
    TaskStatus,
    decode_result,
    encode,
)
from skilld.engine.urls import BackendURL

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

__all__ = ["RedisStore"]

log = logging.getLogger("skilld.redis")

EVENTS_MAX = 10_000
"""Events kept per task (approximate trimming: the oldest go first)."""

_PRELUDE = """
local function keep(task, index, id, expires)
  redis.call('PEXPIREAT', task, expires)
  redis.call('ZADD', index, expires, id)
end
local function event(stream, expires, maxlen, type, data, at)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '0-*', 't', type, 'd', data, 'a', at)
  redis.call('PEXPIREAT', stream, expires)
end
"""

# KEYS: index, then (task, events) per task
# ARGV: expires_ms, maxlen, then (id, body, at, channel) per task
_PUT_QUEUED = (
    _PRELUDE
    + """
for i = 2, #KEYS, 2 do
  local j = 3 + (i - 2) * 2
  local id, task = ARGV[j], KEYS[i]
  if redis.call('HEXISTS', task, 'b') == 0 and redis.call('HEXISTS', task, 'tok') == 0 then
    redis.call('HSET', task, 'b', ARGV[j + 1])
    keep(task, KEYS[1], id, ARGV[1])
    event(KEYS[i + 1], ARGV[1], ARGV[2], 'queued', '{}', ARGV[j + 2])
    redis.call('PUBLISH', ARGV[j + 3], 'e')
  end
end
return 0
"""
)

# KEYS: task, lease, events, index
# ARGV: id, token, worker, lease_ms, now, expires_ms, maxlen, channel, attempt
_CLAIM = (
    _PRELUDE
    + """
local s = redis.call('HMGET', KEYS[1], 'b', 'd', 'x', 'f', 'w')
if s[2] then return {'finished', s[1]} end
if s[3] then return {'cancel', s[1]} end
local fence = tonumber(s[4] or '0') + 1
local free
if tonumber(ARGV[4]) > 0 then
  free = redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[4])
else
  free = redis.call('EXISTS', KEYS[2]) == 0  -- a lease that has run out already
end
if not free then
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then
    return {'busy', s[5] or '', redis.call('PTTL', KEYS[2])}
  end
  return {'acquired', fence - 1}  -- the same claim sent twice (a retried round trip)
end
redis.call('HSET', KEYS[1], 'tok', ARGV[2], 'f', fence, 'w', ARGV[3], 's', ARGV[5],
           'at', ARGV[9])
keep(KEYS[1], KEYS[4], ARGV[1], ARGV[6])
local data = cjson.encode({worker = ARGV[3], fence = fence, attempt = tonumber(ARGV[9])})
event(KEYS[3], ARGV[6], ARGV[7], 'started', data, ARGV[5])
redis.call('PUBLISH', ARGV[8], 'e')
return {'acquired', fence}
"""
)

# KEYS: (task, lease) per claim; ARGV: lease_ms, then the token of each claim
# -> the tokens that are no longer current
_RENEW = """
local lost = {}
for i = 1, #KEYS, 2 do
  local token = ARGV[1 + (i + 1) / 2]
  if redis.call('HGET', KEYS[i], 'tok') == token then
    redis.call('SET', KEYS[i + 1], token, 'PX', ARGV[1])
  else
    lost[#lost + 1] = token
  end
end
return lost
"""

# KEYS: task, lease; ARGV: token, result body or '' (compare-and-delete of the lease)
_RELEASE = """
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'tok')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[1], 'd') == 0 then
  redis.call('HSET', KEYS[1], 'b', ARGV[2])
end
return 1
"""

# KEYS: task, lease, events, index, finished
# ARGV: token or '', body, expires_ms, channel, finished data, at, maxlen, id,
#       then for a cancellation of a task nobody runs: the body it was decided on
_FINISH = (
    _PRELUDE
    + """
local s = redis.call('HMGET', KEYS[1], 'd', 'tok', 'b')
if s[1] then return 0 end
if ARGV[1] ~= '' and s[2] ~= ARGV[1] then return 0 end
if ARGV[9] then
  if s[3] ~= ARGV[9] then return 0 end
  if s[2] and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], 'b', ARGV[2], 'd', '1')
redis.call('HDEL', KEYS[1], 'tok', 'x')
redis.call('DEL', KEYS[2])
keep(KEYS[1], KEYS[4], ARGV[8], ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[8])
event(KEYS[3], ARGV[3], ARGV[7], 'finished', ARGV[5], ARGV[6])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
"""
)

# KEYS: task, finished; ARGV: the body read, the reopened body, id
# (compare-and-set: dead -> queued)
_REOPEN = """
if redis.call('HGET', KEYS[1], 'b') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'b', ARGV[2])
redis.call('HDEL', KEYS[1], 'd')
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
"""

# KEYS: key; ARGV: task id, ttl_ms -> the task id the key stands for
_BIND = """
if tonumber(ARGV[2]) <= 0 then return ARGV[1] end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])
"""

# KEYS: task, index, lease; ARGV: id, expires_ms, channel, message
# -> {'done'} | {'idle', body} (nobody runs it: the caller finishes it) | {'flagged'}
_CANCEL = (
    _PRELUDE
    + """
local s = redis.call('HMGET', KEYS[1], 'd', 'b', 'tok')
if s[1] then return {'done'} end
if s[2] and (not s[3] or redis.call('EXISTS', KEYS[3]) == 0) then return {'idle', s[2]} end
redis.call('HSET', KEYS[1], 'x', '1')
if redis.call('PTTL', KEYS[1]) < 0 then keep(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'flagged'}
"""
)

# KEYS: events; ARGV: expires_ms, maxlen, type, data, at, channel
_EVENT = (
    _PRELUDE
    + """
event(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
redis.call('PUBLISH', ARGV[6], 'e')
return 0
"""
)

# KEYS: index, workers, workers info, finished; ARGV: now_ms, key prefix -> entries dropped
_EXPIRE = """
local n = 0
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 10000)
for _, id in ipairs(due) do
  redis.call('DEL', ARGV[2] .. 't:' .. id, ARGV[2] .. 'e:' .. id, ARGV[2] .. 'l:' .. id)
  redis.call('ZREM', KEYS[1], id)
  n = n + 1
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  n = n + 1
end
return n
"""

_SCRIPTS = scripts(
    put_queued=_PUT_QUEUED,
    claim=_CLAIM,
    renew=_RENEW,
    release=_RELEASE,
    finish=_FINISH,
    reopen=_REOPEN,
    bind=_BIND,
    cancel=_CANCEL,
    event=_EVENT,
    expire=_EXPIRE,
)

_json = msgspec.json.Encoder()
_data = msgspec.json.Decoder(dict[str, Any])
_breaker = msgspec.json.Decoder(BreakerState)
_worker = msgspec.json.Decoder(WorkerInfo)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisStore(Store, RedisBackend):
    """A store on Redis (``redis://host:port/db?prefix=skilld:&result_ttl=SECONDS``).

    Args:
        url: the Redis URL (``redis://`` or ``rediss://``).
        prefix: the prefix of every key (see :class:`RedisKeys`).
        result_ttl: seconds a result (and its events) is kept.
        events_max: events kept per task (approximately; the oldest are trimmed).
    """

    notifies_across_processes = True
    _what = "store"
    _scripts = _SCRIPTS

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = defaults.KEY_PREFIX,
        result_ttl: float = defaults.RESULT_TTL_S,
        events_max: int = EVENTS_MAX,
    ) -> None:
        super().__init__(result_ttl=result_ttl)
        self._init_redis(url, prefix)
        self.events_max = events_max
        self._notifier: _Notifier | None = None
        # Task ids this store object holds claims on (a worker's running tasks): after
        # the notification connection was down, their cancel flags are read once, so a
        # cancellation requested during the outage still stops its task.
        self._held: set[str] = set()

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> RedisStore:
        url.setdefaults(options, result_ttl=defaults.RESULT_TTL_S)
        return from_redis_url(cls, url, options)

    @property
    def notifications_ok(self) -> bool:
        """False while the pub/sub connection is down (waiters then learn of results
        only when it is back and they re-read)."""
        return self._notifier is not None and self._notifier.healthy

    @property
    def cancels_pushed(self) -> bool:
        """Cancellations arrive on the pub/sub connection while it is up (after an
        outage, the tasks this store holds claims on are checked once)."""
        return self.notifications_ok

    async def _connect(self) -> None:
        self._open_client(name=f"skilld-store:{self._token_prefix}")
        self._notifier = _Notifier(self)
        with self._unavailable:
            await self._notifier.start()

    async def _close(self) -> None:
        if self._notifier is not None:
            await self._notifier.stop()
            self._notifier = None
        await self._close_client()

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        with self._unavailable:
            return await self._evalsha(name, keys, args)

    async def _call(self, *command: Any) -> Any:
        """One command through the auto-pipeline."""
        with self._unavailable:
            return await self._pipeline.call(*command)

    async def _many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Several commands through the auto-pipeline (one round trip when idle)."""
        with self._unavailable:
            return await self._pipeline.call_many(commands)

    def _expires_ms(self) -> int:
        return _ms(self._clock() + self.result_ttl)

    # -- waiting by notification (hooks of the base class) ------------------------------

    async def _watch(self, task_id: str) -> None:
        if self._notifier is not None:
            await self._notifier.watch(self.keys.notify(task_id))

    def _unwatch(self, task_id: str) -> None:
        if self._notifier is not None:
            self._notifier.unwatch(self.keys.notify(task_id))

    def _on_notify(self, task_id: str, data: bytes) -> None:
        if data == b"e":
            self._signal_events(task_id)
        else:
            self._resolve(decode_result(data))

    def _on_cancel(self, data: bytes) -> None:
        origin, _, task_id = _text(data).partition(":")
        if origin != self._token_prefix:  # this process's listeners heard it already
            for listener in list(self._cancel_listeners):
                listener(task_id)

    async def _recheck_one(self, task_id: str) -> None:
        result = await self.get(task_id)
        if result is not None and result.terminal:
            self._resolve(result)
        self._signal_events(task_id)

    async def _recheck(self) -> None:
        """After the pub/sub connection came back: wake every waiter whose task finished
        (or got events) while notifications were lost."""
        waiting = list(self._result_waiters)
        if waiting:
            for result in (await self._get(waiting)).values():
                if result.terminal:
                    self._resolve(result)
        for signal in self._event_signals.values():
            signal.set()
        if self._held and self._cancel_listeners:
            for task_id in await self._cancel_requested(list(self._held)):
                for listener in list(self._cancel_listeners):
                    listener(task_id)

    # -- primitives ------------------------------------------------------------------

    async def _get(self, task_ids: Sequence[str]) -> dict[str, TaskResult]:
        rows = await self._many(
            [("HMGET", self.keys.task(i), "b", "d", "tok", "w", "s", "at") for i in task_ids]
        )
        found: dict[str, TaskResult] = {}
        for task_id, row in zip(task_ids, rows, strict=True):
            body, done, token, worker, started, attempt = row
            previous = None if body is None else decode_result(body)
            if done or token is None:
                if previous is not None:
                    found[task_id] = previous
                continue
            # Claimed and not settled: shown as running, as the other stores write it.
            held = Claim(task_id, _text(token), 0, _text(worker or b""), 0.0, int(attempt or 0))
            found[task_id] = running_result(previous, held, float(started or 0))
        return found

    async def _finished(self, task_ids: Sequence[str]) -> list[bool]:
        # One ZMSCORE per 1,000 ids (all in one pipeline): a member scan of one sorted
        # set, a fraction of a microsecond per id, where a script checking each task's
        # hash costs Redis a microsecond and a half per id. A score is the result's
        # expiry: a result past it is gone even if the sweep has not run yet.
        now_ms = _ms(self._clock())
        finished = self.keys.finished()
        replies = await self._many(
            [("ZMSCORE", finished, *task_ids[i : i + 1000]) for i in range(0, len(task_ids), 1000)]
        )
        return [score is not None and float(score) > now_ms for reply in replies for score in reply]

    async def _put_queued(self, results: Sequence[TaskResult], events: Sequence[TaskEvent]) -> None:
        # Chunks of 500: one script never holds the server for long, and the chunks
        # still travel in one pipeline.
        calls = []
        for start in range(0, len(results), 500):
            keys = [self.keys.expiring()]
            args: list[Any] = [self._expires_ms(), self.events_max]
            for result, event in zip(
                results[start : start + 500], events[start : start + 500], strict=True
            ):
                keys += [self.keys.task(result.id), self.keys.events(result.id)]
                args += [result.id, encode(result), repr(event.at), self.keys.notify(result.id)]
            calls.append(self._script("put_queued", keys, args))
        await asyncio.gather(*calls)

    async def _claim(self, task_id: str, claim: Claim, now: float) -> ClaimOutcome:
        reply = await self._script(
            "claim",
            [
                self.keys.task(task_id),
                self.keys.lease(task_id),
                self.keys.events(task_id),
                self.keys.expiring(),
            ],
            [
                task_id,
                claim.token,
                claim.worker,
                _ms(claim.expires_at - now),
                repr(now),
                self._expires_ms(),
                self.events_max,
                self.keys.notify(task_id),
                claim.attempt,
            ],
        )
        kind = _text(reply[0])
        if kind == "acquired":
            self._held.add(task_id)
            return Acquired(replace(claim, fence=int(reply[1])))
        if kind == "busy":
            return Busy(_text(reply[1]), now + max(0, int(reply[2])) / 1000)
        previous = decode_result(reply[1]) if reply[1] else None
        if kind == "finished":
            assert previous is not None
            return Finished(previous)
        result = cancelled_result(previous, task_id, now)
        if await self._finish(result, None, now + self.result_ttl):
            return Finished(result)
        stored = await self.get(task_id)  # someone finished it meanwhile: theirs stands
        assert stored is not None
        return Finished(stored)

    async def _renew(self, claims: Sequence[Claim], until: float) -> set[str]:
        keys: list[str] = []
        for claim in claims:
            keys += [self.keys.task(claim.task_id), self.keys.lease(claim.task_id)]
        lease_ms = max(1, _ms(until - self._clock()))
        lost = await self._script("renew", keys, [lease_ms, *(c.token for c in claims)])
        return {_text(token) for token in lost}

    async def _release(self, claim: Claim, result: TaskResult | None) -> None:
        self._held.discard(claim.task_id)
        await self._script(
            "release",
            [self.keys.task(claim.task_id), self.keys.lease(claim.task_id)],
            [claim.token, b"" if result is None else encode(result)],
        )

    async def _finish(
        self,
        result: TaskResult,
        token: str | None,
        expires_at: float,
        *,
        if_idle_with: bytes | None = None,
    ) -> bool:
        event = finished_event(result)
        extra = [] if if_idle_with is None else [if_idle_with]
        if token is not None:
            self._held.discard(result.id)
        written = await self._script(
            "finish",
            [
                self.keys.task(result.id),
                self.keys.lease(result.id),
                self.keys.events(result.id),
                self.keys.expiring(),
                self.keys.finished(),
            ],
            [
                token or "",
                encode(result),
                _ms(expires_at),
                self.keys.notify(result.id),
                _json.encode(event.data),
                repr(event.at),
                self.events_max,
                result.id,
                *extra,
            ],
        )
        return bool(written)

    async def _reopen(self, task_id: str) -> bool:
        with self._unavailable:
            body = await self.client.hget(self.keys.task(task_id), "b")
        if body is None:
            return False
        stored = decode_result(body)
        if stored.status is not TaskStatus.DEAD:
            return False
        reopened = encode(replace_struct(stored, status=TaskStatus.QUEUED))
        return bool(
            await self._script(
                "reopen", [self.keys.task(task_id), self.keys.finished()], [body, reopened, task_id]
            )
        )

    async def _bind_key(self, key: str, task_id: str, ttl: float) -> str:
        bound = await self._script("bind", [self.keys.idempotency(key)], [task_id, _ms(ttl)])
        return _text(bound)

    async def _request_cancel(self, task_id: str, now: float) -> TaskResult | None:
        # Decided in Lua; a task nobody runs is then finished with a compare-and-set on
        # the body the decision saw (if a worker claimed it meanwhile, decide again).
        for _ in range(10):
            reply = await self._script(
                "cancel",
                [self.keys.task(task_id), self.keys.expiring(), self.keys.lease(task_id)],
                [
                    task_id,
                    self._expires_ms(),
                    self.keys.cancel_channel(),
                    f"{self._token_prefix}:{task_id}",
                ],
            )
            if _text(reply[0]) != "idle":
                return None
            result = cancelled_result(decode_result(reply[1]), task_id, now)
            if await self._finish(result, None, now + self.result_ttl, if_idle_with=reply[1]):
                return result
        return None

    async def _cancel_requested(self, task_ids: Collection[str]) -> set[str]:
        ids = list(task_ids)
        flags = await self._many([("HEXISTS", self.keys.task(i), "x") for i in ids])
        return {i for i, flagged in zip(ids, flags, strict=True) if flagged}

    async def _add_events(self, events: Sequence[TaskEvent]) -> None:
        expires = self._expires_ms()
        await asyncio.gather(
            *(
                self._script(
                    "event",
                    [self.keys.events(e.task_id)],
                    [
                        expires,
                        self.events_max,
                        e.type,
                        _json.encode(e.data),
                        repr(e.at),
                        self.keys.notify(e.task_id),
                    ],
                )
                for e in events
            )
        )

    async def _events(self, task_id: str, after: int, limit: int) -> list[TaskEvent]:
        entries = await self._call(
            "XRANGE", self.keys.events(task_id), f"(0-{after}", "+", "COUNT", limit
        )
        events: list[TaskEvent] = []
        for entry_id, flat in entries:  # raw reply: [id, [field, value, ...]]
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            events.append(
                TaskEvent(
                    task_id=task_id,
                    offset=int(_text(entry_id).partition("-")[2]),
                    type=_text(fields[b"t"]),
                    data=_data.decode(fields[b"d"]),
                    at=float(fields[b"a"]),
                )
            )
        return events

    async def _get_breaker(self, name: str) -> BreakerState | None:
        body = await self._call("HGET", self.keys.breakers(), name)
        return None if body is None else _breaker.decode(body)

    async def _put_breaker(self, name: str, state: BreakerState) -> None:
        with self._unavailable:
            await self.client.hset(self.keys.breakers(), name, _json.encode(state))

    async def _heartbeat(self, info: WorkerInfo, ttl: float) -> None:
        with self._unavailable:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.zadd(self.keys.workers(), {info.id: _ms(self._clock() + ttl)})
                pipe.hset(self.keys.workers_info(), info.id, _json.encode(info))
                await pipe.execute()

    async def _workers(self, now: float) -> list[WorkerInfo]:
        with self._unavailable:
            ids = await self.client.zrangebyscore(self.keys.workers(), f"({_ms(now)}", "+inf")
            if not ids:
                return []
            bodies = await self._call("HMGET", self.keys.workers_info(), *ids)
        return sorted((_worker.decode(b) for b in bodies if b is not None), key=lambda w: w.id)

    async def _expire(self, now: float) -> int:
        keys = [
            self.keys.expiring(),
            self.keys.workers(),
            self.keys.workers_info(),
            self.keys.finished(),
        ]
        return int(await self._script("expire", keys, [_ms(now), self.keys.prefix]))

    # -- housekeeping ----------------------------------------------------------------

    async def delete_all(self) -> int:
        """Delete every key under this store's prefix (tests; tearing a deployment down).
        Uses ``SCAN``, so it does not block the server."""
        deleted = 0
        with self._unavailable:
            batch: list[bytes] = []
            async for key in self.client.scan_iter(match=f"{self.keys.prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    deleted += int(await self.client.delete(*batch))
                    batch.clear()
            if batch:
                deleted += int(await self.client.delete(*batch))
        return deleted


class _Notifier:
    """One pub/sub connection per store: reference-counted channel subscriptions, the
    reader loop, and reconnection with back-off."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._notify_prefix = store.keys.notify("")
        self._cancel = store.keys.cancel_channel()
        self._counts: dict[str, int] = {}
        self._confirm: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self.healthy = False

    async def start(self) -> None:
        self._pubsub = await self._subscribe_all()
        self.healthy = True
        self._reader = asyncio.create_task(self._read(), name="skilld-redis-notify")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()

    async def _drop_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None

    async def _subscribe_all(self) -> PubSub:
        pubsub = self._store.client.pubsub()
        channels = [self._cancel, *self._counts]
        try:
            for start in range(0, len(channels), 1000):
                await pubsub.subscribe(*channels[start : start + 1000])
        except BaseException:
            # Give its connection back: a reconnect loop must not drain the pool.
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        return pubsub

    async def watch(self, channel: str) -> None:
        """Subscribe (once per channel) and wait until Redis confirms, so a publish made
        after this returns is heard."""
        count = self._counts.get(channel, 0)
        self._counts[channel] = count + 1
        if count or self._pubsub is None or not self.healthy:
            return  # already subscribed, or the reconnect will subscribe it
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirm.setdefault(channel, []).append(confirmed)
        try:
            await self._pubsub.subscribe(channel)
            await asyncio.wait_for(asyncio.shield(confirmed), 5.0)
        except Exception as exc:  # the reader notices the broken connection
            log.warning("subscribing to %s failed: %s", channel, exc)

    def unwatch(self, channel: str) -> None:
        count = self._counts.get(channel, 0) - 1
        if count > 0:
            self._counts[channel] = count
            return
        self._counts.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None and self.healthy:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(pubsub, channel))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _unsubscribe(self, pubsub: PubSub, channel: str) -> None:
        if channel in self._counts:  # watched again meanwhile
            return
        await pubsub.unsubscribe(channel)
        if channel in self._counts and self._pubsub is pubsub:
            # Watched again while the unsubscribe was on its way: subscribe again and
            # re-read, since a notification may have fallen between the two.
            await pubsub.subscribe(channel)
            await self._store._recheck_one(channel[len(self._notify_prefix) :])

    async def _read(self) -> None:
        pause = 0.05
        while True:
            try:
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=None)
                if message is not None:
                    self._dispatch(message)
                pause = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.healthy:
                    log.error(
                        "Redis store notifications at %s lost (%s: %s); reconnecting",
                        self._store._unavailable.url,
                        type(exc).__name__,
                        exc,
                    )
                self.healthy = False
                await self._drop_pubsub()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
                try:
                    self._pubsub = await self._subscribe_all()
                except Exception:
                    await self._drop_pubsub()
                    continue
                self.healthy = True
                log.warning(
                    "Redis store notifications at %s are back", self._store._unavailable.url
                )
                for futures in self._confirm.values():
                    for future in futures:
                        if not future.done():
                            future.set_result(None)
                self._confirm.clear()
                try:
                    await self._store._recheck()
                except Exception:
                    log.exception("re-reading waited-for results after a reconnect failed")

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        kind = _text(message["type"])
        if kind == "subscribe":
            for future in self._confirm.pop(channel, ()):
                if not future.done():
                    future.set_result(None)
            return
        if kind != "message":
            return
        data = message["data"]
        if channel == self._cancel:
            self._store._on_cancel(data)
        elif channel.startswith(self._notify_prefix):
            self._store._on_notify(channel[len(self._notify_prefix) :], data)
