"""The Redis Streams broker: consumer groups, reclaiming, delayed retries, dead letters.

Layout (see :class:`~skilld.engine.redis_common.RedisKeys`): one stream per priority
(0-9) read by one consumer group, so a higher priority is served first without scanning;
a sorted set of delayed messages (retries with backoff, deferrals) that a small Lua step
moves back into their stream when due; a stream of dead letters.

Delivery::

    XADD ─► stream ─► XREADGROUP (lease) ─┬─ ack ───────► XACK + XDEL (trimmed at once)
                                          ├─ retry ─────► XACK + XDEL, ZADD delayed
                                          ├─ release ───► re-XADD (count kept), XACK + XDEL
                                          ├─ defer ─────► like retry, count kept
                                          ├─ dead ──────► XACK + XDEL, XADD dead stream
                                          └─ consumer died: idle > visibility timeout
                                             ─► XAUTOCLAIM by one reclaimer at a time

Each step that settles a message first checks, in the same Lua script, that the entry is
still pending *for this consumer with the same delivery count*: the count goes up when
another consumer reclaims it, so it fences a consumer whose lease ran out (its late ack
cannot remove what another consumer now runs). Extending a lease (``XCLAIM ... JUSTID``
to itself) resets the idle clock for one more visibility timeout.

A consumer blocks in ``XREADGROUP BLOCK`` while the queue is empty, waking up for new
messages at once, for due delayed messages, and every half visibility timeout to take
its turn at reclaiming. Redis restarted without persistence loses the queue (see the
README, "Redis: what an outage loses"); the groups are declared again on ``NOGROUP``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from skilld.engine import defaults
from skilld.engine.brokers.base import Broker, DeadLetter, Message, RawDelivery, is_replayable
from skilld.engine.redis_common import RedisBackend, from_redis_url, scripts
from skilld.engine.urls import BackendURL

if TYPE_CHECKING:
    pass

__all__ = ["RedisBroker"]

PRIORITIES = range(10)

# owned: is the entry id pending for this consumer with this delivery count? field: one
# field of an entry. settle: take an entry off the stream for good (acked and deleted).
_OWNED = """
local function owned(stream, group, consumer, id, count)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  return p[1] ~= nil and p[1][2] == consumer and tostring(p[1][4]) == count
end
local function field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return false
end
local function settle(stream, group, id)
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end
"""

# The scripts that settle a batch of handles: KEYS: the stream of each handle; ARGV:
# group, consumer, then (id, count) per key. each_owned(f) calls f(stream, id, count) for
# the handles still owned (see _OWNED) and returns how many there were.
_EACH_OWNED = (
    _OWNED
    + """
local function each_owned(f)
  local n = 0
  for i = 1, #KEYS do
    local id, count = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
    if owned(KEYS[i], ARGV[1], ARGV[2], id, count) then
      f(KEYS[i], id, count)
      n = n + 1
    end
  end
  return n
end
"""
)

# KEYS: delayed, lock, stream 0..9, cursor 0..9
# ARGV: group, consumer, limit, now_ms, idle_ms, lock_ms, forget_consumers_after_ms
# -> {next_due_ms or -1, p, id, count, body, prior, p, id, ...}
_FETCH = (
    _OWNED
    + """
local group, consumer = ARGV[1], ARGV[2]
local limit, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, m in ipairs(due) do
  local stream = KEYS[3 + tonumber(string.sub(m, 1, 1))]
  local carried = string.match(string.sub(m, 2, 33), ':(%d+)$')
  if carried then
    redis.call('XADD', stream, '*', 'b', string.sub(m, 34), 'd', carried)
  else
    redis.call('XADD', stream, '*', 'b', string.sub(m, 34))
  end
  redis.call('ZREM', KEYS[1], m)
