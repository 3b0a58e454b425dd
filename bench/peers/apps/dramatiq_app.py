"""Dramatiq: RabbitMQ broker with its default middleware, plus Redis results.

``RabbitmqBroker`` with its defaults (the default middleware: age limit, time limit,
shutdown, callbacks, pipelines, retries; messages acked after processing) and the
``Results`` middleware on ``RedisBackend`` so the client can read results.
"""

from __future__ import annotations

import time

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from bench.peers.apps.settings import AMQP, QUEUE, REDIS, SLEEP_S

broker = RabbitmqBroker(url=AMQP)
backend = RedisBackend(url=REDIS, namespace=QUEUE)
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, store_results=True, actor_name="noop")
def noop() -> None:
    return None


@dramatiq.actor(queue_name=QUEUE, store_results=True, actor_name="sleep")
def sleep() -> None:
    time.sleep(SLEEP_S)
