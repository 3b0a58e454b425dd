"""The two-level cache: L1 in this process, L2 shared (Redis), single flight on a miss.

Two uses, both keyed so that a changed skill can never serve a stale entry:

* :class:`SkillCache` — skill definitions keyed by their **version hash** (the content
  hash of the skill's folder). A gateway or worker that loaded a skill publishes its
  SKILL.md; a worker asked for that exact version (a task pins ``skill_version``) gets it
  from L1, else rebuilds it from L2, without the files being on its disk.
* :class:`ResultCache` — results of skills that **opt in**, keyed by a hash of (skill
  version, mode, model, arguments) with a TTL. A skill opts in in its frontmatter::

      metadata:
        skilld-cache-ttl: "300"      # seconds; absent, 0 or invalid: never cached

  ``metadata`` is the Agent Skills field for tool-specific keys, so the skill stays valid
  everywhere. Only pure skills should opt in: a cached answer is served instead of
  running the skill (no inline shell, no model call).

:class:`TwoLevelCache` is the mechanism: ``cachetools.TLRUCache`` (LRU with a TTL per
entry) in front of an optional :class:`L2` backend; concurrent misses for one key in a
process compute once (later callers await the first one's result); hits and misses are
counted in :attr:`TwoLevelCache.stats`. Across processes there is no lock: two workers
missing at the same moment both compute and the last write wins (the values are equal).
An L2 that does not answer is logged and skipped: the cache never fails a task.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import msgspec

from skilld.engine.task import TaskUsage
from skilld.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from cachetools import LRUCache, TLRUCache
    from redis.asyncio import Redis

    from skilld.engine.executor import Outcome
    from skilld.engine.stores.redis import RedisStore
    from skilld.skills.model import Skill

__all__ = [
    "CACHE_TTL_METADATA_KEY",
    "L2",
    "CacheStats",
    "RedisL2",
    "ResultCache",
    "SkillCache",
    "TwoLevelCache",
    "cache_ttl_of",
    "result_cache_for",
    "result_cache_key",
]

log = logging.getLogger("skilld.cache")

CACHE_TTL_METADATA_KEY = "skilld-cache-ttl"
"""The frontmatter ``metadata`` key by which a skill opts its results into the cache."""

T = TypeVar("T")


class L2(Protocol):
    """A shared second level: bytes under string keys with a TTL."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...


class RedisL2:
    """L2 in Redis: ``{prefix}cache:{namespace}:{key}`` with ``SET PX`` (see
    :class:`~skilld.engine.redis_common.RedisKeys`)."""

    def __init__(self, client: Redis | None, *, prefix: str, namespace: str) -> None:
        from skilld.engine.redis_common import RedisKeys

        self._client = client
        self._store: Any = None
        self._keys = RedisKeys(prefix)
        self.namespace = namespace

    @classmethod
    def from_store(cls, store: RedisStore, namespace: str) -> RedisL2:
        """Share a Redis store's client and key prefix (the store may connect later)."""
        l2 = cls(None, prefix=store.keys.prefix, namespace=namespace)
        l2._store = store
        return l2

    @property
    def client(self) -> Redis:
        if self._client is None:
            self._client = self._store.client
        return self._client

    async def get(self, key: str) -> bytes | None:
        value = await self.client.get(self._keys.cache(self.namespace, key))
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self.client.set(
            self._keys.cache(self.namespace, key), value, px=max(1, int(ttl * 1000))
        )


@dataclass(slots=True)
class CacheStats:
    """Counts since the cache was made."""

    l1_hits: int = 0
    l2_hits: int = 0
    misses: int = 0  # computed (once per key, however many callers waited for it)
    shared: int = 0  # callers that waited for another caller's computation
    l2_errors: int = 0

    @property
    def hits(self) -> int:
        return self.l1_hits + self.l2_hits + self.shared

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__} | {"hits": self.hits}


