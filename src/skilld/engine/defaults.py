"""Every default of the engine on one screen: file names, queue names, key prefixes, times.

``skilld serve``, ``skilld worker`` and ``skilld dlq`` all read these, so the embedded
default of one command is the embedded default of the others.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BROKER_FILE",
    "CANCEL_POLL_S",
    "CONCURRENCY",
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
