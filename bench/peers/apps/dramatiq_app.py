"""Dramatiq: RabbitMQ broker with its default middleware, plus Redis results.

``RabbitmqBroker`` with its defaults (the default middleware: age limit, time limit,
shutdown, callbacks, pipelines, retries; messages acked after processing) and the
``Results`` middleware on ``RedisBackend`` so the client can read results.

One change: the result backend's Redis pool blocks instead of failing when all its
connections are busy, and holds one connection per worker thread. redis-py 8 caps a pool
at 100 connections and raises ``MaxConnectionsError`` beyond; with hundreds of threads
Dramatiq would lose results (the task ran, its result was never stored).
"""

from __future__ import annotations

import time

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from bench.peers.apps.settings import AMQP, BROKER, CONCURRENCY, QUEUE, REDIS, SLEEP_S

# BENCH_BROKER=redis: Dramatiq's Redis broker, its keys under this run's namespace.
broker = (
    RedisBroker(url=REDIS, namespace=f"{QUEUE}-broker")
    if BROKER == "redis"
    else RabbitmqBroker(url=AMQP)
)
pool = redis.BlockingConnectionPool.from_url(REDIS, max_connections=CONCURRENCY + 8)
backend = RedisBackend(namespace=QUEUE, client=redis.Redis(connection_pool=pool))
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, store_results=True, actor_name="noop")
def noop() -> None:
    return None


@dramatiq.actor(queue_name=QUEUE, store_results=True, actor_name="sleep")
def sleep() -> None:
    time.sleep(SLEEP_S)
