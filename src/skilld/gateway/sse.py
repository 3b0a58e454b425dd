"""Server-Sent Events framing (the ``text/event-stream`` wire format).

Each event carries the store's offset as its ``id``, so a client that reconnects with
``Last-Event-ID: <n>`` resumes right after event ``n`` and misses nothing.
"""

from __future__ import annotations

__all__ = ["EVENT_STREAM", "encode_comment", "encode_event"]

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
