"""Request-size limit: a pure ASGI middleware, so nothing reads an oversized body.

A declared ``Content-Length`` over the limit is refused before the app runs; a body sent
without one (chunked) is counted as it streams and cut off at the limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skilld.gateway.problems import Problem, problem_response

__all__ = ["BodySizeLimit", "BodyTooLarge"]


class BodyTooLarge(Problem):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than the limit of {limit} bytes.",
            kind="body-too-large",
        )


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with a 413 problem."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = problem_response(
                413,
                f"The request body ({declared} bytes) is larger than the limit of "
                f"{self.max_bytes} bytes.",
                kind="body-too-large",
                instance=scope.get("path"),
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
