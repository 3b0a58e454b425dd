"""The physical ceiling of the servers: what a bare client moves through them.

- RabbitMQ: one Python process (aio-pika) publishing persistent messages with publisher
  confirms (up to ``window`` outstanding) into a fresh durable queue while consuming the
  same queue with manual acks (prefetch ``window``), until ``n`` messages went through;
  messages/s from the first publish to the last ack. Measured on a quorum queue (skilld's
  default) and a classic one (Celery's, Dramatiq's).
- Redis: ``redis-benchmark`` (50 clients; SET, GET, LPUSH, LPOP and XADD, plain and with
  16-command pipelines) in database 15, whose few fixed benchmark keys are deleted after.

``python -m bench.peers.ceiling`` prints one ``BENCH-RESULT`` JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import shutil
import subprocess
import time
import uuid
from typing import Any

from bench.peers.load import emit

__all__ = ["rabbitmq_ceiling", "redis_ceiling"]


async def rabbitmq_ceiling(
    url: str, *, n: int = 20000, queue_type: str = "quorum", window: int = 1000
) -> float:
    """Messages/s through one queue: publish with confirms and consume with acks at once."""
    import aio_pika

    name = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(url)
    try:
        publish_channel = await connection.channel(publisher_confirms=True)
        consume_channel = await connection.channel()
        await consume_channel.set_qos(prefetch_count=window)
        queue = await consume_channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": queue_type}
        )
        received = 0
        finished = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received >= n:
                finished.set()

        tag = await queue.consume(on_message)
        body = b'{"v":1,"id":"0123456789abcdef0123456789abcdef","skill":"noop"}'
        exchange = publish_channel.default_exchange
        start = time.perf_counter()
        for first in range(0, n, window):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=name,
                    )
                    for _ in range(first, min(n, first + window))
                )
            )
        await asyncio.wait_for(finished.wait(), timeout=300)
        elapsed = time.perf_counter() - start
        await queue.cancel(tag)
        return n / elapsed
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
        with contextlib.suppress(Exception):  # on a fresh connection: the old one may be gone
            cleaner = await aio_pika.connect(url)
            async with cleaner:
                channel = await cleaner.channel()
                await channel.queue_delete(name)


def redis_ceiling(host: str = "127.0.0.1", port: int = 6379, n: int = 50000) -> dict[str, Any]:
    """``redis-benchmark`` requests/s per command, plain and pipelined (16)."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {"error": "redis-benchmark not found"}
    results: dict[str, Any] = {}
    base = [binary, "-h", host, "-p", str(port), "--dbnum", "15", "-n", str(n), "--csv"]
    for pipeline in (1, 16):
        runs = [
            [*base, "-P", str(pipeline), "-t", "set,get,lpush,lpop"],
            [*base, "-P", str(pipeline), "xadd", "bench-ceiling-stream", "MAXLEN", "~",
             "10000", "*", "f", "v"],
        ]  # fmt: skip
        for command in runs:
            out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
            for row in csv.reader(io.StringIO(out)):
                if len(row) >= 2 and row[0] != "test":
                    try:
                        value = float(row[1])
                    except ValueError:
                        continue
                    test = row[0].split()[0].lower()
                    results[f"{test}_p{pipeline}"] = value
    subprocess.run(
        [binary.replace("-benchmark", "-cli"), "-h", host, "-p", str(port), "-n", "15", "del",
         "key:__rand_int__", "mylist", "bench-ceiling-stream", "counter:__rand_int__"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--queue-type", default="quorum")
    parser.add_argument("--redis", action="store_true", help="also run redis-benchmark")
    args = parser.parse_args()
    record: dict[str, Any] = {"n": args.n, "queue_type": args.queue_type}
    try:
        record["rabbitmq_per_s"] = asyncio.run(
            rabbitmq_ceiling(args.amqp, n=args.n, queue_type=args.queue_type)
        )
    except Exception as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    if args.redis:
        record["redis"] = redis_ceiling()
    emit(record)


if __name__ == "__main__":
    main()