class TwoLevelCache(Generic[T]):
    """L1 (in process) + optional L2 (shared) + single flight.

    Args:
        encode / decode: how a value travels to and from L2.
        l2: the shared level, or None for L1 only.
        maxsize: L1 entries (least recently used go first).
        l1_ttl_cap: an L1 entry lives at most this long even when its TTL is longer, so a
            process notices an L2 entry that was dropped (``None``: no cap).
        timer: L1's clock (injected by tests).
    """

    def __init__(
        self,
        *,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
        l2: L2 | None = None,
        maxsize: int = 4096,
        l1_ttl_cap: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._encode = encode
        self._decode = decode
        self.l2 = l2
        self._cap = l1_ttl_cap
        self._l1: TLRUCache[str, tuple[T, float]] = _cachetools().TLRUCache(
            maxsize=maxsize, ttu=_expires_after, timer=timer
        )
        self._flights: dict[str, asyncio.Future[T]] = {}
        self.stats = CacheStats()

    def _l1_put(self, key: str, value: T, ttl: float) -> None:
        self._l1[key] = (value, ttl if self._cap is None else min(ttl, self._cap))

    async def get(self, key: str) -> T | None:
        """The cached value (L1, then L2), or None; counts a hit or nothing."""
        found = self._l1.get(key)
        if found is not None:
            self.stats.l1_hits += 1
            return found[0]
        if self.l2 is None:
            return None
        try:
            raw = await self.l2.get(key)
        except Exception as exc:
            self.stats.l2_errors += 1
            log.warning("cache L2 get %s failed: %s", key, exc)
            return None
        if raw is None:
            return None
        value = self._decode(raw)
        self.stats.l2_hits += 1
        self._l1_put(key, value, self._cap or 60.0)
        return value

    async def put(self, key: str, value: T, ttl: float) -> None:
        """Store in L1 and L2 for ``ttl`` seconds (an L2 failure is logged, not raised)."""
        self._l1_put(key, value, ttl)
        if self.l2 is not None:
            try:
                await self.l2.set(key, self._encode(value), ttl)
            except Exception as exc:
                self.stats.l2_errors += 1
                log.warning("cache L2 set %s failed: %s", key, exc)

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]], ttl: float) -> T:
        """The cached value, or ``compute()``'s (stored for ``ttl`` seconds). Concurrent
        callers missing the same key share one computation; if it raises, they all see
        the error and nothing is cached."""
        found = self._l1.get(key)
        if found is not None:
            self.stats.l1_hits += 1
            return found[0]
        flight = self._flights.get(key)
        if flight is not None:
            self.stats.shared += 1
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            value = await self.get(key)
            if value is None:
                self.stats.misses += 1
                value = await compute()
                await self.put(key, value, ttl)
            flight.set_result(value)
            return value
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: a flight nobody shared must not warn
            raise
        finally:
            del self._flights[key]

    def clear(self) -> None:
        """Drop L1 (L2 entries expire by their TTL)."""
        self._l1.clear()


def _expires_after(key: str, entry: tuple[Any, float], now: float) -> float:
    return now + entry[1]


def _cachetools() -> Any:
    try:
        import cachetools
    except ImportError:
        raise MissingDependencyError("cachetools", "cache", "the two-level cache") from None
    return cachetools


# -- results -------------------------------------------------------------------------


def cache_ttl_of(skill: Skill) -> float:
    """Seconds the skill's results may be cached (0: it did not opt in)."""
    metadata: Mapping[str, Any] = skill.metadata or {}
    raw = metadata.get(CACHE_TTL_METADATA_KEY)
    if raw is None or isinstance(raw, bool):
        return 0.0
    try:
        ttl = float(raw)
    except (TypeError, ValueError):
        return 0.0
    return ttl if ttl > 0 and ttl != float("inf") else 0.0


def result_cache_key(
    skill_version: str, mode: str, model: str | None, args: str, session_id: str | None = None
) -> str:
    """The key of a cached result: a hash of everything the result depends on. A new
    version of the skill (any file of its folder changed) is a new key; so is another
    session (an expansion may use ``${CLAUDE_SESSION_ID}``)."""
    blob = msgspec.json.encode([skill_version, mode, model or "", args, session_id or ""])
    return hashlib.sha256(blob).hexdigest()


