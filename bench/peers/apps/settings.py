"""Where the peers connect and what they are called in this run (from the environment)."""

from __future__ import annotations

import os

AMQP = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("BENCH_QUEUE", "bench-peer")
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "100"))
SLEEP_S = float(os.environ.get("BENCH_SLEEP_S", "0.2"))
BROKER = os.environ.get("BENCH_BROKER", "amqp")  # "amqp" (RabbitMQ) or "redis"