end
local out = {-1}
local n = 0
local function add(p, e, count)
  out[#out + 1] = p
  out[#out + 1] = e[1]
  out[#out + 1] = count
  out[#out + 1] = field(e[2], 'b')
  out[#out + 1] = field(e[2], 'd') or '0'
  n = n + 1
end
if redis.call('SET', KEYS[2], consumer, 'NX', 'PX', ARGV[6]) then
  for p = 9, 0, -1 do
    -- consumers gone for ARGV[7] ms with nothing pending: forget them
    local consumers = {}
    if redis.call('EXISTS', KEYS[3 + p]) == 1 then
      consumers = redis.call('XINFO', 'CONSUMERS', KEYS[3 + p], group)
    end
    for _, c in ipairs(consumers) do
      local name, pending, idle
      for i = 1, #c, 2 do
        if c[i] == 'name' then name = c[i + 1]
        elseif c[i] == 'pending' then pending = c[i + 1]
        elseif c[i] == 'idle' then idle = c[i + 1] end
      end
      if pending == 0 and idle > tonumber(ARGV[7]) then
        redis.call('XGROUP', 'DELCONSUMER', KEYS[3 + p], group, name)
      end
    end
  end
  for p = 9, 0, -1 do
    if n >= limit then break end
    local stream = KEYS[3 + p]
    local cursor = redis.call('GET', KEYS[13 + p]) or '0-0'
    local r = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[5], cursor,
                         'COUNT', limit - n)
    redis.call('SET', KEYS[13 + p], r[1])
    for _, e in ipairs(r[2]) do
      local pend = redis.call('XPENDING', stream, group, e[1], e[1], 1)
      add(p, e, pend[1][4])
    end
  end
end
for p = 9, 0, -1 do
  if n >= limit then break end
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit - n,
                       'STREAMS', KEYS[3 + p], '>')
  if r then
    for _, e in ipairs(r[1][2]) do add(p, e, 1) end
  end
end
if n == 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if first[2] then out[1] = tonumber(first[2]) end
end
return out
"""
)

_ACK = (
    _EACH_OWNED
    + """
return each_owned(function(stream, id) settle(stream, ARGV[1], id) end)
"""
)

# KEYS: stream, target stream, delayed
# ARGV: group, consumer, id, count, body, due_ms (0: now), member prefix (see _member_tag),
# deliveries carried over (Message.failed)
_REQUEUE = (
    _OWNED
    + """
if not owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
settle(KEYS[1], ARGV[1], ARGV[3])
if tonumber(ARGV[6]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7] .. ARGV[5])
else
  redis.call('XADD', KEYS[2], '*', 'b', ARGV[5], 'd', ARGV[8])
end
return 1
"""
)

# The message goes to the end of its stream with its delivery count carried in 'd' (this
# delivery not counted: a hand-back is not a delivery that failed).
_RELEASE = (
    _EACH_OWNED
    + """
return each_owned(function(stream, id, count)
  local e = redis.call('XRANGE', stream, id, id)[1]
  if e then
    local prior = tonumber(field(e[2], 'd') or '0') + tonumber(count) - 1
    redis.call('XADD', stream, '*', 'b', field(e[2], 'b'), 'd', prior)
  end
  settle(stream, ARGV[1], id)
end)
"""
)

# KEYS: stream, dead stream; ARGV: group, consumer, id, count, then the letter's fields
_DEAD = (
    _OWNED
    + """
if not owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
settle(KEYS[1], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))
return 1
"""
)

_EXTEND = (
    _EACH_OWNED
    + """
each_owned(function(stream, id) redis.call('XCLAIM', stream, ARGV[1], ARGV[2], 0, id, 'JUSTID') end)
return 0
"""
)

_LAST_DELIVERED = """
local function last_delivered(stream, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] end
      if g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    if name == group then return last end
  end
  return '0-0'
end
"""

# KEYS: delayed, stream 0..9; ARGV: group -> waiting (not leased) messages
_DEPTH = """
local n = redis.call('ZCARD', KEYS[1])
for i = 2, #KEYS do
  n = n + redis.call('XLEN', KEYS[i]) - redis.call('XPENDING', KEYS[i], ARGV[1])[1]
end
return n
"""

# KEYS: delayed, stream 0..9; ARGV: group -> how many waiting messages were dropped
_PURGE = (
    _LAST_DELIVERED
    + """
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  local waiting = redis.call('XRANGE', KEYS[i], '(' .. last_delivered(KEYS[i], ARGV[1]), '+')
  for _, e in ipairs(waiting) do
    redis.call('XDEL', KEYS[i], e[1])
    n = n + 1
  end
end
return n
"""
)

_SCRIPTS = scripts(
    fetch=_FETCH,
    ack=_ACK,
    requeue=_REQUEUE,
    release=_RELEASE,
    dead=_DEAD,
    extend=_EXTEND,
    depth=_DEPTH,
    purge=_PURGE,
)

_LETTER_FIELDS = ("i", "b", "r", "t", "f", "k", "s", "a")


def _letter_from(fields: dict[bytes, bytes]) -> DeadLetter:
    def text(name: str) -> str:
        return fields.get(name.encode(), b"").decode()

    return DeadLetter(
        id=text("i"),
        body=fields.get(b"b", b""),
        reason=text("r"),
        error_type=text("t"),
        failed_at=float(text("f") or 0),
        task_id=text("k") or None,
        skill=text("s") or None,
        attempts=int(text("a") or 0),
    )


def _member_tag(priority: int, failed: int) -> str:
    """The 33 characters that start a delayed message's sorted-set member: its priority,
    then a unique tag ending in ``:N`` when it carries N deliveries (``Message.failed``)
    into the stream entry it becomes. A uuid is hex, so ``:`` never occurs by chance."""
    if failed <= 0:
        return f"{priority}{uuid.uuid4().hex}"
    tail = f":{min(failed, 9_999_999)}"
    return f"{priority}{uuid.uuid4().hex[: 32 - len(tail)]}{tail}"


class RedisBroker(Broker, RedisBackend):
    """A queue on Redis Streams (``redis://host:port/db?queue=NAME&prefix=skilld:``).

    Args:
        url: the Redis URL (``redis://`` or ``rediss://``; redis-py's own options too).
        queue: the queue's name (several queues can share one Redis and prefix).
        prefix: the prefix of every key (see :class:`RedisKeys`).
        visibility_timeout: seconds a fetched message may stay idle (not acked, not
            extended) before another consumer reclaims it.
        max_deliveries: see :class:`~skilld.engine.brokers.base.Broker`.
        consumer: this consumer's name in the group (default ``host:pid:random``).
        consumer_ttl: a consumer silent this long with nothing pending is removed from
            the group by the reclaimer, so dead workers do not pile up in
            ``XINFO CONSUMERS``.
    """

    supports_priority = True
    _what = "broker"
    _scripts = _SCRIPTS

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        queue: str = defaults.QUEUE,
        prefix: str = defaults.KEY_PREFIX,
        visibility_timeout: float = defaults.VISIBILITY_TIMEOUT_S,
        max_deliveries: int = 20,
        consumer: str | None = None,
        consumer_ttl: float = 3600.0,
    ) -> None:
        super().__init__(max_deliveries=max_deliveries)
        self._init_redis(url, prefix)
        self.queue = queue
        self.visibility_timeout = visibility_timeout
        self.consumer_ttl = consumer_ttl
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._streams = [self.keys.stream(queue, p) for p in PRIORITIES]
        self._cursors = [self.keys.reclaim_cursor(queue, p) for p in PRIORITIES]
        self._group = self.keys.group()

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> RedisBroker:
        url.setdefaults(
            options, queue=defaults.QUEUE, visibility_timeout=defaults.VISIBILITY_TIMEOUT_S
        )
        return from_redis_url(cls, url, options)

    # -- plumbing --------------------------------------------------------------------

    async def _connect(self) -> None:
        self._open_client(name=f"skilld-broker:{self.consumer}")
        with self._unavailable:
            await self._declare()

    async def _close(self) -> None:
        await self._close_client()

    async def _cmd(self, *command: Any) -> Any:
        """One plain command (the reply parsed as redis-py parses it)."""
        return await self.client.execute_command(*command)  # type: ignore[no-untyped-call]

    async def _declare(self) -> None:
        """Create the consumer group on every priority stream (idempotent). Id ``0``: a
        stream that already holds messages (published before any consumer) keeps them."""
        from redis.exceptions import ResponseError

        for stream in self._streams:
            try:
                await self.client.xgroup_create(stream, self._group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one of the scripts through the auto-pipeline; declare the groups again
        when Redis lost them (it restarted without persistence)."""
        from redis.exceptions import ResponseError

        with self._unavailable:
            try:
                return await self._evalsha(name, keys, args)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
            await self._declare()
            return await self._evalsha(name, keys, args)

    def _settle_args(self, handles: Sequence[Any]) -> tuple[list[str], list[Any]]:
        keys = [h[0] for h in handles]
        args: list[Any] = [self._group, self.consumer]
        for _, entry_id, count in handles:
            args += [entry_id, count]
        return keys, args

    # -- primitives ------------------------------------------------------------------

    async def _publish(self, messages: Sequence[Message]) -> None:
        now_ms = int(time.time() * 1000)
        with self._unavailable:
            async with self.client.pipeline(transaction=False) as pipe:
                for m in messages:
                    priority = min(max(m.priority, 0), 9)
                    if m.delay > 0:
                        due = now_ms + int(m.delay * 1000)
                        member = _member_tag(priority, m.failed).encode() + m.body
                        pipe.zadd(self.keys.delayed(self.queue), {member: due})
                    elif m.failed:
                        pipe.xadd(self._streams[priority], {"b": m.body, "d": m.failed})
                    else:
                        pipe.xadd(self._streams[priority], {"b": m.body})
                await pipe.execute()

    async def _fetch(self, limit: int, timeout: float) -> Sequence[RawDelivery]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        visibility_ms = max(1, int(self.visibility_timeout * 1000))
        while True:
            reply = await self._script(
                "fetch",
                [
                    self.keys.delayed(self.queue),
                    self.keys.reclaim_lock(self.queue),
                    *self._streams,
                    *self._cursors,
                ],
                [
                    self._group,
                    self.consumer,
                    limit,
                    int(time.time() * 1000),
                    visibility_ms,
                    max(1, visibility_ms // 2),
                    max(0, int(self.consumer_ttl * 1000)),
                ],
            )
            next_due, found = int(reply[0]), reply[1:]
            if found:
                return [
                    RawDelivery(
                        body or b"",  # an entry without a body (written by hand): malformed
                        (self._streams[int(p)], entry_id, int(count)),
                        int(count) + int(prior),
                    )
                    for p, entry_id, count, body, prior in zip(*[iter(found)] * 5, strict=True)
                ]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            # Block until a message arrives, a delayed one is due, or it is time to take a
            # turn at reclaiming; then go round (the script does the leasing).
            wait = min(remaining, self.visibility_timeout / 2)
            if next_due >= 0:
                wait = min(wait, max(0.0, next_due / 1000 - time.time()))
            if wait > 0.001:
                got = await self._block(limit, wait)
                if got:
                    return got

    async def _block(self, limit: int, wait: float) -> list[RawDelivery]:
        """``XREADGROUP BLOCK`` on every priority stream; returns what it leased (at most
        ``limit``: extras, possible when several streams answer at once, go back)."""
        from redis.exceptions import ResponseError

        streams = list(reversed(self._streams))
        with self._unavailable:
            try:
                reply = await self._cmd(
                    "XREADGROUP",
                    "GROUP",
                    self._group,
                    self.consumer,
                    "COUNT",
                    limit,
                    "BLOCK",
                    max(1, int(wait * 1000)),
                    "STREAMS",
                    *streams,
                    *[">"] * len(streams),
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self._declare()
                return []
        got: list[RawDelivery] = []
        for stream, entries in reply or []:
            name = stream.decode() if isinstance(stream, bytes) else stream
            for entry_id, fields in entries:
                prior = int(fields.get(b"d", b"0"))
                got.append(RawDelivery(fields.get(b"b", b""), (name, entry_id, 1), 1 + prior))
        got.sort(key=lambda d: -self._streams.index(d.handle[0]))
        if len(got) > limit:
            await self._release([d.handle for d in got[limit:]])
            got = got[:limit]
        return got

    async def _ack(self, handles: Sequence[Any]) -> None:
        keys, args = self._settle_args(handles)
        await self._script("ack", keys, args)

    async def _requeue(self, handle: Any, message: Message) -> None:
        stream, entry_id, count = handle
        priority = min(max(message.priority, 0), 9)
        due = int((time.time() + message.delay) * 1000) if message.delay > 0 else 0
        await self._script(
            "requeue",
            [stream, self._streams[priority], self.keys.delayed(self.queue)],
            [
                self._group,
                self.consumer,
                entry_id,
                count,
                message.body,
                due,
                _member_tag(priority, message.failed),
                message.failed,
            ],
        )

    async def _release(self, handles: Sequence[Any]) -> None:
        keys, args = self._settle_args(handles)
        await self._script("release", keys, args)

    async def _dead_letter(self, handle: Any, letter: DeadLetter) -> None:
        stream, entry_id, count = handle
        values = (
            letter.id,
            letter.body,
            letter.reason,
            letter.error_type,
            repr(letter.failed_at),
            letter.task_id or "",
            letter.skill or "",
            letter.attempts,
        )
        fields = [x for pair in zip(_LETTER_FIELDS, values, strict=True) for x in pair]
        await self._script(
            "dead",
            [stream, self.keys.dead(self.queue)],
            [self._group, self.consumer, entry_id, count, *fields],
        )

    async def _extend(self, handles: Sequence[Any], seconds: float) -> None:
        # Streams keep one idle clock per entry: an extension resets it, so the lease
        # lasts one more visibility timeout (the worker renews every third of it).
        keys, args = self._settle_args(handles)
        await self._script("extend", keys, args)

    async def _depth(self) -> int:
        keys = [self.keys.delayed(self.queue), *self._streams]
        return int(await self._script("depth", keys, [self._group]))

    async def _purge(self) -> int:
        keys = [self.keys.delayed(self.queue), *self._streams]
        return int(await self._script("purge", keys, [self._group]))

    # -- dead letters (rare operations: plain commands, a scan of the dead stream) ------

    async def _all_dead(self) -> list[tuple[bytes, DeadLetter]]:
        with self._unavailable:
            entries = await self._cmd("XRANGE", self.keys.dead(self.queue), "-", "+")
        return [(entry_id, _letter_from(fields)) for entry_id, fields in entries]

    async def _dead_list(self, limit: int, offset: int) -> list[DeadLetter]:
        with self._unavailable:
            entries = await self._cmd(
                "XRANGE", self.keys.dead(self.queue), "-", "+", "COUNT", offset + limit
            )
        return [_letter_from(fields) for _, fields in entries[offset:]]

    async def _dead_count(self) -> int:
        with self._unavailable:
            return int(await self.client.xlen(self.keys.dead(self.queue)))

    async def _dead_get(self, letter_id: str) -> DeadLetter | None:
        letters = [d for _, d in await self._all_dead()]
        by_id = next((d for d in letters if d.id == letter_id), None)
        return by_id or next((d for d in letters if d.task_id == letter_id), None)

    async def _select_dead(self, ids: Sequence[str] | None) -> list[tuple[bytes, DeadLetter]]:
        found = await self._all_dead()
        if ids is None:
            return found
        wanted = set(ids)
        return [(e, d) for e, d in found if d.id in wanted or d.task_id in wanted]

    async def _delete_dead(self, entry_ids: Sequence[bytes]) -> int:
        if not entry_ids:
            return 0
        with self._unavailable:
            return int(await self.client.xdel(self.keys.dead(self.queue), *entry_ids))

    async def _dead_take(
        self, ids: Sequence[str] | None, *, replayable_only: bool
    ) -> list[DeadLetter]:
        taken = [
            (e, d)
            for e, d in await self._select_dead(ids)
            if not replayable_only or is_replayable(d.body)
        ]
        await self._delete_dead([e for e, _ in taken])
        return [d for _, d in taken]

    async def _dead_purge(self, ids: Sequence[str] | None) -> int:
        return await self._delete_dead([e for e, _ in await self._select_dead(ids)])

    # -- housekeeping ----------------------------------------------------------------

    async def delete_all(self) -> int:
        """Delete every key of this queue (tests, and tearing a queue down for good)."""
        keys = [
            *self._streams,
            *self._cursors,
            self.keys.delayed(self.queue),
            self.keys.dead(self.queue),
            self.keys.reclaim_lock(self.queue),
        ]
        with self._unavailable:
            return int(await self.client.delete(*keys))
