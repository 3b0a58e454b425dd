"""``openai:<model>``: any Chat Completions endpoint through the official ``openai`` SDK.

OpenAI itself, or (with a base URL) vLLM, Ollama, llama.cpp's server, LM Studio, LiteLLM
and anything else that speaks ``/v1/chat/completions`` with tools. The SDK is imported
when a model is built, never when this module is.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from skilld.agent.models._shared import import_sdk, parse_tool_input, retry_after_seconds
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
    ToolResultBlock,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
    split_context_suffix,
)
from skilld.exceptions import ConfigurationError, ModelAPIError, ModelError

__all__ = ["BASE_URL_VARIABLES", "FINISH_REASONS", "OpenAIModel"]

BASE_URL_VARIABLES = ("SKILLD_OPENAI_BASE_URL", "OPENAI_BASE_URL")
"""Where the base URL comes from when no ``base_url`` option is given, first set wins."""

FINISH_REASONS: Mapping[str, str] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}
"""Chat Completions finish reasons in the interface's (Anthropic's) words."""

# Model names that only mean something to Claude (a skill written for Claude Code says
# `model: haiku`): on an OpenAI-compatible server they fall back to the configured model.
_CLAUDE_ALIASES = frozenset({"inherit", "opus", "sonnet", "haiku"})

OPTIONS = frozenset(
    {
        "api_key",
        "base_url",
        "client",
        "default_headers",
        "max_retries",
        "max_tokens_field",
        "organization",
        "send_effort",
        "stream_usage",
        "timeout",
    }
)


class OpenAIModel(Model):
    """A chat model via ``openai.AsyncOpenAI`` (Chat Completions with tools).

    Args:
        model: the model id the server knows (``gpt-4.1``, ``qwen2.5:7b``…).
        api_key: defaults to ``OPENAI_API_KEY``; required only for OpenAI's own API
            (local servers get a placeholder).
        base_url: defaults to ``SKILLD_OPENAI_BASE_URL``, then ``OPENAI_BASE_URL``, else
            OpenAI's API; e.g. ``http://localhost:11434/v1`` for Ollama,
            ``http://localhost:8000/v1`` for vLLM.
        max_retries: the SDK's own retries; 0 leaves retrying to the caller.
        timeout: seconds for one request.
        default_headers: extra headers on every request.
        organization: the OpenAI organization id.
        client: a ready ``AsyncOpenAI`` to use instead (not closed by :meth:`aclose`).
        max_tokens_field: ``max_completion_tokens`` (OpenAI's current name, the default
            for OpenAI's API) or ``max_tokens`` (what most compatible servers read, the
            default with a custom base URL).
        stream_usage: ask for usage in streams (``stream_options.include_usage``); turn
            off for servers that reject the option.
        send_effort: pass a string ``effort`` as ``reasoning_effort``.
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
        organization: str | None = None,
        client: Any = None,
        max_tokens_field: str | None = None,
        stream_usage: bool = True,
        send_effort: bool = True,
    ) -> None:
        if not model:
            raise ConfigurationError("openai model: say which model, e.g. openai:gpt-4.1")
        self._sdk = import_sdk("openai", "openai", "The openai: model backend")
        self.model = model
        self.name = f"openai:{model}"
        if base_url is None:
            base_url = next((os.environ[v] for v in BASE_URL_VARIABLES if os.environ.get(v)), None)
        if max_tokens_field is None:
            max_tokens_field = "max_completion_tokens" if base_url is None else "max_tokens"
        if max_tokens_field not in ("max_tokens", "max_completion_tokens"):
            raise ConfigurationError(
                f"{self.name}: max_tokens_field must be 'max_tokens' or "
                f"'max_completion_tokens', not {max_tokens_field!r}"
            )
        self.base_url = base_url
        self.max_tokens_field = max_tokens_field
        self.stream_usage = stream_usage
        self.send_effort = send_effort
        self._owns_client = client is None
        if client is None:
            if api_key is None and not os.environ.get("OPENAI_API_KEY"):
                if base_url is None:
                    raise ConfigurationError(
                        f"{self.name} needs an API key: set OPENAI_API_KEY (or pass "
                        "api_key=..., or set SKILLD_OPENAI_BASE_URL for a local server)"
                    )
                # vLLM, Ollama and llama.cpp ignore the key; the SDK insists on one.
                api_key = "not-needed"
            client = self._sdk.AsyncOpenAI(
                api_key=api_key,
                base_url=base_url,
                organization=organization,
                max_retries=max_retries,
                timeout=timeout,
                default_headers=dict(default_headers) if default_headers else None,
            )
        self._client = client

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()

    # -- requests ---------------------------------------------------------------------

    def _model_for(self, request: ModelRequest) -> str:
        name = (request.model or "").removeprefix("openai:")
        name = split_context_suffix(name)[0]
        if not name or name in _CLAUDE_ALIASES or name.startswith(("claude-", "anthropic:")):
            return self.model
        return name

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        for message in request.messages:
            messages.extend(_message_params(message))
        params: dict[str, Any] = {
            "model": self._model_for(request),
            "messages": messages,
            self.max_tokens_field: request.max_tokens,
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": dict(tool.input_schema),
                    },
                }
                for tool in request.tools
            ]
        if self.send_effort and isinstance(request.effort, str):
            params["reasoning_effort"] = request.effort
        return params

    async def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            completion = await self._client.chat.completions.create(**self._params(request))
        except self._sdk.OpenAIError as error:
            raise self._error(error) from error
        if not completion.choices:
            raise ModelError(f"{self.name}: the server answered with no choices")
        choice = completion.choices[0]
        content: list[ContentBlock] = []
        if choice.message.content:
            content.append(TextBlock(choice.message.content))
        for call in choice.message.tool_calls or ():
            function = call.function
            content.append(
                ToolUseBlock(
                    call.id, function.name, parse_tool_input(function.name, function.arguments)
                )
            )
        return ModelResponse(
            content=tuple(content),
            stop_reason=_stop_reason(choice.finish_reason, content),
            usage=_usage(completion.usage),
            model=completion.model or self.model,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        params = self._params(request)
        params["stream"] = True
        if self.stream_usage:
            params["stream_options"] = {"include_usage": True}
        try:
            sdk_stream = await self._client.chat.completions.create(**params)
        except self._sdk.OpenAIError as error:
            raise self._error(error) from error
        state = _StreamState(self.model)
        try:
            async for chunk in sdk_stream:
                for item in state.feed(chunk):
                    yield item
        except self._sdk.OpenAIError as error:
            raise self._error(error) from error
        finally:
            # Also on cancellation and early exit: closing the response drops the HTTP
            # connection, which is what stops the server generating.
            await sdk_stream.close()
        for item in state.finish():
            yield item

    # -- errors -----------------------------------------------------------------------

    def _error(self, error: Exception) -> ModelError:
        sdk = self._sdk
        if isinstance(error, sdk.APIStatusError):
            status: int = error.status_code
            detail = _error_message(error.body) or error.message
            return ModelAPIError(
                f"{self.name}: API error {status}: {detail}",
                status=status,
                retry_after=retry_after_seconds(error.response.headers),
            )
        if isinstance(error, sdk.APITimeoutError):
            return ModelAPIError(f"{self.name}: request timed out", status=None)
        if isinstance(error, sdk.APIConnectionError):
            return ModelAPIError(f"{self.name}: connection error: {error}", status=None)
        if isinstance(error, sdk.APIError):
            # An error object inside a stream: the server's problem, worth a retry.
            return ModelAPIError(f"{self.name}: error in stream: {error.message}", status=None)
        return ModelError(f"{self.name}: {error}")


class _StreamState:
    """Assembles chat-completion chunks into deltas and a final response."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.text: list[str] = []
        self.calls: dict[int, list[Any]] = {}  # index → [id, name, argument parts]
        self.done: dict[int, ToolUseBlock] = {}
        self.finish_reason: str | None = None
        self.usage = Usage()

    def feed(self, chunk: Any) -> list[StreamEvent]:
        if chunk.model:
            self.model = chunk.model
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        events: list[StreamEvent] = []
        for choice in chunk.choices[:1]:
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
                events.append(TextDelta(delta.content))
            for call in delta.tool_calls or ():
                if call.index not in self.calls:
                    # A new call begins, so the ones before it are complete.
                    events.extend(self._complete_calls_before(call.index))
                entry = self.calls.setdefault(call.index, ["", "", []])
                if call.id:
                    entry[0] = call.id
                if call.function is not None:
                    if call.function.name:
                        entry[1] += call.function.name
                    if call.function.arguments:
                        entry[2].append(call.function.arguments)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return events

    def _complete_calls_before(self, index: int) -> list[StreamEvent]:
        # Chat Completions has no "this call is complete" event: a call is complete when
        # the next one starts, or when the turn ends.
        events: list[StreamEvent] = []
        for earlier in sorted(i for i in self.calls if i < index and i not in self.done):
            call_id, name, parts = self.calls[earlier]
            block = ToolUseBlock(
                call_id or f"call_{earlier}", name, parse_tool_input(name, "".join(parts))
            )
            self.done[earlier] = block
            events.append(ToolUseEvent(block))
        return events

    def finish(self) -> list[StreamEvent]:
        if self.finish_reason is None:
            raise ModelAPIError("the stream ended without a finish reason", status=None)
        events = self._complete_calls_before(max(self.calls, default=-1) + 1)
        content: list[ContentBlock] = []
        if self.text:
            content.append(TextBlock("".join(self.text)))
        content.extend(self.done[index] for index in sorted(self.done))
        response = ModelResponse(
            content=tuple(content),
            stop_reason=_stop_reason(self.finish_reason, content),
            usage=self.usage,
            model=self.model,
        )
        events.append(ResponseDone(response))
        return events


def _message_params(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    texts = [block.text for block in message.content if isinstance(block, TextBlock)]
    if message.role == "assistant":
        calls = [
            {
                "id": block.id,
                "type": "function",
                "function": {"name": block.name, "arguments": json.dumps(dict(block.input))},
            }
            for block in message.content
            if isinstance(block, ToolUseBlock)
        ]
        param: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
        if calls:
            param["tool_calls"] = calls
        return [param]
    # Tool results are messages of their own and must follow the assistant's tool calls
    # directly, so they go before any text of the same user turn.
    params: list[dict[str, Any]] = [
        {
            "role": "tool",
            "tool_call_id": block.tool_use_id,
            # Chat Completions has no error flag; say it in the content instead.
            "content": f"Error: {block.content}" if block.is_error else block.content,
        }
        for block in message.content
        if isinstance(block, ToolResultBlock)
    ]
    if texts:
        params.append({"role": "user", "content": "\n".join(texts)})
    return params


def _stop_reason(finish_reason: str | None, content: list[ContentBlock]) -> str:
    if finish_reason is None:
        return "tool_use" if any(isinstance(b, ToolUseBlock) for b in content) else "end_turn"
    # Some servers (older Ollama, llama.cpp) say "stop" even when they called tools.
    if finish_reason == "stop" and any(isinstance(b, ToolUseBlock) for b in content):
        return "tool_use"
    return FINISH_REASONS.get(finish_reason, finish_reason)


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0 if details is not None else 0
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cache_read_input_tokens=cached,
    )


def _error_message(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return None
