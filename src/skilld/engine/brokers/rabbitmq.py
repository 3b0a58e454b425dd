"""The RabbitMQ broker (``amqp://``): durable queues, publisher confirms, manual acks.

Topology, every name derived from one ``queue`` option (unique per test, shared by every
worker of a deployment), declared idempotently at connect and after every reconnection::

    {queue}              the task queue: durable, quorum (default) or classic;
                         dead-letters to {queue}.dlx; quorum: x-delivery-limit,
                         classic: x-max-priority 9
    {queue}.dlx          fanout exchange  ──►  {queue}.dead   the dead-letter queue
    {queue}.delay.{ms}   holding queues for delayed messages: x-message-ttl = ms, then
                         dead-lettered back into {queue} through the default exchange

Delays: RabbitMQ 3.x has no native delay for durable queues (the delayed-message-exchange
plugin keeps messages in one node's Mnesia table and is not replicated), so a delayed
message waits in a holding queue. The holding queues form a bounded ladder
(10 ms x 2^k, at most 24 queues); a delay is rounded *down* to a rung and the message
carries its due time in a header. When it comes back early, the consumer sends it round
again for the remainder (each hop at least halves what is left), so a delay is exact to a
few milliseconds and never early, with a bounded number of queues.

Publishing: every message is persistent, mandatory and confirmed. A batch is written in
chunks of at most ``confirm_window`` messages, each chunk one socket write
(:mod:`~skilld.engine.brokers.amqp_batch`), with at most ``confirm_window`` confirms
outstanding (the server acks many at once), so a batch costs about one round trip and
one system call per chunk, not one of each per message; acks of a batch are one write
too. A message that finds no queue (the topology was deleted under us) is returned, the
topology is declared again and the message sent again; so is one whose connection broke
before its confirm arrived (a duplicate is possible then: results are exactly-once
through the store's claims). Only the messages not confirmed are sent again.

Consuming: one consumer per broker object, started at the first :meth:`fetch`, whose
prefetch is the caller's capacity (the worker's running tasks plus its free slots), so a
worker never holds messages it has no slot for while another worker is idle. Deliveries
wait in a local buffer until fetched. A delivery is settled only through its handle: a
handle from a channel that has since closed is ignored (the server gave the message back
when the channel closed), and a handle is never settled twice (a second ack of one
delivery tag would make the server close the channel).

Leases: the server holds an unacked message until its consumer's channel closes (a
crashed worker's messages come back at once) or the consumer timeout passes. On top of
that, a fetched message not settled or extended within ``visibility_timeout`` is handed
back (``basic.nack`` with requeue), like on SQLite; the worker extends the leases of
running tasks, so only a stalled caller loses them.

Delivery counts: quorum queues count deliveries (``x-delivery-count``) and the server
dead-letters a message after ``x-delivery-limit`` returns; the client-side limit
(``max_deliveries``) acts first with a clear reason. Classic queues only flag a
redelivery: the consumer puts a redelivered message back with its count in a header, so
the limit holds there too. A message that replaces another one of the same task (a
deferral, a hand-back, a delayed message sent round) carries the count of deliveries that
ended without a result (``Message.failed``, set by the base class for deferrals) in the
same header, so a task that kills its worker is stopped even though the next delivery
finds the dead worker's claim and defers.

Priorities: classic queues (``x-max-priority``); RabbitMQ 3.x quorum queues have none
(``supports_priority`` is False).

Consumer timeout: the server closes a channel holding an unacked delivery longer than its
``consumer_timeout`` (default 30 min). On RabbitMQ >= 3.12 the consumer sets
``x-consumer-timeout`` to ``consumer_timeout`` (default 1 h, above the longest task); on
older servers set ``consumer_timeout`` in rabbitmq.conf above your longest task timeout.

Reconnection: ``aio_pika.connect_robust`` reopens the connection and channels; on every
reopen this broker declares the topology again and starts consuming again, and a fetch that
finds its consumer gone (a cancel from the server, a failed restore) starts it again
rather than waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlencode

from skilld.engine import defaults
from skilld.engine.brokers.amqp_batch import (
    ConfirmWindow,
    Outgoing,
    can_batch,
    can_write,
    publish_batch,
    send_frames,
)
from skilld.engine.brokers.base import Broker, DeadLetter, Message, RawDelivery, is_replayable
from skilld.engine.task import decode_task
from skilld.engine.urls import BackendURL, redact
from skilld.exceptions import (
    BackendUnavailableError,
    ConfigurationError,
    MalformedTaskError,
    MissingDependencyError,
)

if TYPE_CHECKING:
    import aio_pika
    import aiormq
    import aiormq.abc

__all__ = ["DELAY_RUNGS_MS", "RabbitMQBroker"]

log = logging.getLogger("skilld.rabbitmq")

QueueType = Literal["quorum", "classic"]

DELAY_RUNGS_MS = tuple(10 * 2**k for k in range(24))
"""Holding-queue TTLs: 10 ms, 20 ms, ... about 23 hours (a longer delay hops again)."""

_ON_TIME_S = 0.005  # a message due within this is delivered now
_MAX_PRIORITY = 9  # SkillTask.priority is 0..9
_DEFAULT_CONSUMER_TIMEOUT_S = 3600.0
_NO_QUEUE = "no queue took the message"

# Our message headers. Dead letters carry why they died; delayed messages their due time.
H_DUE = "x-skilld-due"
H_FAILED = "x-skilld-failed-deliveries"
H_LETTER = "x-skilld-letter"
H_REASON = "x-skilld-reason"
H_ERROR_TYPE = "x-skilld-error-type"
H_FAILED_AT = "x-skilld-failed-at"
H_TASK_ID = "x-skilld-task-id"
H_SKILL = "x-skilld-skill"
H_ATTEMPTS = "x-skilld-attempts"

_URL_OPTIONS = (
    "queue",
    "queue_type",
    "prefetch",
    "confirm_window",
    "visibility_timeout",
    "consumer_timeout",
    "max_deliveries",
)


@dataclass(slots=True, eq=False)
class _Lease:
    """The handle of one delivery: the channel it came on and its delivery tag."""

    channel: aiormq.Channel
    tag: int
    body: bytes = b""
    priority: int = 0
    message_id: str | None = None
    count: int = 1  # deliveries of the task so far, this one included
    expires_at: float = 0.0
    settled: bool = False

    @property
    def live(self) -> bool:
        return not self.settled and not self.channel.is_closed


@dataclass(slots=True)
class _Buffered:
    lease: _Lease
    due: float | None
    recount: bool = False  # classic queue, redelivered: write the new count first


def _import_aio_pika() -> Any:
    try:
        import aio_pika
    except ImportError:  # pragma: no cover - the extra is installed in development
        raise MissingDependencyError("aio-pika", "rabbitmq", "the amqp:// broker") from None
    return aio_pika


class RabbitMQBroker(Broker):
    """A task queue on RabbitMQ.

    Args:
        url: the AMQP URL (``amqp://user:pass@host:5672/vhost``; aio-pika's own query
            options such as ``heartbeat`` are passed through).
        queue: name of the task queue and prefix of every other name (see the module
            docstring). Give each test or deployment its own.
        queue_type: ``quorum`` (replicated, delivery limit; the default) or ``classic``
            (priorities).
        prefetch: unacked messages this consumer may hold; None sizes it to the caller's
            capacity (the worker's concurrency) as fetches show it.
        confirm_window: most publisher confirms outstanding at once.
        visibility_timeout: a fetched message not settled or extended within this many
            seconds is handed back to the queue.
        consumer_timeout: the server-side limit for holding one unacked delivery
            (RabbitMQ >= 3.12; older servers use their rabbitmq.conf setting). Keep it
            above the longest task timeout.
        max_deliveries: see :class:`~skilld.engine.brokers.base.Broker`; on a quorum
            queue also its ``x-delivery-limit``.
        publish_timeout: how long a publish keeps retrying through a reconnection before
            raising :class:`~skilld.exceptions.BackendUnavailableError`.
        connect_timeout: the same for the first connection.
        connection_name: how the connection names itself to the server (its
            ``connection_name`` client property, shown by the management UI and
            ``rabbitmqctl list_connections client_properties``); default ``skilld HOST:PID``.
    """

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        *,
        queue: str = defaults.QUEUE,
        queue_type: QueueType = "quorum",
        prefetch: int | None = None,
        confirm_window: int = 1024,
        visibility_timeout: float = defaults.VISIBILITY_TIMEOUT_S,
        consumer_timeout: float = _DEFAULT_CONSUMER_TIMEOUT_S,
        max_deliveries: int = 20,
        publish_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        connection_name: str | None = None,
    ) -> None:
        super().__init__(max_deliveries=max_deliveries)
        if queue_type not in ("quorum", "classic"):
            raise ConfigurationError(
                f"RabbitMQ broker: queue_type={queue_type!r} (use 'quorum' or 'classic')"
            )
        if not queue or len(queue) > 200:
            raise ConfigurationError(f"RabbitMQ broker: bad queue name {queue!r}")
        if visibility_timeout <= 0:
            raise ConfigurationError(
                f"RabbitMQ broker: visibility_timeout={visibility_timeout} (seconds, > 0)"
            )
        if prefetch is not None and not 1 <= prefetch <= 65535:
            raise ConfigurationError(f"RabbitMQ broker: prefetch={prefetch} (1..65535)")
        self.url = url
        self.amqp_url = url
        self.queue = queue
        self.queue_type: QueueType = queue_type
        self.supports_priority = queue_type == "classic"
        self.prefetch = prefetch
        self.confirm_window = confirm_window
        self.visibility_timeout = visibility_timeout
        self.consumer_timeout = consumer_timeout
        self.publish_timeout = publish_timeout
        self.connect_timeout = connect_timeout
        self.connection_name = connection_name or f"skilld {socket.gethostname()}:{os.getpid()}"
        self.dead_queue = f"{queue}.dead"
        self.dead_exchange = f"{queue}.dlx"
        # Counters a test or a dashboard reads: reconnections seen, consumers (re)started.
        self.reconnections = 0
        self.consumer_starts = 0

        self._aio_pika: Any = None
        self._conn: aio_pika.abc.AbstractRobustConnection | None = None
        self._pub: aio_pika.abc.AbstractRobustChannel | None = None
        self._sub: aio_pika.abc.AbstractRobustChannel | None = None
        self._window: ConfirmWindow | None = None
        self._buffer: deque[_Buffered] = deque()
        self._arrived: asyncio.Event | None = None
        self._leased: dict[_Lease, None] = {}
        self._want_prefetch = 0  # 0: not consuming
        self._consumer: tuple[aiormq.Channel, str] | None = None
        self._consume_lock: asyncio.Lock | None = None
        self._declared_rungs: set[int] = set()
        self._server_version: tuple[int, ...] = ()
        self._background: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def peak_confirms(self) -> int:
        """Most publisher confirms that were outstanding at once."""
        return self._window.peak if self._window is not None else 0

    @classmethod
    def from_url(cls, url: BackendURL, **options: Any) -> RabbitMQBroker:
        """``amqp://user:pass@host:port/vhost?queue=NAME&queue_type=classic&prefetch=N``.

        The options named in the docstring may be given in the URL; the others in the
        query (``heartbeat=…``) go to aio-pika.
        """
        base = url.url.partition("?")[0]
        passthrough = {k: v for k, v in url.options.items() if k not in _URL_OPTIONS}
        amqp_url = base + ("?" + urlencode(passthrough) if passthrough else "")
        for name in ("visibility_timeout", "consumer_timeout"):
            if name in url.options:
                options.setdefault(name, url.float_option(name, 0.0))
        for name in ("prefetch", "confirm_window", "max_deliveries"):
            if name in url.options:
                options.setdefault(name, int(url.float_option(name, 0.0)))
        if "queue" in url.options:
            options.setdefault("queue", url.options["queue"])
        if "queue_type" in url.options:
            options.setdefault("queue_type", url.options["queue_type"])
        broker = cls(amqp_url, **options)
        broker.url = url.url
        return broker

    # -- names and arguments -------------------------------------------------------------

    def delay_queue(self, rung_ms: int) -> str:
        return f"{self.queue}.delay.{rung_ms}"

    def queue_names(self) -> list[str]:
        """Every queue this broker may declare (for clean-up and inspection)."""
        return [self.queue, self.dead_queue, *(self.delay_queue(r) for r in DELAY_RUNGS_MS)]

    def _type_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"x-queue-type": self.queue_type}
        if self.queue_type == "quorum":
            # Dead-letter with confirms inside the server: a message is not dropped
            # between a holding queue and the task queue if a node fails.
            args["x-dead-letter-strategy"] = "at-least-once"
            args["x-overflow"] = "reject-publish"
        return args

    def _task_queue_args(self) -> dict[str, Any]:
        args = self._type_args()
        args["x-dead-letter-exchange"] = self.dead_exchange
        if self.queue_type == "quorum":
            args["x-delivery-limit"] = self.max_deliveries
        else:
            args["x-max-priority"] = _MAX_PRIORITY
        return args

    def _delay_queue_args(self, rung_ms: int) -> dict[str, Any]:
        args = self._type_args()
        args["x-message-ttl"] = rung_ms
        args["x-dead-letter-exchange"] = ""
        args["x-dead-letter-routing-key"] = self.queue
        return args

    # -- life cycle ----------------------------------------------------------------------

    async def _connect(self) -> None:
        self._aio_pika = aio_pika = _import_aio_pika()
        self._window = ConfirmWindow(self.confirm_window)
        self._arrived = asyncio.Event()
        self._consume_lock = asyncio.Lock()
        try:
            conn = await asyncio.wait_for(
                aio_pika.connect_robust(
                    self.amqp_url,
                    reconnect_interval=0.5,
                    client_properties={"connection_name": self.connection_name},
                ),
                self.connect_timeout,
            )
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
            raise BackendUnavailableError(
                f"RabbitMQ broker {redact(self.url)}: cannot connect ({exc or type(exc).__name__})"
            ) from exc
        self._conn = conn
        self._server_version = _server_version(conn)
        if self._server_version and self._server_version < (3, 12):
            log.info(
                "RabbitMQ %s sets no consumer timeout per consumer: its consumer_timeout "
                "setting (rabbitmq.conf, default 30 min) must stay above the longest task",
                ".".join(map(str, self._server_version)),
            )
        conn.reconnect_callbacks.add(self._on_reconnect)
        self._pub = await conn.channel(publisher_confirms=True)
        self._sub = await conn.channel(publisher_confirms=False)
        self._sub.reopen_callbacks.add(self._on_sub_reopen)
        await self._declare()
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="skilld-amqp-leases")

    async def _close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._want_prefetch = 0
        self._consumer = None
        self._buffer.clear()
        self._leased.clear()
        if self._conn is not None:
            # Unsettled deliveries go back to the queue when the channels close.
            await self._conn.close()
            self._conn = None

    def _on_reconnect(self, *_: Any) -> None:
        self.reconnections += 1
        log.warning("RabbitMQ broker %s: reconnected", redact(self.url))

    def _on_sub_reopen(self, *_: Any) -> None:
        # The consuming channel is new: every buffered delivery of the old one was given
        # back by the server. Declare the topology again and consume again.
        self._buffer.clear()
        self._consumer = None
        if self._want_prefetch:
            self._spawn(self._resume())

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _resume(self) -> None:
        assert self._consume_lock is not None
        delay = 0.1
        while self._connected and self._want_prefetch:
            try:
                await self._declare()
                async with self._consume_lock:
                    if not self._consuming():
                        await self._start_consumer(self._want_prefetch)
                return
            except Exception as exc:  # the server may still be starting up
                log.warning("RabbitMQ broker %s: consuming again failed: %s", redact(self.url), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _raw_channel(self) -> aiormq.Channel:
        """A plain (not restored) channel, for declarations and browsing: an error there
        must not make the robust channels reopen in a loop."""
        assert self._conn is not None
        await self._conn.ready()
        transport = self._conn.transport
        if transport is None:
            raise BackendUnavailableError(f"RabbitMQ broker {redact(self.url)}: not connected")
        channel = await transport.connection.channel(publisher_confirms=False)
        return cast("aiormq.Channel", channel)

    async def _declare(self) -> None:
        """Declare the exchange and queues (idempotent)."""
        channel = await self._raw_channel()
        try:
            await channel.exchange_declare(self.dead_exchange, exchange_type="fanout", durable=True)
            await self._declare_queue(self.dead_queue, self._type_args())
            await channel.queue_bind(self.dead_queue, self.dead_exchange, routing_key="")
            await self._declare_queue(self.queue, self._task_queue_args())
            for rung in list(self._declared_rungs):
                await self._declare_queue(self.delay_queue(rung), self._delay_queue_args(rung))
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _declare_queue(self, name: str, arguments: dict[str, Any]) -> None:
        lib = _aiormq()
        channel = await self._raw_channel()
        try:
            await channel.queue_declare(name, durable=True, arguments=arguments)
        except lib.exceptions.ChannelPreconditionFailed as exc:
            # The queue exists with other arguments (another max_deliveries, another type).
            # Use it as it is rather than fail every worker of a rolling update.
            log.warning(
                "RabbitMQ broker: queue %r exists with other arguments than %r (%s); "
                "using it as it is (delete it to apply the new ones)",
                name,
                arguments,
                exc,
            )
            channel = await self._raw_channel()
            await channel.queue_declare(name, passive=True)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _rung(self, rung_ms: int) -> str:
        if rung_ms not in self._declared_rungs:
            await self._declare_queue(self.delay_queue(rung_ms), self._delay_queue_args(rung_ms))
            self._declared_rungs.add(rung_ms)
        return self.delay_queue(rung_ms)

    async def delete_topology(self) -> None:
        """Delete every queue and the exchange of this broker (tests, teardown)."""
        channel = await self._raw_channel()
        try:
            for name in self.queue_names():
                await channel.queue_delete(name)
            await channel.exchange_delete(self.dead_exchange)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        self._declared_rungs.clear()

    # -- publishing ----------------------------------------------------------------------

    def _properties(
        self,
        *,
        priority: int,
        message_id: str | None,
        headers: dict[str, Any] | None,
    ) -> Any:
        spec = _aiormq().spec
        return spec.Basic.Properties(
            delivery_mode=2,
            content_type="application/json",
            priority=priority if self.supports_priority else None,
            message_id=message_id,
            headers=headers,
        )

    async def _send(self, items: Sequence[Outgoing]) -> None:
        """Publish (exchange, routing key, body, properties) items until the server has
        confirmed every one, through reconnections, for at most ``publish_timeout``
        seconds; only the items not yet confirmed are sent again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout
        pending = list(items)
        while True:
            problems = await self._publish_once(pending, deadline)
            failed = [
                (item, problem) for item, problem in zip(pending, problems, strict=True) if problem
            ]
            if not failed:
                return
            problem = failed[0][1]
            if any(problem.startswith(_NO_QUEUE) for _, problem in failed):
                with contextlib.suppress(Exception):
                    await self._declare()
            if loop.time() >= deadline:
                raise BackendUnavailableError(
                    f"RabbitMQ broker {redact(self.url)}: publishing failed for "
                    f"{self.publish_timeout:g}s ({len(failed)} of {len(items)} messages "
                    f"unconfirmed): {problem}"
                )
            log.info("RabbitMQ broker: publish %d again after: %s", len(failed), problem)
            await asyncio.sleep(0.05)
            pending = [item for item, _ in failed]

    async def _publish_once(self, items: Sequence[Outgoing], deadline: float) -> list[str]:
        """Publish ``items`` once, in batches of at most a window of confirms, each batch
        one socket write; what went wrong for each item ("" when it was confirmed)."""
        lib = _aiormq()
        assert self._pub is not None
        assert self._window is not None
        window = self._window
        loop = asyncio.get_running_loop()
        errors = (
            TimeoutError,
            ConnectionError,
            lib.exceptions.AMQPError,
            lib.exceptions.ChannelInvalidStateError,
        )
        problems = [""] * len(items)
        futures: list[asyncio.Future[Any]] = []
        try:
            channel = cast(
                "aiormq.Channel",
                await asyncio.wait_for(
                    self._pub.get_underlay_channel(), max(0.01, deadline - loop.time())
                ),
            )
            batched = can_batch(channel)
            for start in range(0, len(items), window.size):
                chunk = items[start : start + window.size]
                if not window.room(len(chunk)):
                    await asyncio.wait_for(
                        window.take(len(chunk)), max(0.01, deadline - loop.time())
                    )
                else:
                    await window.take(len(chunk))
                try:
                    if batched:
                        sent = await publish_batch(channel, chunk)
                    else:
                        sent = [
                            asyncio.ensure_future(
                                channel.basic_publish(
                                    body,
                                    exchange=exchange,
                                    routing_key=key,
                                    properties=props,
                                    mandatory=True,
                                    wait=False,
                                )
                            )
                            for exchange, key, body, props in chunk
                        ]
                except BaseException:
                    window.give(len(chunk))
                    raise
                for future in sent:
                    future.add_done_callback(window.give_one)
                futures.extend(sent)
        except errors as exc:
            # Whatever was not written gets this problem; what was written is judged
            # by its confirm below.
            problems[len(futures) :] = [f"{type(exc).__name__}: {exc}"] * (
                len(items) - len(futures)
            )
        if futures:
            await asyncio.wait(futures, timeout=max(0.01, deadline - loop.time()))
        for index, future in enumerate(futures):
            problems[index] = self._confirm_problem(future, items[index][1])
        return problems

    @staticmethod
    def _confirm_problem(future: asyncio.Future[Any], routing_key: str) -> str:
        lib = _aiormq()
        if not future.done():
            future.cancel()
            return "TimeoutError: no confirm from the server in time"
        if future.cancelled():
            return "CancelledError: the publish was cancelled"
        exc = future.exception()
        if exc is not None:
            return f"{type(exc).__name__}: {exc}"
        confirm = future.result()
        if isinstance(confirm, lib.spec.Basic.Ack):
            return ""
        if isinstance(confirm, lib.abc.DeliveredMessage):
            return f"{_NO_QUEUE} (routing key {routing_key!r})"
        return f"the server refused the message ({confirm!r})"

    async def _route(self, message: Message, *, due: float | None = None) -> tuple[str, str]:
        """(exchange, routing key) of a message delayed until ``due`` (None: now)."""
        if due is None:
            return "", self.queue
        remaining_ms = (due - time.time()) * 1000
        if remaining_ms <= _ON_TIME_S * 1000:
            return "", self.queue
        rung = DELAY_RUNGS_MS[0]
        for candidate in DELAY_RUNGS_MS:
            if candidate > remaining_ms:
                break
            rung = candidate
        return "", await self._rung(rung)

    def _item(self, message: Message, due: float | None) -> tuple[bytes, Any]:
        headers: dict[str, Any] = {}
        if due is not None:
            # Integer milliseconds: AMQP tables carry floats as 32-bit, far too coarse
            # for a time since the epoch.
            headers[H_DUE] = round(due * 1000)
        if message.failed:
            headers[H_FAILED] = message.failed
        props = self._properties(
            priority=message.priority, message_id=message.task_id, headers=headers or None
        )
        return message.body, props

    async def _publish(self, messages: Sequence[Message]) -> None:
        now = time.time()
        items: list[tuple[str, str, bytes, Any]] = []
        for message in messages:
            due = now + message.delay if message.delay > _ON_TIME_S else None
            exchange, key = await self._route(message, due=due)
            body, props = self._item(message, due)
            items.append((exchange, key, body, props))
        await self._send(items)

    # -- consuming -----------------------------------------------------------------------

    async def _on_message(self, message: aiormq.abc.DeliveredMessage) -> None:
        props = message.header.properties
        headers: dict[str, Any] = dict(props.headers or {})
        delivery = message.delivery
        # Deliveries that ended without the task being settled, carried over from
        # earlier messages of the same task (see _carried), plus this message's own.
        failed = headers.get(H_FAILED)
        count = failed if isinstance(failed, int) and failed > 0 else 0
        redelivered = bool(getattr(delivery, "redelivered", False))
        if self.queue_type == "quorum":
            count += int(headers.get("x-delivery-count") or 0) + 1
        else:
            count += 2 if redelivered else 1  # a classic queue only flags a redelivery
        due = headers.get(H_DUE)
        self._buffer.append(
            _Buffered(
                lease=_Lease(
                    cast("aiormq.Channel", message.channel),
                    int(getattr(delivery, "delivery_tag", 0)),
                    message.body,
                    props.priority or 0,
                    props.message_id,
                    count,
                ),
                due=due / 1000 if isinstance(due, int) else None,
                recount=redelivered and self.queue_type == "classic",
            )
        )
        assert self._arrived is not None
        self._arrived.set()

    async def _start_consumer(self, prefetch: int) -> None:
        assert self._sub is not None
        channel = cast("aiormq.Channel", await self._sub.get_underlay_channel())
        if self._consumer is not None:
            old_channel, tag = self._consumer
            if old_channel is channel and tag in channel.consumers:
                # Messages delivered to the old consumer stay unacked on this channel
                # (and in the buffer); only new deliveries follow the new prefetch.
                await channel.basic_cancel(tag)
        arguments: dict[str, Any] = {}
        if self._server_version >= (3, 12) and self.consumer_timeout > 0:
            arguments["x-consumer-timeout"] = int(self.consumer_timeout * 1000)
        await channel.basic_qos(prefetch_count=prefetch)
        ok = await channel.basic_consume(
            self.queue, self._on_message, no_ack=False, arguments=arguments
        )
        self._consumer = (channel, str(ok.consumer_tag))
        self.consumer_starts += 1

    def _consuming(self) -> bool:
        if self._consumer is None:
            return False
        channel, tag = self._consumer
        return not channel.is_closed and tag in channel.consumers

    async def _ensure_consuming(self, limit: int) -> None:
        want = self.prefetch or min(65535, max(1, len(self._leased) + limit))
        if self._consuming() and want <= self._want_prefetch:
            return
        assert self._consume_lock is not None
        async with self._consume_lock:
            want = max(want, self._want_prefetch)
            if self._consuming() and want <= self._want_prefetch:
                return
            self._want_prefetch = want
            await self._start_consumer(want)

    async def _fetch(self, limit: int, timeout: float) -> Sequence[RawDelivery]:
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            # Bounded: while the connection is down, getting a channel waits for the
            # reconnection, and a fetch must still return within its timeout.
            await asyncio.wait_for(self._ensure_consuming(limit), max(timeout, 0.05))
        except (Exception, TimeoutError) as exc:  # reconnecting: return nothing for now
            log.info("RabbitMQ broker: not consuming yet: %r", exc)
            await asyncio.sleep(max(0.0, min(deadline - loop.time(), 0.1)))
            return []
        out: list[RawDelivery] = []
        lingered = False
        while True:
            await self._take(out, limit)
            if len(out) >= limit:
                return out
            if out and lingered:
                return out
            remaining = deadline - loop.time()
            if remaining <= 0:
                return out
            # Nothing yet: wait for the first delivery. Something but less than asked: the
            # rest of a burst is usually a few frames behind; give it a moment.
            wait = min(remaining, 0.002) if out else remaining
            lingered = bool(out)
            self._arrived.clear()
            if self._buffer:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
            if not self._buffer and not out and not self._consuming():
                # The consumer vanished (a cancel, a failed restore): never wait on a
                # consumer that is gone.
                with contextlib.suppress(Exception):
                    await self._ensure_consuming(limit)

    async def _take(self, out: list[RawDelivery], limit: int) -> None:
        now = time.time()
        while self._buffer and len(out) < limit:
            item = self._buffer.popleft()
            lease = item.lease
            if not lease.live:
                continue  # its channel closed: the server has given it back already
            if item.recount and lease.count <= self.max_deliveries:
                await self._again(item)  # writes the count a classic queue does not keep
                continue
            if item.due is not None and item.due - now > _ON_TIME_S:
                await self._again(item)
                continue
            lease.expires_at = now + self.visibility_timeout
            self._leased[lease] = None
            out.append(RawDelivery(lease.body, lease, lease.count))

    async def _again(self, item: _Buffered) -> None:
        """Put a message back unchanged, its delivery count and due time carried in its
        headers, and drop this delivery: a delayed message that came back early (sent
        round for the time it still has to wait), or a redelivered one on a classic
        queue (whose server keeps no count)."""
        lease = item.lease
        message = Message(lease.body, lease.priority, 0.0, lease.message_id, _carried(lease))
        exchange, key = await self._route(message, due=item.due)
        body, props = self._item(message, item.due)
        await self._send([(exchange, key, body, props)])
        await self._settle([lease], "ack")

    # -- settling ------------------------------------------------------------------------

    async def _settle(self, leases: Sequence[_Lease], how: Literal["ack", "requeue"]) -> None:
        """Ack or nack (requeue) the live deliveries among ``leases``, each exactly once.

        One frame per delivery, the frames of a channel in one write
        (:func:`~skilld.engine.brokers.amqp_batch.send_frames`). No ``multiple`` acks:
        proving that one settles exactly this batch means looking at every delivery still
        held, which cost more than the frames it saves once a batch is one write.
        """
        lib = _aiormq()
        spec = lib.spec
        by_channel: dict[int, tuple[aiormq.Channel, list[Any]]] = {}
        for lease in leases:
            if not lease.live:
                self._leased.pop(lease, None)
                continue
            lease.settled = True  # before the first await: never settled twice
            self._leased.pop(lease, None)
            frame = (
                spec.Basic.Ack(delivery_tag=lease.tag)
                if how == "ack"
                else spec.Basic.Nack(delivery_tag=lease.tag, requeue=True)
            )
            by_channel.setdefault(id(lease.channel), (lease.channel, []))[1].append(frame)
        for channel, frames in by_channel.values():
            try:
                if can_write(channel):
                    await send_frames(channel, frames)
                    continue
                for frame in frames:
                    if how == "ack":
                        await channel.basic_ack(frame.delivery_tag)
                    else:
                        await channel.basic_nack(frame.delivery_tag, requeue=True)
            except (lib.exceptions.ChannelInvalidStateError, lib.exceptions.AMQPError):
                # The channel closed meanwhile: the server gives the message back itself.
                continue

    async def _ack(self, handles: Sequence[Any]) -> None:
        await self._settle(handles, "ack")

    async def _release(self, handles: Sequence[Any]) -> None:
        # Sent again and acked rather than nacked: a confirmed publish is applied by the
        # queue when its confirm arrives (a quorum queue applies a nack later, unseen by
        # a count made right after), and a hand-back is not a failed delivery, so it must
        # not count toward the delivery limit.
        live = [lease for lease in handles if lease.live]
        if not live:
            return
        messages = [
            Message(lease.body, lease.priority, 0.0, lease.message_id, _carried(lease))
            for lease in live
        ]
        await self._publish(messages)
        await self._settle(live, "ack")

    async def _requeue(self, handle: Any, message: Message) -> None:
        lease: _Lease = handle
        if not lease.live:
            return  # the lease was lost: whoever holds the message now settles it
        # The base class sets message.failed: a deferral carries the count of deliveries
        # that ended without a result, a retry starts again (see brokers/base.py).
        await self._publish([message])
        await self._settle([lease], "ack")

    async def _dead_letter(self, handle: Any, letter: DeadLetter) -> None:
        lease: _Lease = handle
        if not lease.live:
            return
        headers: dict[str, Any] = {
            H_LETTER: letter.id,
            H_REASON: letter.reason,
            H_ERROR_TYPE: letter.error_type,
            H_FAILED_AT: round(letter.failed_at * 1000),
            H_ATTEMPTS: letter.attempts,
        }
        if letter.task_id is not None:
            headers[H_TASK_ID] = letter.task_id
        if letter.skill is not None:
            headers[H_SKILL] = letter.skill
        props = self._properties(priority=0, message_id=letter.id, headers=headers)
        await self._send([(self.dead_exchange, "", letter.body, props)])
        await self._settle([lease], "ack")

    async def _extend(self, handles: Sequence[Any], seconds: float) -> None:
        until = time.time() + seconds
        for lease in handles:
            if lease in self._leased:
                lease.expires_at = until

    async def _sweep_loop(self) -> None:
        period = max(0.01, self.visibility_timeout / 4)
        while True:
            await asyncio.sleep(period)
            now = time.time()
            expired = [lease for lease in self._leased if lease.expires_at <= now]
            if expired:
                try:
                    await self._settle(expired, "requeue")
                except Exception:
                    log.exception("RabbitMQ broker: handing back expired leases failed")

    # -- inspection ----------------------------------------------------------------------

    async def _count(self, names: Sequence[str]) -> int:
        """Ready messages in the named queues (missing queues count 0)."""
        lib = _aiormq()
        total = 0
        channel = await self._raw_channel()
        try:
            for name in names:
                try:
                    ok = await channel.queue_declare(name, passive=True)
                except lib.exceptions.ChannelNotFoundEntity:
                    channel = await self._raw_channel()  # a 404 closed the channel
                    continue
                total += int(ok.message_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        return total

    async def _depth(self) -> int:
        # Holding queues are counted when this process has used them (asking the server
        # about a queue that does not exist costs a channel and an error in its log).
        rungs = sorted(self._declared_rungs)
        waiting = await self._count([self.delay_queue(r) for r in rungs])
        return waiting + await self._ready_here()

    async def _ready_here(self) -> int:
        """Ready messages of the task queue plus those prefetched here but not fetched.

        A message given back (nack) while this consumer has room travels straight back
        to it. Asked on the consuming channel, twice: the server answers the first
        question after applying everything sent before it on that channel, and writes
        any delivery that caused before answering the second, so a message is counted
        either in the queue or in the buffer, never in transit.
        """
        lib = _aiormq()
        if self._consuming() and self._consumer is not None:
            channel = self._consumer[0]
            with contextlib.suppress(
                lib.exceptions.AMQPError, lib.exceptions.ChannelInvalidStateError
            ):
                await channel.queue_declare(self.queue, passive=True)
                ok = await channel.queue_declare(self.queue, passive=True)
                await asyncio.sleep(0)  # let deliveries read before the answer reach the buffer
                buffered = sum(1 for item in self._buffer if item.lease.live)
                return int(ok.message_count or 0) + buffered
        return await self._count([self.queue]) + sum(1 for item in self._buffer if item.lease.live)

    async def _purge(self) -> int:
        lib = _aiormq()
        purged = 0
        channel = await self._raw_channel()
        try:
            for name in [self.queue, *(self.delay_queue(r) for r in sorted(self._declared_rungs))]:
                try:
                    ok = await channel.queue_purge(name)
                except lib.exceptions.ChannelNotFoundEntity:
                    channel = await self._raw_channel()
                    continue
                purged += int(ok.message_count or 0)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        buffered = [item.lease for item in self._buffer if item.lease.live]
        self._buffer.clear()
        await self._settle(buffered, "ack")  # prefetched but not handed out: drop them too
        return purged + len(buffered)

    async def _browse(
        self, pick: Callable[[DeadLetter], bool] | None, *, limit: int | None = None
    ) -> tuple[list[DeadLetter], list[DeadLetter]]:
        """Read the dead-letter queue in order without consuming it.

        Returns (seen, taken): messages for which ``pick`` says True are acked (removed);
        the others return to the queue, in order, when the browsing channel closes.
        """
        lib = _aiormq()
        seen: list[DeadLetter] = []
        taken: list[DeadLetter] = []
        channel = await self._raw_channel()
        last_tag = 0
        try:
            while limit is None or len(seen) < limit:
                message = await channel.basic_get(self.dead_queue, no_ack=False)
                if isinstance(message.delivery, lib.spec.Basic.GetEmpty):
                    break
                letter = _letter_of(message)
                seen.append(letter)
                tag = int(getattr(message.delivery, "delivery_tag", 0))
                if pick is not None and pick(letter):
                    await channel.basic_ack(tag)
                    taken.append(letter)
                else:
                    last_tag = tag
            if last_tag:
                # Give back the rest, in order (acked tags are not in a "multiple"), and
                # wait until the queue has them: a request on the same channel is answered
                # after the nack is applied, so a count made right after sees them.
                await channel.basic_nack(last_tag, multiple=True, requeue=True)
                await self._await_count(channel, self.dead_queue, len(seen) - len(taken))
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        return seen, taken

    async def _await_count(self, channel: aiormq.Channel, queue: str, at_least: int) -> None:
        """Wait (at most a second) until ``queue`` shows ``at_least`` ready messages.

        A quorum queue applies a nack through its Raft log: a count asked right after the
        nack may not see the returned messages yet. Only browsing returns messages to
        the dead queue, so waiting here makes a count right after a browse exact.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while True:
            ok = await channel.queue_declare(queue, passive=True)
            if int(ok.message_count or 0) >= at_least or loop.time() >= deadline:
                return
            await asyncio.sleep(0.005)

    async def _dead_list(self, limit: int, offset: int) -> list[DeadLetter]:
        seen, _ = await self._browse(None, limit=offset + limit)
        return seen[offset:]

    async def _dead_count(self) -> int:
        return await self._count([self.dead_queue])

    async def _dead_get(self, letter_id: str) -> DeadLetter | None:
        seen, _ = await self._browse(None)
        return next((d for d in seen if letter_id in (d.id, d.task_id)), None)

    async def _dead_take(
        self, ids: Sequence[str] | None, *, replayable_only: bool
    ) -> list[DeadLetter]:
        wanted = None if ids is None else set(ids)

        def pick(letter: DeadLetter) -> bool:
            chosen = wanted is None or letter.id in wanted or letter.task_id in wanted
            return chosen and (not replayable_only or is_replayable(letter.body))

        _, taken = await self._browse(pick)
        return taken

    async def _dead_purge(self, ids: Sequence[str] | None) -> int:
        if ids is None:
            channel = await self._raw_channel()
            try:
                ok = await channel.queue_purge(self.dead_queue)
            finally:
                with contextlib.suppress(Exception):
                    await channel.close()
            return int(ok.message_count or 0)
        return len(await self._dead_take(ids, replayable_only=False))


def _carried(lease: _Lease) -> int:
    """Deliveries of a task that ended without a result, to carry over to the message
    that replaces this one: all before this delivery (which ends cleanly: it is being
    deferred, handed back or sent round)."""
    return lease.count - 1


def _letter_of(message: aiormq.abc.DeliveredMessage) -> DeadLetter:
    """A dead letter from a message of the dead queue: dead-lettered by us (with our
    headers) or by the server itself (delivery limit, rejection: ``x-death``)."""
    props = message.header.properties
    headers: dict[str, Any] = dict(props.headers or {})
    body = message.body
    if H_LETTER in headers:
        return DeadLetter(
            id=_text(headers[H_LETTER]),
            body=body,
            reason=_text(headers.get(H_REASON, "")),
            error_type=_text(headers.get(H_ERROR_TYPE, "")),
            failed_at=int(headers.get(H_FAILED_AT) or 0) / 1000,
            task_id=_text(headers[H_TASK_ID]) if H_TASK_ID in headers else None,
            skill=_text(headers[H_SKILL]) if H_SKILL in headers else None,
            attempts=int(headers.get(H_ATTEMPTS) or 0),
        )
    deaths = headers.get("x-death") or [{}]
    death = deaths[0] if isinstance(deaths, list) and deaths else {}
    why = _text(death.get("reason", "unknown"))
    when = death.get("time")
    failed_at = when.timestamp() if isinstance(when, datetime) else time.time()
    try:
        task = decode_task(body)
    except MalformedTaskError:
        task = None
    if why == "delivery_limit":
        reason = (
            "delivered more often than the queue's x-delivery-limit without being "
            "settled (dead-lettered by RabbitMQ); it may crash the worker running it"
        )
        error_type = "DeliveryLimitExceeded"
    else:
        reason = f"dead-lettered by RabbitMQ ({why} in queue {_text(death.get('queue', '?'))})"
        error_type = "DeadLettered"
    digest = hashlib.sha256(body + repr(when).encode()).hexdigest()[:32]
    return DeadLetter(
        id=digest,
        body=body,
        reason=reason,
        error_type=error_type,
        failed_at=failed_at,
        task_id=None if task is None else task.id,
        skill=None if task is None else task.skill,
        attempts=0 if task is None else task.attempt,
    )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _aiormq() -> Any:
    import aiormq

    return aiormq


def _server_version(conn: Any) -> tuple[int, ...]:
    try:
        raw = conn.transport.connection.server_properties.get("version", "")
        return tuple(int(p) for p in _text(raw).split(".")[:3])
    except (AttributeError, ValueError):
        return ()
