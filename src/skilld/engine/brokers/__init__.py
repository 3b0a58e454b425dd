"""Brokers: one queue of tasks and its dead-letter queue, chosen by URL.

``memory://`` (in-process, for tests; ``memory://NAME`` is shared by everything in the
process that opens the same name), ``sqlite:///path`` (the durable embedded default),
``amqp://…`` and ``redis://…`` (distributed; their modules are imported only when named).
"""

from __future__ import annotations

from typing import Any

from skilld.engine.brokers.base import (
    Broker,
    DeadLetter,
    Delivery,
    Message,
    RawDelivery,
    Received,
)
from skilld.engine.urls import parse_url, redact
from skilld.exceptions import ConfigurationError

__all__ = [
    "Broker",
    "DeadLetter",
    "Delivery",
    "Message",
    "RawDelivery",
    "Received",
    "open_broker",
]


def open_broker(url: str, **options: Any) -> Broker:
    """A broker for ``url`` (not yet connected: ``async with open_broker(url) as b``).

    ``options`` are the backend's keyword arguments (``visibility_timeout=…``,
    ``queue=…``); URL query parameters set the same.
    """
    parsed = parse_url(url, kind="broker")
    if parsed.scheme == "memory":
        from skilld.engine.brokers.memory import MemoryBroker

        return MemoryBroker.from_url(parsed, **options)
    if parsed.scheme == "sqlite":
        from skilld.engine.brokers.sqlite import SQLiteBroker

        return SQLiteBroker.from_url(parsed, **options)
    if parsed.scheme in ("amqp", "amqps"):
        from skilld.engine.brokers.rabbitmq import RabbitMQBroker

        return RabbitMQBroker.from_url(parsed, **options)
    if parsed.scheme in ("redis", "rediss"):
        from skilld.engine.brokers.redis import RedisBroker

        return RedisBroker.from_url(parsed, **options)
    raise ConfigurationError(
        f"broker URL {redact(url)!r}: unknown scheme {parsed.scheme!r} "
        "(use memory://, sqlite:///PATH, amqp://… or redis://…)"
    )
