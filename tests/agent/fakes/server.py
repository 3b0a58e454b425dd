"""A scripted HTTP server on 127.0.0.1 (uvicorn in a background thread, a raw ASGI app).

Subclasses turn a :class:`Reply` into one provider's wire format; the base receives the
request, records it, waits if told to, and sends JSON, an error status or an SSE stream.
Real HTTP, so the real SDK clients (their httpx transport, SSE decoder and error
mapping) are what the tests exercise.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn

__all__ = ["FakeServer", "Recorded", "Reply"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    Attributes:
        text: the assistant's text.
        tool_calls: ``(id, name, input)`` for each tool call, in order.
        stop_reason: the provider's own word; default: tool use if there are calls.
        usage: (input tokens, output tokens).
        status: an HTTP error status (>= 400) to answer with instead.
        error_type / error_message: the error body's fields.
        headers: extra response headers (``retry-after``).
        delay: seconds to wait before answering (client timeouts).
        hang_after: in a stream, send this many events, then wait until the client
            goes away (records it in ``server.disconnected``).
        stream_error: in a stream, after the first events, send this error (Anthropic:
            an ``event: error`` of that type; OpenAI: an ``error`` object).
        end_after: in a stream, send this many events, then end the response normally
            (a connection cut short by a proxy).
    """

    text: str = ""
    tool_calls: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    stop_reason: str | None = None
    usage: tuple[int, int] = (11, 7)
    status: int = 200
    error_type: str = "api_error"
    error_message: str = "scripted error"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang_after: int | None = None
    stream_error: str | None = None
    end_after: int | None = None

    @classmethod
    def error(
        cls, status: int, error_type: str, message: str = "scripted error", **kw: Any
    ) -> Reply:
        return cls(status=status, error_type=error_type, error_message=message, **kw)


@dataclass(frozen=True)
class Recorded:
    """A request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]


class FakeServer:
    """Base of the fake provider servers: script replies, then point an SDK at ``base_url``."""

    path = "/"

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.disconnected = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- what subclasses provide ------------------------------------------------------

    def json_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def error_body(self, reply: Reply) -> dict[str, Any]:
        raise NotImplementedError

    def sse_events(self, reply: Reply, request: dict[str, Any]) -> Iterator[bytes]:
        raise NotImplementedError

    # -- scripting --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order (replacing any left)."""
        with self._lock:
            self._replies = deque(replies)
            self.requests.clear()
            self.disconnected.clear()

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return Reply.error(500, "api_error", "the fake server has no scripted reply left")

    # -- the ASGI app -----------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.requests.append(Recorded(scope["method"], scope["path"], headers, body))
        if scope["path"] != self.path:
            await self._send_json(
                send, 404, {"error": {"type": "not_found_error", "message": scope["path"]}}
            )
            return
        reply = self._next_reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status >= 400:
            await self._send_json(send, reply.status, self.error_body(reply), reply.headers)
            return
        if not body.get("stream"):
            await self._send_json(send, 200, self.json_body(reply, body), reply.headers)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": _headers({"content-type": "text/event-stream", **reply.headers}),
            }
        )
        for index, event in enumerate(self.sse_events(reply, body)):
            if reply.hang_after is not None and index == reply.hang_after:
                await self._wait_for_disconnect(receive)
                return
            if reply.end_after is not None and index == reply.end_after:
                break
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _wait_for_disconnect(self, receive: Any) -> None:
        # Nothing more is sent: the client must hang up for this to end (or 30 s pass,
        # which a test treats as failure).
        try:
            message = await asyncio.wait_for(receive(), timeout=30)
        except TimeoutError:
            return
        if message["type"] == "http.disconnect":
            self.disconnected.set()

    @staticmethod
    async def _send_json(
        send: Any, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _headers({"content-type": "application/json", **(headers or {})}),
            }
        )
        await send({"type": "http.response.body", "body": data})

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, lifespan="off", log_level="error", ws="none", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{type(self).__name__} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data)
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


def split(text: str, parts: int = 3) -> Iterable[str]:
    """``text`` in ``parts`` roughly equal non-empty pieces (deltas)."""
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]