class _CachedOutcome(msgspec.Struct, frozen=True):
    output: Any
    usage: TaskUsage
    skill_version: str | None


class ResultCache:
    """Results of opted-in skills (see the module docstring).

    A hit returns the stored output with zero usage: nothing was spent this time.
    """

    def __init__(self, *, l2: L2 | None = None, maxsize: int = 4096) -> None:
        self.cache: TwoLevelCache[_CachedOutcome] = TwoLevelCache(
            encode=msgspec.json.encode,
            decode=msgspec.json.Decoder(_CachedOutcome).decode,
            l2=l2,
            maxsize=maxsize,
        )

    @property
    def stats(self) -> CacheStats:
        return self.cache.stats

    async def get_or_run(
        self,
        skill: Skill,
        *,
        mode: str,
        model: str | None,
        args: str,
        session_id: str | None = None,
        run: Callable[[], Awaitable[Outcome]],
    ) -> Outcome:
        """``run()``'s outcome, cached when the skill opted in (else just ``run()``)."""
        from skilld.engine.executor import Outcome

        ttl = cache_ttl_of(skill)
        if ttl <= 0:
            return await run()
        computed: list[Outcome] = []

        async def compute() -> _CachedOutcome:
            outcome = await run()
            computed.append(outcome)
            return _CachedOutcome(outcome.output, outcome.usage, outcome.skill_version)

        key = result_cache_key(skill.version, mode, model, args, session_id)
        cached = await self.cache.get_or_compute(key, compute, ttl)
        if computed:
            return computed[0]
        return Outcome(cached.output, TaskUsage(), cached.skill_version)


def result_cache_for(store: object) -> ResultCache | None:
    """The result cache a worker using ``store`` gets: L2 in Redis when the store is a
    Redis store (shared by every worker), L1 only otherwise; None without the ``cache``
    extra (cachetools), so a worker without it runs every task."""
    from skilld.engine.stores.redis import RedisStore

    try:
        _cachetools()
    except MissingDependencyError:
        return None
    if isinstance(store, RedisStore):
        return ResultCache(l2=RedisL2.from_store(store, "results"))
    return ResultCache()


# -- skill definitions ---------------------------------------------------------------


class _Definition(msgspec.Struct, frozen=True):
    name: str
    text: str


class SkillCache:
    """Skill definitions by version hash (see the module docstring).

    L2 holds each version's name and SKILL.md text; L1 holds the built :class:`Skill`.
    """

    def __init__(self, *, l2: L2 | None = None, ttl: float = 24 * 3600.0) -> None:
        self.ttl = ttl
        self._defs: TwoLevelCache[_Definition] = TwoLevelCache(
            encode=msgspec.json.encode, decode=msgspec.json.Decoder(_Definition).decode, l2=l2
        )
        self._skills: LRUCache[str, Skill] = _cachetools().LRUCache(maxsize=1024)

    @property
    def stats(self) -> CacheStats:
        return self._defs.stats

    async def publish(self, skill: Skill) -> str:
        """Make this version of ``skill`` available to every process; returns its version.

        Skills without a SKILL.md on disk (bundled from code) are kept in L1 only.
        """
        version = skill.version
        self._skills[version] = skill
        if skill.path is not None and skill.path.is_file():
            text = skill.path.read_text(encoding="utf-8")
            await self._defs.put(version, _Definition(skill.name, text), self.ttl)
        return version

    async def get(self, version: str) -> Skill | None:
        """The skill at ``version``: built here before, or rebuilt from L2; None if no
        process published it (or it expired)."""
        skill = self._skills.get(version)
        if skill is not None:
            self._defs.stats.l1_hits += 1
            return skill
        definition = await self._defs.get(version)
        if definition is None:
            self._defs.stats.misses += 1
            return None
        from skilld.skills.loader import skill_from_text

        skill = skill_from_text(definition.text, name=definition.name, fixed_version=version)
        self._skills[version] = skill
        return skill
