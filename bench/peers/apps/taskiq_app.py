"""Taskiq: aio-pika broker and Redis results, with their defaults.

One change from the defaults: ``qos`` (the consumer's prefetch, default 10) is set to the
worker's ``--max-async-tasks``; with 10, a worker could never hold more than 10 tasks of
200 ms in flight (50 tasks/s), whatever its concurrency, which would not be a fair test.
"""

from __future__ import annotations

import asyncio

from taskiq_aio_pika import AioPikaBroker
from taskiq_aio_pika.exchange import Exchange
from taskiq_aio_pika.queue import Queue
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench.peers.apps.settings import AMQP, BROKER, CONCURRENCY, QUEUE, REDIS, SLEEP_S

if BROKER == "redis":  # BENCH_BROKER=redis: taskiq-redis's Streams broker, defaults
    broker = RedisStreamBroker(
        REDIS, queue_name=QUEUE, consumer_group_name=QUEUE
    ).with_result_backend(RedisAsyncResultBackend(REDIS, prefix_str=QUEUE))
else:
    broker = AioPikaBroker(
        AMQP,
        qos=CONCURRENCY,
        exchange=Exchange(name=QUEUE),
        task_queues=[Queue(name=QUEUE)],
        dead_letter_queue=Queue(name=f"{QUEUE}.dead_letter"),
    ).with_result_backend(RedisAsyncResultBackend(REDIS, prefix_str=QUEUE))


@broker.task(task_name="bench.noop")
async def noop() -> None:
    return None


@broker.task(task_name="bench.sleep")
async def sleep() -> None:
    await asyncio.sleep(SLEEP_S)
