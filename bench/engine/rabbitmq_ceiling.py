"""skilld on RabbitMQ against the server's own ceiling: ``python -m bench.engine.rabbitmq_ceiling``.

Two figures from the same run, on the same local RabbitMQ and the same queue type:

- **raw ceiling**: one Python process with plain aio-pika publishes N persistent messages
  with publisher confirms (at most ``--window`` outstanding) while consuming them with
  manual acks (prefetch 1,000), both at once; messages per second from the first publish
  to the last ack. A second raw figure drains N messages queued beforehand (consume and
  ack only), which is what the skilld figure does.
- **skilld no-op drain**: N inline no-op tasks are queued first (``submit_many``); then one
  ``skilld worker --burst`` process drains them: claim, run the skill, store the result,
  ack. Tasks per second from the first task started to the last result stored (read back
  from the store), so process start-up is not counted.

The ratio skilld / raw ceiling is what issue 7 asks to keep above 60%. Each figure is the
median of ``--repeat`` runs, the systems alternating. Every queue and key is private to
the run and deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

from bench.engine.drain import REDIS, delete_redis_keys, report, skilld_drain, summary

from skilld.engine.brokers import open_broker
from skilld.engine.brokers.rabbitmq import RabbitMQBroker

AMQP = os.environ.get("SKILLD_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def raw_ceiling(n: int, queue_type: str, window: int, *, prefilled: bool) -> float:
    """Messages per second through plain aio-pika (confirms and acks)."""
    import aio_pika

    name = f"skilld-bench-raw-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(AMQP)
    try:
        pub = await connection.channel(publisher_confirms=True)
        sub = await connection.channel()
        await sub.set_qos(prefetch_count=1000)
        await pub.declare_queue(name, durable=True, arguments={"x-queue-type": queue_type})
        queue = await sub.get_queue(name)
        body = json.dumps({"skill": "noop", "args": "x" * 64}).encode()
        gate = asyncio.Semaphore(window)

        async def publish() -> None:
            async with gate:
                await pub.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=name,
                )

        done = asyncio.Event()
        acked = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal acked
            await message.ack()
            acked += 1
            if acked == n:
                done.set()

        if prefilled:
            await asyncio.gather(*(publish() for _ in range(n)))
            started = time.perf_counter()
            consumer_tag = await queue.consume(on_message)
        else:
            consumer_tag = await queue.consume(on_message)
            started = time.perf_counter()
            await asyncio.gather(*(publish() for _ in range(n)))
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - started
        await queue.cancel(consumer_tag)
        await pub.queue_delete(name)
        return n / elapsed
    finally:
        await connection.close()


async def rabbitmq_drain(n: int, queue_type: str, store_kind: str, concurrency: int) -> float:
    """Tasks per second one ``skilld worker`` process drains through RabbitMQ."""
    broker_url = f"{AMQP}?queue=skilld-bench-{uuid.uuid4().hex[:8]}&queue_type={queue_type}"
    prefix = f"skilld-bench-{uuid.uuid4().hex[:8]}:" if store_kind == "redis" else ""

    def store_url(tmp: Path) -> str:
        return f"{REDIS}?prefix={prefix}" if prefix else f"sqlite:///{tmp / 'results.db'}"

    async def cleanup() -> None:
        async with open_broker(broker_url) as broker:
            assert isinstance(broker, RabbitMQBroker)
            await broker.delete_topology()
        if prefix:
            await delete_redis_keys(prefix)

    return await skilld_drain(n, concurrency, broker_url, store_url, cleanup=cleanup)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queue-type", choices=["quorum", "classic"], default="quorum")
    parser.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    raw_both: list[float] = []
    raw_drain: list[float] = []
    skilld: list[float] = []
    for round_ in range(args.repeat):
        raw_both.append(
            await raw_ceiling(args.tasks, args.queue_type, args.window, prefilled=False)
        )
        raw_drain.append(
            await raw_ceiling(args.tasks, args.queue_type, args.window, prefilled=True)
        )
        skilld.append(
            await rabbitmq_drain(args.tasks, args.queue_type, args.store, args.concurrency)
        )
        print(
            f"round {round_ + 1}: raw publish+consume {raw_both[-1]:.0f}/s, "
            f"raw drain {raw_drain[-1]:.0f}/s, skilld drain {skilld[-1]:.0f}/s",
            flush=True,
        )
    figures = {
        "tasks": args.tasks,
        "queue_type": args.queue_type,
        "store": args.store,
        "concurrency": args.concurrency,
        "python": platform.python_version(),
        "raw_publish_consume_per_s": summary(raw_both),
        "raw_drain_per_s": summary(raw_drain),
        "skilld_drain_per_s": summary(skilld),
        "ratio_to_raw_publish_consume": round(
            statistics.median(skilld) / statistics.median(raw_both), 3
        ),
        "ratio_to_raw_drain": round(statistics.median(skilld) / statistics.median(raw_drain), 3),
    }
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())
