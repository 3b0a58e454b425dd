"""Backends for the engine's shared test bodies.

Every test that takes ``broker``, ``store`` or ``backend`` runs once per entry of
``BACKENDS``; a distributed backend joins by adding its name here and a branch in
``backend_urls`` (skipping locally when its server is down, failing in CI).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skilld.engine.brokers import Broker, open_broker
from skilld.engine.stores import Store, open_store
from tests.engine.services import (
    delete_rabbitmq_queues,
    delete_redis_keys,
    require_rabbitmq,
    require_redis,
    unique_name,
)

# "rabbitmq": the RabbitMQ broker with the Redis store.
# "redis": the Redis Streams broker with the Redis store, under a prefix of its own.
BACKENDS = ["memory", "sqlite", "rabbitmq", "redis"]

# Short enough that a lease running out is observable in a test, long enough that a
# loaded CI machine does not lose a lease by accident.
VISIBILITY_S = 0.5


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_urls(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(broker URL, store URL) of a fresh, private queue and store."""
    if backend == "memory":
        return "memory://", "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}", f"sqlite:///{tmp_path / 'results.db'}"
    if backend == "rabbitmq":
        amqp = require_rabbitmq()
        url = require_redis()
        queue = unique_name("q")
        prefix = queue + ":"
        request.addfinalizer(lambda: delete_rabbitmq_queues(queue))
        request.addfinalizer(lambda: delete_redis_keys(prefix))
        return f"{amqp}?queue={queue}", f"{url}?prefix={prefix}"
    if backend == "redis":
        url = require_redis()
        prefix = unique_name("r") + ":"
        request.addfinalizer(lambda: delete_redis_keys(prefix))  # noqa: PT021 (like above)
        return f"{url}?prefix={prefix}", f"{url}?prefix={prefix}"
    raise AssertionError(f"unknown backend {backend}")


@pytest.fixture
async def broker(backend_urls: tuple[str, str]) -> AsyncIterator[Broker]:
    async with open_broker(backend_urls[0], visibility_timeout=VISIBILITY_S) as opened:
        yield opened


@pytest.fixture
async def store(backend_urls: tuple[str, str]) -> AsyncIterator[Store]:
    async with open_store(backend_urls[1]) as opened:
        yield opened
