"""Server-Sent Events: the ``text/event-stream`` framing and a task's event streams.

A stream replays a task's stored events and then follows new ones until ``finished``,
with keepalive comments while idle. Each event carries the store's offset as its ``id``,
so a client that reconnects with ``Last-Event-ID: <n>`` resumes right after event ``n``
and misses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from skilld.engine.stores.base import Store
from skilld.engine.task import TaskEvent, encode

__all__ = ["EVENT_STREAM", "encode_comment", "encode_event", "follow_events", "replay_events"]

EVENT_STREAM = "text/event-stream"


def encode_event(*, event_id: int | str | None, event: str, data: str) -> bytes:
    """One SSE frame; multi-line ``data`` is split into several ``data:`` lines."""
    lines: list[str] = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {_one_line(event)}")
    lines.extend(f"data: {part}" for part in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


def encode_comment(text: str = "keepalive") -> bytes:
    """A comment frame: ignored by clients, keeps idle proxies from closing the stream."""
    return f": {_one_line(text)}\n\n".encode()


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _frame(event: TaskEvent) -> bytes:
    return encode_event(event_id=event.offset, event=event.type, data=encode(event).decode())


async def replay_events(store: Store, task_id: str, after: int) -> AsyncIterator[bytes]:
    """Frames for the events after ``after`` of a task that is over, then the end."""
    yield b"retry: 1000\n\n"
    while batch := await store.events(task_id, after=after):
        for event in batch:
            yield _frame(event)
        after = batch[-1].offset


async def follow_events(
    store: Store, task_id: str, after: int, keepalive_s: float, stopping: asyncio.Event
) -> AsyncIterator[bytes]:
    """Frames for the task's events; comments while idle; ends after ``finished`` or when
    the server shuts down (the client then resumes elsewhere with Last-Event-ID)."""
    queue: asyncio.Queue[TaskEvent | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in store.watch_events(task_id, after=after):
                await queue.put(event)
        finally:
            queue.put_nowait(None)

    def on_stop() -> None:
        queue.put_nowait(None)

    # A separate task follows the store, so this generator can wake up for keepalives
    # without cancelling the store's iterator half-way.
    pumping = asyncio.create_task(pump(), name=f"sse:{task_id}")
    watcher = asyncio.create_task(stopping.wait())
    watcher.add_done_callback(lambda _: on_stop())
    try:
        yield b"retry: 1000\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), keepalive_s)
            except TimeoutError:
                yield encode_comment()
                continue
            if event is None:
                if pumping.done() and not pumping.cancelled() and pumping.exception():
                    raise pumping.exception()  # type: ignore[misc]
                return
            yield _frame(event)
    finally:
        pumping.cancel()
        watcher.cancel()
        await asyncio.gather(pumping, watcher, return_exceptions=True)
