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
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from skilld.engine.brokers import open_broker
from skilld.engine.brokers.rabbitmq import RabbitMQBroker
from skilld.engine.operations import submit_many
from skilld.engine.stores import open_store
from skilld.engine.task import SkillTask

AMQP = os.environ.get("SKILLD_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS = os.environ.get("SKILLD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]
NOOP = "---\ndescription: Does nothing.\n---\nok\n"


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


async def skilld_drain(n: int, queue_type: str, store_kind: str, concurrency: int) -> float:
    """Tasks per second one ``skilld worker`` process drains through RabbitMQ."""
    queue = f"skilld-bench-{uuid.uuid4().hex[:8]}"
    broker_url = f"{AMQP}?queue={queue}&queue_type={queue_type}"
    with tempfile.TemporaryDirectory(prefix="skilld-bench-") as tmp:
        if store_kind == "redis":
            prefix = f"skilld-bench-{uuid.uuid4().hex[:8]}:"
            store_url = f"{REDIS}?prefix={prefix}"
        else:
            prefix = ""
            store_url = f"sqlite:///{Path(tmp) / 'results.db'}"
        skills = Path(tmp) / "skills" / "noop"
        skills.mkdir(parents=True)
        (skills / "SKILL.md").write_text(NOOP)
        tasks = [SkillTask(skill="noop", args=str(i)) for i in range(n)]
        try:
            async with open_broker(broker_url) as broker, open_store(store_url) as store:
                for start in range(0, n, 2000):
                    await submit_many(broker, store, tasks[start : start + 2000])
                env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "skilld",
                        "worker",
                        "--broker",
                        broker_url,
                        "--store",
                        store_url,
                        "--concurrency",
                        str(concurrency),
                        "--skills-dir",
                        str(Path(tmp) / "skills"),
                        "--cwd",
                        tmp,
                        "--burst",
                    ],
                    check=True,
                    env=env,
                    cwd=tmp,
                    timeout=900,
                )
                found = await store.get_many([t.id for t in tasks])
                done = [r for r in found.values() if r.status.value == "succeeded"]
                if len(done) != n:
                    raise RuntimeError(f"only {len(done)} of {n} tasks succeeded")
                first = min(r.timings.started_at or 0.0 for r in done)
                last = max(r.timings.finished_at or 0.0 for r in done)
                return n / (last - first)
        finally:
            async with open_broker(broker_url) as cleanup:
                assert isinstance(cleanup, RabbitMQBroker)
                await cleanup.delete_topology()
            if prefix:
                await _delete_redis_keys(prefix)


async def _delete_redis_keys(prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS)
    try:
        batch = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(batch), 1000):
            await client.delete(*batch[start : start + 1000])
    finally:
        await client.aclose()


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


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
        skilld.append(await skilld_drain(args.tasks, args.queue_type, args.store, args.concurrency))
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
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
