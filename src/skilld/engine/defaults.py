"""Every default of the engine on one screen: file names, queue names, key prefixes, times.

``skilld serve``, ``skilld worker`` and ``skilld dlq`` all read these, so the embedded
default of one command is the embedded default of the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skilld.settings import Settings

__all__ = [
    "BROKER_FILE",
    "CANCEL_POLL_S",
    "CONCURRENCY",
    "EXPIRE_EVERY_S",
    "HEARTBEAT_S",
    "IDEMPOTENCY_TTL_S",
    "KEY_PREFIX",
    "LEASE_S",
    "MAX_ATTEMPTS",
    "QUEUE",
    "RESULT_TTL_S",
    "SHUTDOWN_GRACE_S",
    "STORE_FILE",
    "TASK_TIMEOUT_S",
    "VISIBILITY_TIMEOUT_S",
    "default_broker_url",
    "default_store_url",
    "resolve_urls",
    "sqlite_url",
]

# Embedded default: two SQLite files (WAL) under Settings.data_dir (./.skilld).
BROKER_FILE = "queue.db"
STORE_FILE = "results.db"

QUEUE = "skilld"  # queue name (SQLite table rows, RabbitMQ queue, Redis stream suffix)
KEY_PREFIX = "skilld:"  # every Redis key starts with this

CONCURRENCY = 100  # tasks one worker runs at once
LEASE_S = 30.0  # a claim's lease; renewed every LEASE_S / 3 while the task runs
VISIBILITY_TIMEOUT_S = 30.0  # SQLite/memory: a leased message returns after this if not renewed
HEARTBEAT_S = 5.0  # worker heartbeat period; a worker is gone after 3 missed beats
CANCEL_POLL_S = 0.25  # how often a worker asks the store about cancellations from elsewhere
EXPIRE_EVERY_S = 60.0  # each worker sweeps expired results, keys and heartbeats this often
SHUTDOWN_GRACE_S = 30.0  # SIGTERM: time running tasks get to finish before being handed back
RESULT_TTL_S = 7 * 24 * 3600.0  # terminal results are kept this long
IDEMPOTENCY_TTL_S = 24 * 3600.0  # an idempotency key stands for its task this long
TASK_TIMEOUT_S = 600.0
MAX_ATTEMPTS = 3


def sqlite_url(path: Path | str) -> str:
    """The ``sqlite://`` URL of a file (an absolute path gets four slashes)."""
    return f"sqlite:///{path}"


def default_broker_url(data_dir: Path | str) -> str:
    return sqlite_url(Path(data_dir) / BROKER_FILE)


def default_store_url(data_dir: Path | str) -> str:
    return sqlite_url(Path(data_dir) / STORE_FILE)


def resolve_urls(
    settings: Settings,
    *,
    broker_url: str | None = None,
    store_url: str | None = None,
    data_dir: Path | str | None = None,
) -> tuple[str, str]:
    """The (broker, store) URLs a command uses: its flags, else ``SKILLD_BROKER_URL`` /
    ``SKILLD_STORE_URL``, else the SQLite files under ``data_dir`` (``SKILLD_DATA_DIR``,
    ``./.skilld``)."""
    folder = Path(data_dir) if data_dir is not None else settings.data_dir
    return (
        broker_url or settings.broker_url or default_broker_url(folder),
        store_url or settings.store_url or default_store_url(folder),
    )
