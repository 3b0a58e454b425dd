"""A fake of the OpenAI Chat Completions API (``POST /v1/chat/completions``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from tests.agent.fakes.server import FakeServer, Reply, split, sse

__all__ = ["FakeOpenAI"]


class FakeOpenAI(FakeServer):
    """Speaks the Chat Completions wire format; point ``AsyncOpenAI(base_url=server.v1)``."""

    path = "/v1/chat/completions"

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def _finish_reason(self, reply: Reply) -> str:
        return reply.stop_reason or ("tool_calls" if reply.tool_calls else "stop")

    def _usage(self, reply: Reply) -> dict[str, int]:
        prompt, completion = reply.usage
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def json_body(self, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": tool_id,
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(tool_input)},
                }
                for tool_id, name, tool_input in reply.tool_calls
            ]
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": request.get("model", ""),
            "choices": [
                {"index": 0, "message": message, "finish_reason": self._finish_reason(reply)}
            ],
            "usage": self._usage(reply),
        }

    def error_body(self, reply: Reply) -> dict[str, Any]:
        return {
            "error": {
                "message": reply.error_message,
                "type": reply.error_type,
                "param": None,
                "code": None,
            }
        }

    def sse_events(self, reply: Reply, request: dict[str, Any]) -> Iterator[bytes]:
        chunk_id = f"chatcmpl-fake-{next(self._ids)}"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": request.get("model", ""),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )

        yield chunk({"role": "assistant", "content": ""})
        for piece in split(reply.text) if reply.text else ():
            yield chunk({"content": piece})
            if reply.stream_error:
                yield sse({"error": {"message": reply.error_message, "type": reply.stream_error}})
                return
        for index, (tool_id, name, tool_input) in enumerate(reply.tool_calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": tool_id,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                }
            )
            for piece in split(json.dumps(tool_input)):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, self._finish_reason(reply))
        if (request.get("stream_options") or {}).get("include_usage"):
            yield sse(
                {
                    "id": chunk_id,
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": request.get("model", ""),
                    "choices": [],
                    "usage": self._usage(reply),
                }
            )
        yield sse("[DONE]")
