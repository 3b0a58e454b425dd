"""``anthropic:<model>``: Claude through the official ``anthropic`` SDK (Messages API).

The SDK is imported when a model is built, never when this module is, so ``import
skilld`` works without it. Tools, streaming with tool-input deltas, usage, effort and the
``[1m]`` context-window suffix are supported.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from skilld.agent.models._shared import (
    STREAM_ERROR_STATUS,
    import_sdk,
    parse_tool_input,
    retry_after_seconds,
)
from skilld.agent.models.base import (
    ContentBlock,
    Message,
    Model,
    ModelRequest,
    ModelResponse,
    ResponseDone,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
    split_context_suffix,
)
from skilld.exceptions import ConfigurationError, ModelAPIError, ModelError

__all__ = ["DEFAULT_ALIASES", "AnthropicModel"]

DEFAULT_ALIASES: Mapping[str, str] = {
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-5-5",
}
"""Claude Code's model aliases (a skill's ``model: sonnet``) → API model ids."""

CONTEXT_1M_BETA = "context-1m-2025-08-07"
"""The beta header that turns on the 1M-token context window a ``[1m]`` suffix asks for."""

OPTIONS = frozenset(
    {
        "aliases",
        "api_key",
        "base_url",
        "client",
        "default_headers",
        "max_retries",
        "send_effort",
        "timeout",
    }
)


class AnthropicModel(Model):
    """Claude via ``anthropic.AsyncAnthropic``.

    Args:
        model: the API model id (or an alias from ``aliases``).
        api_key: defaults to ``ANTHROPIC_API_KEY`` (or ``ANTHROPIC_AUTH_TOKEN``); required
            unless a base URL is set, for proxies that need none.
        base_url: defaults to ``ANTHROPIC_BASE_URL``, else Anthropic's API.
        max_retries: the SDK's own retries (429/5xx/connection, with backoff); 0 leaves
            retrying to the caller (the engine's retry policy and circuit breaker).
        timeout: seconds for one request.
        default_headers: extra headers on every request.
        client: a ready ``AsyncAnthropic`` to use instead of building one (it is not
            closed by :meth:`aclose`).
        aliases: model aliases; default :data:`DEFAULT_ALIASES`.
        send_effort: pass ``effort`` as ``output_config.effort`` (turn off for models that
            reject it).
    """

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float = 600.0,
        default_headers: Mapping[str, str] | None = None,
        client: Any = None,
        aliases: Mapping[str, str] | None = None,
        send_effort: bool = True,
    ) -> None:
        if not model:
            raise ConfigurationError(
                "anthropic model: say which model, e.g. anthropic:claude-sonnet-5-5"
            )
        self._sdk = import_sdk("anthropic", "anthropic", "The anthropic: model backend")
        self.model = model
        self.name = f"anthropic:{model}"
        self.aliases = dict(DEFAULT_ALIASES if aliases is None else aliases)
        self.send_effort = send_effort
        self._owns_client = client is None
        if client is None:
            client = self._build_client(api_key, base_url, max_retries, timeout, default_headers)
        self._client = client

    def _build_client(
        self,
        api_key: str | None,
        base_url: str | None,
        max_retries: int,
        timeout: float,
        default_headers: Mapping[str, str] | None,
    ) -> Any:
        base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        has_env_key = bool(
            os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        )
        if api_key is None and not has_env_key:
            if base_url is None:
                raise ConfigurationError(
                    f"{self.name} needs an API key: set ANTHROPIC_API_KEY "
                    "(or pass api_key=..., or set ANTHROPIC_BASE_URL for a server that needs none)"
                )
            # A local or proxy server that ignores keys; the SDK insists on one.
            api_key = "not-needed"
        return self._sdk.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
            default_headers=dict(default_headers) if default_headers else None,
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()

    # -- requests ---------------------------------------------------------------------

    def _model_for(self, request: ModelRequest) -> tuple[str, str]:
        name = request.model or self.model
        name = name.removeprefix("anthropic:")
        if name == "inherit":
            name = self.model
        name, suffix = split_context_suffix(name)
        return self.aliases.get(name, name), suffix

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        model, suffix = self._model_for(request)
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": [_message_param(message) for message in request.messages],
        }
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": dict(tool.input_schema),
                }
                for tool in request.tools
            ]
        if self.send_effort and isinstance(request.effort, str):
            params["output_config"] = {"effort": request.effort}
        if suffix == "[1m]":
            params["extra_headers"] = {"anthropic-beta": CONTEXT_1M_BETA}
        return params

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            message = await self._client.messages.create(**self._params(request))
        except self._sdk.AnthropicError as error:
            raise self._error(error) from error
        content: list[ContentBlock] = []
        for block in message.content:
            if block.type == "text":
                content.append(TextBlock(block.text))
            elif block.type == "tool_use":
                content.append(ToolUseBlock(block.id, block.name, dict(block.input or {})))
        return ModelResponse(
            content=tuple(content),
            stop_reason=message.stop_reason or "end_turn",
            usage=_usage(message.usage),
            model=message.model,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            sdk_stream = await self._client.messages.create(**self._params(request), stream=True)
        except self._sdk.AnthropicError as error:
            raise self._error(error) from error
        state = _StreamState()
        try:
            async for event in sdk_stream:
                for item in state.feed(event):
                    yield item
        except self._sdk.AnthropicError as error:
            raise self._error(error) from error
        finally:
            # Also on cancellation and early exit: closing the response drops the HTTP
            # connection, which is what stops the provider generating (and billing).
            await sdk_stream.close()
        yield ResponseDone(state.response())

    # -- errors -----------------------------------------------------------------------

    def _error(self, error: Exception) -> ModelError:
        sdk = self._sdk
        if isinstance(error, sdk.APIStatusError):
            status: int = error.status_code
            kind = getattr(error, "type", None) or _error_type(error.body)
            retry_after = retry_after_seconds(error.response.headers)
            if status < 400:
                # An `event: error` inside a 200 stream: give it the status it has alone.
                status = STREAM_ERROR_STATUS.get(str(kind), 500)
                retry_after = None
            detail = getattr(error, "api_message", None) or error.message
            return ModelAPIError(
                f"{self.name}: Anthropic API error {status} ({kind}): {detail}",
                status=status,
                retry_after=retry_after,
            )
        if isinstance(error, sdk.APITimeoutError):
            return ModelAPIError(f"{self.name}: request timed out", status=None)
        if isinstance(error, sdk.APIConnectionError):
            return ModelAPIError(f"{self.name}: connection error: {error}", status=None)
        return ModelError(f"{self.name}: {error}")


class _StreamState:
    """Assembles raw Messages-API stream events into deltas and a final response."""

    def __init__(self) -> None:
        self.model = ""
        self.stop_reason: str | None = None
        self.usage = Usage()
        self.blocks: dict[int, ContentBlock] = {}
        self.texts: dict[int, list[str]] = {}
        self.tools: dict[int, tuple[str, str, list[str]]] = {}
        self.finished = False

    def feed(self, event: Any) -> list[StreamEvent]:
        kind = event.type
        if kind == "message_start":
            self.model = event.message.model
            self.usage = _usage(event.message.usage)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "text":
                self.texts[event.index] = [block.text] if block.text else []
                return [TextDelta(block.text)] if block.text else []
            if block.type == "tool_use":
                self.tools[event.index] = (block.id, block.name, [])
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta" and event.index in self.texts:
                self.texts[event.index].append(delta.text)
                return [TextDelta(delta.text)]
            if delta.type == "input_json_delta" and event.index in self.tools:
                self.tools[event.index][2].append(delta.partial_json)
        elif kind == "content_block_stop":
            if event.index in self.texts:
                self.blocks[event.index] = TextBlock("".join(self.texts.pop(event.index)))
            elif event.index in self.tools:
                tool_id, name, parts = self.tools.pop(event.index)
                block = ToolUseBlock(tool_id, name, parse_tool_input(name, "".join(parts)))
                self.blocks[event.index] = block
                return [ToolUseEvent(block)]
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            usage = event.usage
            self.usage = Usage(
                input_tokens=getattr(usage, "input_tokens", None) or self.usage.input_tokens,
                output_tokens=usage.output_tokens or self.usage.output_tokens,
                cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", None)
                or self.usage.cache_read_input_tokens,
                cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", None)
                or self.usage.cache_creation_input_tokens,
            )
        elif kind == "message_stop":
            self.finished = True
        return []

    def response(self) -> ModelResponse:
        if not self.finished:
            raise ModelAPIError("the stream ended before message_stop", status=None)
        return ModelResponse(
            content=tuple(self.blocks[index] for index in sorted(self.blocks)),
            stop_reason=self.stop_reason or "end_turn",
            usage=self.usage,
            model=self.model,
        )


def _message_param(message: Message) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    return {"role": message.role, "content": [_block_param(block) for block in message.content]}


def _block_param(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}
    param: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "content": block.content,
    }
    if block.is_error:
        param["is_error"] = True
    return param


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", None) or 0,
        cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", None) or 0,
    )


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return str(error["type"])
    return None
