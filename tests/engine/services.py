"""The servers the distributed tests need: skip when one is missing on a laptop, fail in CI.

``CI`` set in the environment (as ``.ci/run`` and hosted CI do) turns a missing server into
a failure, so a broken service can never make the suite pass by skipping its tests.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid

import pytest

__all__ = [
    "RABBITMQ_URL",
    "REDIS_URL",
    "delete_rabbitmq_queues",
    "delete_redis_keys",
    "require_rabbitmq",
    "require_redis",
    "unique_name",
]

RABBITMQ_URL = os.environ.get("SKILLD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("SKILLD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _require(name: str, host: str, port: int, start: str) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not running on {host}:{port} (start it: {start})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI is set, so this is a failure, not a skip")
    pytest.skip(message)


def require_rabbitmq() -> str:
    """The AMQP URL of the test server; skips (or fails in CI) when it is down."""
    _require("RabbitMQ", "127.0.0.1", 5672, "rabbitmq-server -detached")
    return RABBITMQ_URL


def require_redis() -> str:
    """The URL of the test Redis; skips (or fails in CI) when it is down."""
    _require("Redis", "127.0.0.1", 6379, "redis-server --daemonize yes")
    return REDIS_URL


def unique_name(prefix: str = "test") -> str:
    """A queue name or key prefix no other test uses."""
    return f"skilld-{prefix}-{uuid.uuid4().hex[:12]}"


def delete_rabbitmq_queues(queue: str) -> None:
    """Delete every queue and exchange a RabbitMQ broker named ``queue`` declared.

    Synchronous (for finalizers): runs its own event loop in a thread, so it works whether
    or not the test's loop is still around.
    """
    from skilld.engine.brokers.rabbitmq import RabbitMQBroker

    async def run() -> None:
        broker = RabbitMQBroker(RABBITMQ_URL, queue=queue)
        await broker.connect()
        try:
            await broker.delete_topology()
        finally:
            await broker.close()

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if errors:
        raise errors[0]


def delete_redis_keys(prefix: str) -> int:
    """Delete every key under ``prefix`` (synchronous, for finalizers); returns how many."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)
    finally:
        client.close()
