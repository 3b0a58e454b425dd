"""The two-level cache: L1 in this process, L2 shared (Redis), single flight on a miss.

Two uses, both keyed so that a changed skill can never serve a stale entry:

* :class:`SkillCache` — skill definitions keyed by their **version hash** (the content
  hash of the skill's folder). The gateway (``create_app(skill_cache=...)``, as
  ``skilld serve`` builds it) publishes the skill of every task it accepts and pins the
  task to that version; a worker whose registry has another version of the skill, or
  none, gets the pinned one from L1, else rebuilds it from L2, without the files being
  on its disk. A definition is the SKILL.md text (the frontmatter fields are parsed from
  it again), the source, and the folder's files when there are at most
  :data:`MAX_BUNDLE_FILES` of them totalling at most :data:`MAX_BUNDLE_BYTES` (a larger
  folder travels as SKILL.md alone). With a Redis store L2 is Redis, shared by every
  process; otherwise it is this process only (``skilld serve``'s own worker). What
  L2 loses (Redis flushed or restarted) comes back when the gateway republishes, at most
  ``republish_s`` (5 minutes) later; until then a worker without the pinned version
  fails the task with the same error as without a cache.
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
import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import msgspec

from skilld.engine.task import TaskUsage
from skilld.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from cachetools import LRUCache, TLRUCache, TTLCache
    from redis.asyncio import Redis

    from skilld.engine.executor import Outcome
    from skilld.engine.stores.redis import RedisStore
    from skilld.skills.model import Skill

__all__ = [
    "CACHE_TTL_METADATA_KEY",
    "L2",
    "MAX_BUNDLE_BYTES",
    "MAX_BUNDLE_FILES",
    "CacheStats",
    "RedisL2",
    "ResultCache",
    "SkillCache",
    "TwoLevelCache",
    "cache_ttl_of",
    "result_cache_for",
    "result_cache_key",
    "skill_cache_for",
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

MAX_BUNDLE_FILES = 64
"""Most files of a skill folder that travel with its definition (SKILL.md included)."""
MAX_BUNDLE_BYTES = 256 * 1024
"""Most bytes, all files together, of a skill folder that travels with its definition.
A larger folder travels as its SKILL.md alone: the skill runs, but its scripts and
reference files are only there on a machine that has the folder."""

# The folders content_hash leaves out of a version (skilld.skills.model), left out here
# too so that a complete bundle rebuilds a folder with the very same version.
_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", ".mypy_cache"})


class _Definition(msgspec.Struct, frozen=True):
    """What rebuilds a skill elsewhere: SKILL.md (the frontmatter fields are parsed from
    it again), the fields that come from where it was found, and its folder's files when
    they are within the bounds (``files`` None: too large, or a command file)."""

    name: str
    text: str
    source: str
    loaded_from: str
    plugin: str | None = None
    folder: str | None = None  # the folder's name (it is ${CLAUDE_SKILL_DIR}'s last part)
    files: dict[str, bytes] | None = None


class SkillCache:
    """Skill definitions by version hash (see the module docstring).

    A gateway :meth:`publish`\\ es the skill of each task it accepts; a worker whose own
    registry lacks the version a task pins calls :meth:`get`. L2 holds each version's
    :class:`_Definition` (SKILL.md, source, and the folder's files up to
    :data:`MAX_BUNDLE_FILES` / :data:`MAX_BUNDLE_BYTES`); L1 holds the built
    :class:`Skill`. A rebuilt skill with files gets them in a private temporary folder
    (removed with the cache), checked against the version before use, so
    ``${CLAUDE_SKILL_DIR}``, its scripts and its references work as on the machine that
    published it.

    Args:
        l2: the shared level (:class:`RedisL2`), or None for this process alone.
        ttl: how long a definition stays in L2 after it was last published.
        republish_s: a version published less than this long ago is not written again
            (publishing is per task; this keeps it to one L2 write per version per
            interval, and refreshes the L2 entry well before ``ttl``).
        timer: the clock of the republish interval (injected by tests).
    """

    def __init__(
        self,
        *,
        l2: L2 | None = None,
        ttl: float = 24 * 3600.0,
        republish_s: float = 300.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._defs: TwoLevelCache[_Definition] = TwoLevelCache(
            encode=msgspec.json.encode, decode=msgspec.json.Decoder(_Definition).decode, l2=l2
        )
        tools = _cachetools()
        self._skills: LRUCache[str, Skill] = tools.LRUCache(maxsize=1024)
        self._published: TTLCache[str, bool] = tools.TTLCache(
            maxsize=4096, ttl=min(republish_s, ttl / 2), timer=timer
        )
        self._root: Path | None = None

    @property
    def stats(self) -> CacheStats:
        """``l1_hits`` / ``l2_hits``: versions found here / in L2; ``misses``: asked for
        and found nowhere."""
        return self._defs.stats

    async def publish(self, skill: Skill) -> str | None:
        """Make this version of ``skill`` available to every process; returns its
        version, or None when it cannot be published: its files changed since it was
        loaded or cannot be read (logged; the answer is kept for ``republish_s``).

        Skills without a SKILL.md on disk (bundled from code) are kept in L1 only.
        """
        version = skill.version
        published = self._published.get(version)
        if published is not None:
            return version if published else None
        published = True
        if skill.path is not None:
            definition = await asyncio.to_thread(_definition_of, skill)
            published = definition is not None
            if definition is not None:
                await self._defs.put(version, definition, self.ttl)
        if published:
            self._skills[version] = skill
        self._published[version] = published
        return version if published else None

    async def get(self, version: str, *, name: str | None = None) -> Skill | None:
        """The skill at ``version`` (called ``name`` when given: two skills with the same
        content share a version), built here before or rebuilt from L2; None if no
        process published it (or it expired)."""
        skill = self._skills.get(version)
        if skill is not None:
            self._defs.stats.l1_hits += 1
        else:
            definition = await self._defs.get(version)
            if definition is None:
                self._defs.stats.misses += 1
                return None
            skill = await asyncio.to_thread(self._rebuild, definition, version)
            self._skills[version] = skill
        if name is not None and skill.name != name:
            skill = dataclasses.replace(skill, name=name, fixed_version=version)
        return skill

    def _rebuild(self, definition: _Definition, version: str) -> Skill:
        from skilld.skills.loader import skill_from_text
        from skilld.skills.model import LoadedFrom, Source

        folder = self._materialize(definition, version)
        return skill_from_text(
            definition.text,
            name=definition.name,
            source=Source(definition.source),
            loaded_from=LoadedFrom(definition.loaded_from),
            path=None if folder is None else folder / "SKILL.md",
            directory=folder,
            plugin=definition.plugin,
            fixed_version=version,
        )

    def _materialize(self, definition: _Definition, version: str) -> Path | None:
        """Write the definition's files into a folder of their own; None when there are
        none, or when they do not add up to ``version`` (then SKILL.md alone is used)."""
        from skilld.skills.model import content_hash

        if definition.files is None or definition.folder is None:
            return None
        if Path(definition.folder).name != definition.folder or definition.folder in (
            "",
            ".",
            "..",
        ):
            log.warning("skill %s: folder name %r refused", definition.name, definition.folder)
            return None
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="skilld-skills-"))
            weakref.finalize(self, shutil.rmtree, self._root, ignore_errors=True)
        digest = version.rpartition(":")[2][:32] or "unversioned"
        folder = self._root / digest / definition.folder
        if not folder.is_dir():
            staging = Path(tempfile.mkdtemp(dir=self._root))
            target = staging / definition.folder
            for relative, data in definition.files.items():
                parts = Path(relative).parts
                if Path(relative).is_absolute() or ".." in parts or not parts:
                    log.warning("skill %s: file %r refused", definition.name, relative)
                    shutil.rmtree(staging, ignore_errors=True)
                    return None
                path = target.joinpath(*parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            target.mkdir(parents=True, exist_ok=True)
            (self._root / digest).mkdir(exist_ok=True)
            with contextlib.suppress(OSError):  # another thread got there first
                target.rename(folder)
            shutil.rmtree(staging, ignore_errors=True)
        if content_hash(folder) != version:
            log.warning(
                "skill %s: the published files do not make version %s; using SKILL.md alone",
                definition.name,
                version,
            )
            return None
        return folder


def _definition_of(skill: Skill) -> _Definition | None:
    """The definition of a skill loaded from disk, with its folder's files when they
    are within the bounds; None when its files cannot be read any more or changed since
    the skill was loaded (what is on disk is not that version: publishing it under the
    version would run other text than the one the task pinned)."""
    from skilld.skills.model import LoadedFrom, content_hash

    assert skill.path is not None
    folder = skill.directory if skill.loaded_from is not LoadedFrom.COMMANDS else None
    try:
        text = skill.path.read_text(encoding="utf-8")
        files = None if folder is None else _bundle(folder)
        # Hashed after reading, so a change while reading shows as a changed version.
        changed = content_hash(folder or skill.path) != skill.version
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("skill %s: cannot publish %s: %s", skill.name, skill.path, exc)
        return None
    if changed:
        log.warning(
            "skill %s: its files changed since it was loaded; version %s not published",
            skill.name,
            skill.version,
        )
        return None
    if folder is not None and files is None:
        log.info(
            "skill %s: its folder exceeds %d files or %d bytes; publishing SKILL.md alone",
            skill.name,
            MAX_BUNDLE_FILES,
            MAX_BUNDLE_BYTES,
        )
    return _Definition(
        name=skill.name,
        text=text,
        source=skill.source.value,
        loaded_from=skill.loaded_from.value,
        plugin=skill.plugin,
        folder=None if folder is None else folder.name,
        files=files,
    )


def _bundle(folder: Path) -> dict[str, bytes] | None:
    """Every file of ``folder`` (relative path → bytes), or None past the bounds."""
    files: dict[str, bytes] = {}
    total = 0
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in names:
            full = os.path.join(root, name)
            try:
                data = Path(full).read_bytes()
            except OSError:
                continue  # as content_hash: an unreadable file is not part of the version
            total += len(data)
            if len(files) >= MAX_BUNDLE_FILES or total > MAX_BUNDLE_BYTES:
                return None
            files[os.path.relpath(full, folder).replace(os.sep, "/")] = data
    return files


def skill_cache_for(store: object) -> SkillCache | None:
    """The skill cache a gateway or worker using ``store`` gets: L2 in Redis when the
    store is a Redis store (so workers on other machines find what a gateway published),
    this process alone otherwise; None without the ``cache`` extra (cachetools)."""
    from skilld.engine.stores.redis import RedisStore

    try:
        _cachetools()
    except MissingDependencyError:
        return None
    if isinstance(store, RedisStore):
        return SkillCache(l2=RedisL2.from_store(store, "skills"))
    return SkillCache()
