"""What the Redis broker, store and cache share: every key on one screen, the client, the
auto-pipeline, and how a Redis outage is reported.

Every key skilld writes starts with one prefix (``?prefix=`` in the URL, default
``skilld:``), so one Redis can serve several deployments and a test can delete exactly
what it wrote (``SCAN MATCH prefix*``). redis-py is imported only when a ``redis://`` URL
is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from skilld.engine import defaults
from skilld.engine.batching import Batcher
from skilld.engine.urls import redact
from skilld.exceptions import BackendUnavailableError, MissingDependencyError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from skilld.engine.urls import BackendURL

__all__ = [
    "Pipeliner",
    "RedisBackend",
    "RedisKeys",
    "Unavailable",
    "from_redis_url",
    "import_redis",
    "redis_client",
    "scripts",
]

log = logging.getLogger("skilld.redis")


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every Redis key and channel skilld uses, under one prefix ``p``::

    broker (per queue name Q)
      {p}q:{Q}:{0-9}          stream per priority (consumer group "{p}workers")
      {p}q:{Q}:delayed        sorted set: delayed messages, score = due time (ms)
      {p}q:{Q}:dead           stream: dead letters
      {p}q:{Q}:reclaim        lock: one XAUTOCLAIM reclaimer at a time (PX)
      {p}q:{Q}:cursor:{0-9}   XAUTOCLAIM cursor per priority stream
    store
      {p}t:{id}               hash: result body, done flag, claim token/fence/worker,
                              cancel flag (expires with the result)
      {p}l:{id}               lease: claim token, SET NX PX, renewed while running
      {p}e:{id}               stream: the task's progress events (ids 0-1, 0-2, ...)
      {p}n:{id}               pub/sub channel: "e" (new event) or the final result
      {p}k:{key}              idempotency key -> task id (PX)
      {p}expiring             sorted set: task id -> result expiry (the sweep's index)
      {p}finished             sorted set: task id -> expiry of its terminal result
                              (Store.finished asks it with one ZMSCORE)
      {p}breakers             hash: circuit-breaker name -> state
      {p}workers              sorted set: worker id -> heartbeat expiry (ms)
      {p}workers:info         hash: worker id -> last heartbeat
      {p}cancel               pub/sub channel: "origin:task id" cancellation requests
    cache (skilld.engine.cache)
      {p}cache:{namespace}:{key}   a cached value (PX)
    """

    prefix: str = defaults.KEY_PREFIX

    # broker
    def stream(self, queue: str, priority: int) -> str:
        return f"{self.prefix}q:{queue}:{priority}"

    def group(self) -> str:
        return f"{self.prefix}workers"

    def delayed(self, queue: str) -> str:
        return f"{self.prefix}q:{queue}:delayed"

    def dead(self, queue: str) -> str:
        return f"{self.prefix}q:{queue}:dead"

    def reclaim_lock(self, queue: str) -> str:
        return f"{self.prefix}q:{queue}:reclaim"

    def reclaim_cursor(self, queue: str, priority: int) -> str:
        return f"{self.prefix}q:{queue}:cursor:{priority}"

    # store
    def task(self, task_id: str) -> str:
        return f"{self.prefix}t:{task_id}"

    def lease(self, task_id: str) -> str:
        return f"{self.prefix}l:{task_id}"

    def events(self, task_id: str) -> str:
        return f"{self.prefix}e:{task_id}"

    def notify(self, task_id: str) -> str:
        return f"{self.prefix}n:{task_id}"

    def idempotency(self, key: str) -> str:
        return f"{self.prefix}k:{key}"

    def expiring(self) -> str:
        return f"{self.prefix}expiring"

    def finished(self) -> str:
        return f"{self.prefix}finished"

    def breakers(self) -> str:
        return f"{self.prefix}breakers"

    def workers(self) -> str:
        return f"{self.prefix}workers"

    def workers_info(self) -> str:
        return f"{self.prefix}workers:info"

    def cancel_channel(self) -> str:
        return f"{self.prefix}cancel"

    # cache
    def cache(self, namespace: str, key: str) -> str:
        return f"{self.prefix}cache:{namespace}:{key}"


def import_redis() -> Any:
    """The ``redis.asyncio`` module, or a clear error naming the extra to install."""
    try:
        import redis.asyncio
    except ImportError:
        raise MissingDependencyError("redis", "redis", "the redis:// backend") from None
    return redis.asyncio


