"""Stores: results, claims, idempotency keys, breaker state, heartbeats and events.

``memory://`` (in-process; ``memory://NAME`` is shared within the process),
``sqlite:///path`` (the durable embedded default), ``redis://…`` (imported only when named).
"""

from __future__ import annotations

from typing import Any

from skilld.engine.stores.base import (
    Acquired,
    Busy,
    Claim,
    ClaimOutcome,
    Finished,
    Store,
    WorkerInfo,
)
from skilld.engine.urls import parse_url, redact
from skilld.exceptions import ConfigurationError

__all__ = [
    "Acquired",
    "Busy",
    "Claim",
    "ClaimOutcome",
    "Finished",
    "Store",
    "WorkerInfo",
    "open_store",
]


def open_store(url: str, **options: Any) -> Store:
    """A store for ``url`` (not yet connected: ``async with open_store(url) as s``)."""
    parsed = parse_url(url, kind="store")
    if parsed.scheme == "memory":
        from skilld.engine.stores.memory import MemoryStore

        return MemoryStore.from_url(parsed, **options)
    if parsed.scheme == "sqlite":
        from skilld.engine.stores.sqlite import SQLiteStore

        return SQLiteStore.from_url(parsed, **options)
    if parsed.scheme in ("redis", "rediss"):
        from skilld.engine.stores.redis import RedisStore

        return RedisStore.from_url(parsed, **options)
    raise ConfigurationError(
        f"store URL {redact(url)!r}: unknown scheme {parsed.scheme!r} "
        "(use memory://, sqlite:///PATH or redis://…)"
    )
