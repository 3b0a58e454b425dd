"""Models for tests, ours and our users': no network, no keys, every request recorded.

:class:`ScriptedModel` answers from a list, in order; :class:`FunctionModel` asks a Python
function (or async generator, for streams). Both accept short forms for what to answer:

* a ``str``: a text response (``end_turn``);
* a :class:`ToolUseBlock`, or a sequence of them: a ``tool_use`` response;
* a :class:`ModelResponse`: itself;
* an exception instance: raised (``ModelAPIError(status=529)`` to test retries).

Usage is estimated from the text (about four characters a token) unless a full
:class:`ModelResponse` says otherwise, so token budgets can be tested too.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeAlias

from skilld.agent.models.base import (
    ContentBlock,
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
    estimate_tokens,
    request_text,
)
from skilld.exceptions import ModelError

__all__ = ["FunctionModel", "ScriptItem", "ScriptedModel", "as_response", "tool_call"]

ScriptItem: TypeAlias = str | ToolUseBlock | Sequence[ToolUseBlock] | ModelResponse | BaseException
"""What a test model may answer with (see the module docstring)."""

_ids = itertools.count(1)


def tool_call(
    name: str, input: dict[str, Any] | None = None, *, id: str | None = None
) -> ToolUseBlock:
    """A tool use for a script: ``tool_call("Bash", {"command": "ls"})``."""
    return ToolUseBlock(id or f"toolu_test_{next(_ids):06d}", name, input or {})


def as_response(item: ScriptItem, request: ModelRequest, *, model: str = "test") -> ModelResponse:
    """Turn a script item into the response to ``request`` (raising an exception item)."""
    if isinstance(item, BaseException):
        raise item
    if isinstance(item, ModelResponse):
        return item
    input_tokens = estimate_tokens(request_text(request))
    if isinstance(item, str):
        content: tuple[ContentBlock, ...] = (TextBlock(item),) if item else ()
        return ModelResponse(content, "end_turn", Usage(input_tokens, estimate_tokens(item)), model)
    items: tuple[object, ...] = (
        (item,)
        if isinstance(item, ToolUseBlock)
        else tuple(item)
        if isinstance(item, Sequence)
        else ()
    )
    calls = tuple(call for call in items if isinstance(call, ToolUseBlock))
    if not calls or len(calls) != len(items):
        raise TypeError(f"not a script item: {item!r}")
    output = sum(estimate_tokens(f"{call.name}{call.input}") for call in calls)
    return ModelResponse(calls, "tool_use", Usage(input_tokens, output), model)


class ScriptedModel(Model):
    """Answers each request with the next item of ``script``; records every request.

    Running out of script raises :class:`~skilld.exceptions.ModelError` naming how many
    calls were made, so a loop that calls the model more often than the test expects
    fails loudly. ``requests`` holds what the model received, oldest first.
    """

    def __init__(self, script: Iterable[ScriptItem], *, name: str = "test:scripted") -> None:
        self.script = list(script)
        self.name = name
        self.requests: list[ModelRequest] = []

    @property
    def remaining(self) -> int:
        """Script items not used yet."""
        return len(self.script) - len(self.requests)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        index = len(self.requests) - 1
        if index >= len(self.script):
            raise ModelError(
                f"{self.name}: the script has {len(self.script)} response(s) and this is call "
                f"{index + 1}; last user message: {_last_text(request)!r}"
            )
        return as_response(self.script[index], request, model=self.name)


FunctionResult: TypeAlias = ScriptItem | Awaitable[ScriptItem]
StreamItem: TypeAlias = str | ToolUseBlock | StreamEvent


class FunctionModel(Model):
    """A model whose answers come from Python code.

    Args:
        function: called with each request (and may be async); returns a script item.
        stream_function: an async generator called with each request for
            :meth:`stream`, yielding text (``str`` or :class:`TextDelta`), tool uses
            (:class:`ToolUseBlock` or :class:`ToolUseEvent`) and optionally a final
            :class:`ResponseDone`; without one the response is assembled from what was
            yielded. Used alone, it serves :meth:`complete` too. Handy for testing
            cancellation: yield a delta, then wait on an event that never fires.
        name: the model's name.
    """

    def __init__(
        self,
        function: Callable[[ModelRequest], FunctionResult] | None = None,
        *,
        stream_function: Callable[[ModelRequest], AsyncIterator[StreamItem]] | None = None,
        name: str = "test:function",
    ) -> None:
        if function is None and stream_function is None:
            raise TypeError("FunctionModel needs a function or a stream_function")
        self.function = function
        self.stream_function = stream_function
        self.name = name
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if self.function is None:
            final: ModelResponse | None = None
            async for event in self.stream(request):
                if isinstance(event, ResponseDone):
                    final = event.response
            assert final is not None  # stream() always ends with ResponseDone
            return final
        self.requests.append(request)
        result = self.function(request)
        if inspect.isawaitable(result):
            result = await result
        return as_response(result, request, model=self.name)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        if self.stream_function is None:
            async for event in super().stream(request):
                yield event
            return
        self.requests.append(request)
        texts: list[str] = []
        calls: list[ToolUseBlock] = []
        iterator = self.stream_function(request)
        try:
            async for item in iterator:
                if isinstance(item, str):
                    item = TextDelta(item)
                elif isinstance(item, ToolUseBlock):
                    item = ToolUseEvent(item)
                if isinstance(item, TextDelta):
                    texts.append(item.text)
                elif isinstance(item, ToolUseEvent):
                    calls.append(item.block)
                elif isinstance(item, ResponseDone):
                    yield item
                    return
                else:
                    raise TypeError(f"stream_function yielded {item!r}")
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        text = "".join(texts)
        content: tuple[ContentBlock, ...] = ((TextBlock(text),) if text else ()) + tuple(calls)
        usage = Usage(
            estimate_tokens(request_text(request)),
            estimate_tokens(text) + sum(estimate_tokens(f"{c.name}{c.input}") for c in calls),
        )
        stop_reason = "tool_use" if calls else "end_turn"
        yield ResponseDone(ModelResponse(content, stop_reason, usage, self.name))


def echo(request: ModelRequest) -> str:
    """Answer with the last user message's text (the ``test:echo`` model)."""
    return _last_text(request)


def _last_text(request: ModelRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.text:
            return message.text
    return ""