def redis_client(url: str, *, name: str | None = None, max_connections: int = 32) -> Redis:
    """A client for ``url`` (the skilld-only ``?prefix=`` etc. already stripped).

    One immediate retry on a dropped connection (a pooled connection the server closed);
    longer outages surface at once as :class:`BackendUnavailableError` and the worker's
    loops retry on their own schedule, so nothing hangs in a hidden backoff. ``name``
    shows in ``CLIENT LIST`` (which connections belong to which worker).
    """
    aioredis = import_redis()
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    # A blocking pool: a burst of callers waits for a connection instead of failing
    # (the hot path shares one connection through the Pipeliner anyway).
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=20,
        decode_responses=False,
        socket_connect_timeout=2.0,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 1),
        client_name=name,
    )
    client: Redis = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
    return client


def strip_options(url: str) -> str:
    """The URL without its query string (skilld's options are not redis-py's)."""
    return url.partition("?")[0]


class Unavailable:
    """``with self._unavailable:`` turns redis-py's connection errors into
    :class:`BackendUnavailableError` naming the server (a reusable, stateless guard)."""

    def __init__(self, what: str, url: str) -> None:
        self.what = what
        self.url = redact(url)  # shown in errors and logs: never the password

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not _is_connection_error(exc):
            return
        raise BackendUnavailableError(
            f"{self.what} at {self.url} does not answer ({type(exc).__name__}: {exc}); "
            "is the Redis server running?"
        ) from exc


def _is_connection_error(exc: BaseException) -> bool:
    from redis.exceptions import ConnectionError, TimeoutError

    return isinstance(exc, ConnectionError | TimeoutError | OSError)


