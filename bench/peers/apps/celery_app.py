"""Celery: RabbitMQ broker, Redis results; late acks and publisher confirms.

Production settings from Celery's documentation: ``task_acks_late`` (a task is acked
after it ran, so a crashed worker's task runs again) and ``confirm_publish`` (the client
waits for RabbitMQ's publisher confirm). Everything else is Celery's default (prefetch
multiplier 4, JSON, classic queue).
"""

from __future__ import annotations

import time

from celery import Celery

from bench.peers.apps.settings import AMQP, BROKER, QUEUE, REDIS, SLEEP_S

# BENCH_BROKER=redis: Celery's Redis transport (no publisher confirms there).
app = Celery("bench", broker=REDIS if BROKER == "redis" else AMQP, backend=REDIS)
app.conf.update(
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
    task_acks_late=True,
    broker_transport_options={} if BROKER == "redis" else {"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop() -> None:
    return None


@app.task(name="bench.sleep")
def sleep() -> None:
    time.sleep(SLEEP_S)  # cooperative under -P gevent (the pool patches time.sleep)
