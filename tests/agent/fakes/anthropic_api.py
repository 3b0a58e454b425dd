"""A fake of the Anthropic Messages API (``POST /v1/messages``): JSON and SSE, tool use."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from tests.agent.fakes.server import FakeServer, Reply, split, sse

__all__ = ["FakeAnthropic"]


class FakeAnthropic(FakeServer):
    """Speaks the Messages API wire format; point ``AsyncAnthropic(base_url=server.url)``."""

    path = "/v1/messages"

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    def _stop_reason(self, reply: Reply) -> str:
        return reply.stop_reason or ("tool_use" if reply.tool_calls else "end_turn")

    def json_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for tool_id, name, tool_input in reply.tool_calls:
            content.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
        return {
            "id": f"msg_fake_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", ""),
            "content": content,
            "stop_reason": self._stop_reason(reply),
            "stop_sequence": None,
            "usage": {"input_tokens": reply.usage[0], "output_tokens": reply.usage[1]},
        }

    def error_body(self, reply: Reply) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": reply.error_type, "message": reply.error_message},
        }

    def sse_events(self, reply: Reply, request: dict[str, Any]) -> Iterator[bytes]:
        start = self.json_body(reply, request) | {"content": [], "stop_reason": None}
        start["usage"] = {"input_tokens": reply.usage[0], "output_tokens": 1}
        yield sse({"type": "message_start", "message": start}, "message_start")
        yield sse({"type": "ping"}, "ping")
        index = 0
        if reply.text:
            yield sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
            for piece in split(reply.text):
                yield sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                    "content_block_delta",
                )
                if reply.stream_error:
                    yield self._stream_error(reply)
                    return
            yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        for tool_id, name, tool_input in reply.tool_calls:
            yield sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
                },
                "content_block_start",
            )
            for piece in split(json.dumps(tool_input)):
                yield sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                    "content_block_delta",
                )
            yield sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        if reply.stream_error:
            yield self._stream_error(reply)
            return
        yield sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop_reason(reply), "stop_sequence": None},
                "usage": {"output_tokens": reply.usage[1]},
            },
            "message_delta",
        )
        yield sse({"type": "message_stop"}, "message_stop")

    def _stream_error(self, reply: Reply) -> bytes:
        error = {"type": reply.stream_error, "message": reply.error_message}
        return sse({"type": "error", "error": error}, "error")