class Pipeliner:
    """Auto-pipelining: commands issued while a pipeline is in flight (or in the same
    event-loop turn) go to Redis together in the next one, each caller awaiting its own
    reply. A thousand tasks finishing at once cost a handful of round trips and one
    connection, not a thousand.

    A batch that fails on a broken connection is sent once more on a fresh one.
    Scripts run by SHA; when Redis answers NOSCRIPT (it restarted, or the script cache was
    flushed) the scripts are loaded and only the commands that failed are sent again
    (a NOSCRIPT command did not run, so this never runs anything twice).
    """

    def __init__(self, client: Redis, scripts: dict[str, str], *, max_batch: int = 512) -> None:
        self._client = client
        self._scripts = scripts  # sha -> source
        self._batcher: Batcher[tuple[Any, ...], Any] = Batcher(self._send, max_batch=max_batch)

    async def call(self, *command: Any) -> Any:
        """Send one command (``"EVALSHA", sha, nkeys, ...`` or any other) and return its
        reply; a command's error is raised to its own caller only."""
        return await self._batcher.submit(command)

    async def call_many(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Send several commands in order and return their replies; the first command
        error is raised (after every reply has arrived)."""
        return await self._batcher.submit_many(commands)

    async def _send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        from redis.exceptions import ConnectionError, NoScriptError

        try:
            replies = await self._execute(commands)
        except ConnectionError:
            # Most often a pooled connection the server closed (it restarted): drop the
            # idle ones and send once more on a fresh connection. Every command skilld
            # pipelines is safe to repeat (claims and finishes are idempotent by token,
            # settles check the delivery), at worst an event is appended twice.
            await self._client.connection_pool.disconnect(inuse_connections=False)
            replies = await self._execute(commands)
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:
            await self.load_scripts()
            again = await self._execute([commands[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply
        return replies

    async def _execute(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Write the batch in one send and read the raw replies (no redis-py response
        callbacks: callers parse what they asked for). Packing by hand is most of the
        saving: redis-py's general packer costs more than the round trip it batches."""
        from redis.exceptions import ResponseError

        pool = self._client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(pack_commands(commands), check_health=False)
            replies: list[Any] = []
            # One deadline for the whole batch: redis-py's own per-reply timeout (a timer
            # armed and cancelled for every reply) was half the cost of reading a large
            # batch. ``math.inf`` tells redis-py not to arm one.
            async with asyncio.timeout(connection.socket_timeout):
                for _ in commands:
                    try:
                        replies.append(await connection.read_response(timeout=math.inf))
                    except ResponseError as exc:  # one command's error: a complete reply
                        replies.append(exc)
            return replies
        except BaseException:
            await connection.disconnect(nowait=True)  # the stream may be mid-reply
            raise
        finally:
            await pool.release(connection)

    async def load_scripts(self) -> None:
        for sha, source in self._scripts.items():
            loaded = await self._client.script_load(source)
            if loaded != sha:  # pragma: no cover - Redis computes the same SHA1
                raise RuntimeError(f"script SHA mismatch: {loaded} != {sha}")


def pack_commands(commands: Sequence[tuple[Any, ...]]) -> bytes:
    """Commands in the Redis protocol (arrays of bulk strings), all in one buffer
    (hiredis's C packer when ``redis[hiredis]`` is installed: four times faster)."""
    if _hiredis_pack is not None:
        return b"".join([_hiredis_pack(command) for command in commands])
    return _pack_python(commands)


def _find_hiredis_pack() -> Any:
    try:
        from hiredis import pack_command
    except ImportError:  # optional: redis[hiredis]
        return None
    return pack_command


_hiredis_pack = _find_hiredis_pack()


def _pack_python(commands: Sequence[tuple[Any, ...]]) -> bytes:
    parts: list[bytes] = []
    append = parts.append
    for command in commands:
        append(b"*%d\r\n" % len(command))
        for arg in command:
            if isinstance(arg, bytes):
                data = arg
            elif isinstance(arg, str):
                data = arg.encode()
            elif isinstance(arg, int) and not isinstance(arg, bool):
                data = b"%d" % arg
            elif isinstance(arg, float):
                data = repr(arg).encode()
            else:
                raise TypeError(f"cannot send {type(arg).__name__} to Redis: {arg!r}")
            append(b"$%d\r\n" % len(data))
            append(data)
            append(b"\r\n")
    return b"".join(parts)


def script_sha(source: str) -> str:
    """The SHA1 Redis names a script by."""
    import hashlib

    return hashlib.sha1(source.encode()).hexdigest()


def scripts(**sources: str) -> dict[str, tuple[str, str]]:
    """A backend's Lua scripts by name: each one's source and the SHA1 it runs by."""
    return {name: (source, script_sha(source)) for name, source in sources.items()}


B = TypeVar("B", bound="RedisBackend")


def from_redis_url(make: Callable[..., B], url: BackendURL, options: dict[str, Any]) -> B:
    """A Redis backend made from a parsed URL: ``?prefix=`` unless ``options`` say
    otherwise; the backend keeps the whole URL (options included) as its ``url``."""
    url.setdefaults(options, prefix=defaults.KEY_PREFIX)
    backend = make(strip_options(url.url), **options)
    backend.url = url.url
    return backend


class RedisBackend:
    """What the Redis broker and store hold alike: the URL (skilld's options still in
    it), the keys under one prefix, one client with its auto-pipeline (made on connect;
    the backend's scripts are loaded on demand) and the outage guard naming the server.
    """

    _what: ClassVar[str]  # "broker" or "store", for messages
    _scripts: ClassVar[dict[str, tuple[str, str]]]  # see scripts()

    def _init_redis(self, url: str, prefix: str) -> None:
        self.url = url
        self.keys = RedisKeys(prefix)
        self._unavailable = Unavailable(f"the Redis {self._what}", strip_options(url))
        self._client: Redis | None = None
        self._pipe: Pipeliner | None = None

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError(f"the Redis {self._what} is not connected (use `async with`)")
        return self._client

    @property
    def _pipeline(self) -> Pipeliner:
        assert self._pipe is not None, f"the Redis {self._what} is not connected"
        return self._pipe

    def _open_client(self, name: str) -> None:
        self._client = redis_client(strip_options(self.url), name=name)
        self._pipe = Pipeliner(self._client, {sha: src for src, sha in self._scripts.values()})

    async def _close_client(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _evalsha(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run the script ``name`` through the auto-pipeline (outages not translated)."""
        sha = self._scripts[name][1]
        return await self._pipeline.call("EVALSHA", sha, len(keys), *keys, *args)


@contextlib.contextmanager
def suppress_connection_errors(what: str) -> Iterator[None]:
    """Log (do not raise) a connection error: for best-effort background steps."""
    try:
        yield
    except Exception as exc:
        if not _is_connection_error(exc) and not isinstance(exc, BackendUnavailableError):
            raise
        log.warning("%s: Redis does not answer (%s)", what, exc)
