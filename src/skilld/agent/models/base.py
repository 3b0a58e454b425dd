"""The one model interface every backend implements.

A :class:`ModelRequest` (messages, system prompt, tools) goes in; a :class:`ModelResponse`
(content blocks, stop reason, usage) comes out, whole from :meth:`Model.complete` or as
:data:`StreamEvent` items from :meth:`Model.stream`. The vocabulary is the Anthropic
Messages API's (``tool_use`` blocks, ``end_turn`` / ``tool_use`` / ``max_tokens`` stop
reasons) because it already holds everything the agent loop needs; each backend
translates to and from its provider's wire format.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

__all__ = [
    "CONTEXT_SUFFIXES",
    "ContentBlock",
    "Message",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "ResponseDone",
    "StopReason",
    "StreamEvent",
    "TextBlock",
    "TextDelta",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "ToolUseEvent",
    "Usage",
    "estimate_tokens",
    "split_context_suffix",
]

StopReason = str
"""``end_turn``, ``tool_use``, ``max_tokens``, ``stop_sequence``, ``refusal`` or a
provider's own word when it has no equivalent (kept rather than guessed)."""

CONTEXT_SUFFIXES = ("[1m]",)
"""Suffixes of a model name that ask for a larger context window (Claude Code's ``[1m]``)."""


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Plain text from the user or the model."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """The model asks for a tool to be called with ``input``; ``id`` pairs it with its result."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResultBlock:
    """What a tool returned (in a user message), answering the tool use ``tool_use_id``."""

    tool_use_id: str
    content: str
    is_error: bool = False


ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of the conversation; ``content`` is plain text or a tuple of blocks."""

    role: Literal["user", "assistant"]
    content: str | tuple[ContentBlock, ...]

    @classmethod
    def user(cls, content: str | Sequence[ContentBlock]) -> Message:
        return cls("user", content if isinstance(content, str) else tuple(content))

    @classmethod
    def assistant(cls, content: str | Sequence[ContentBlock]) -> Message:
        return cls("assistant", content if isinstance(content, str) else tuple(content))

    @property
    def blocks(self) -> tuple[ContentBlock, ...]:
        """The content as blocks (a plain string is one :class:`TextBlock`)."""
        if isinstance(self.content, str):
            return (TextBlock(self.content),) if self.content else ()
        return self.content

    @property
    def text(self) -> str:
        """The text blocks joined, tool uses and results left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: its name, what it does and a JSON Schema of its input.

    The schema is treated as immutable once given to a spec (tools keep theirs as
    constants): :attr:`schema_json` encodes it once and reuses the text.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    _schema_json: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def schema_json(self) -> str:
        """``input_schema`` as JSON text, encoded on first use (token estimates read it)."""
        text = self._schema_json
        if text is None:
            text = _schema_json(self.input_schema)
            object.__setattr__(self, "_schema_json", text)
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    """Everything one model call needs.

    Attributes:
        messages: the conversation so far, oldest first, ending with a user turn.
        system: the system prompt.
        tools: the tools the model may call in this turn.
        max_tokens: the cap on generated tokens.
        effort: a reasoning effort level (``low``, ``medium``, ``high``, ``max``…), passed
            to providers that take one; an integer (a thinking budget) is accepted and
            ignored by backends that have no such knob.
        model: overrides the backend's model for this request (a skill's ``model:``);
            a context-window suffix such as ``[1m]`` is understood by the backend.
    """

    messages: Sequence[Message]
    system: str | None = None
    tools: Sequence[ToolSpec] = ()
    max_tokens: int = 4096
    effort: str | int | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens consumed by one call; ``+`` sums calls (a loop's running total)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
        )


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One assistant turn: its content blocks, why it stopped, what it cost."""

    content: tuple[ContentBlock, ...]
    stop_reason: StopReason
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    @property
    def text(self) -> str:
        """The text blocks joined."""
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def tool_calls(self) -> tuple[ToolUseBlock, ...]:
        """The tool uses, in the order the model asked for them."""
        return tuple(block for block in self.content if isinstance(block, ToolUseBlock))

    def to_message(self) -> Message:
        """This response as the assistant turn to append to the conversation."""
        return Message("assistant", self.content)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of text as it arrives."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolUseEvent:
    """A complete tool use (its input parsed), as soon as the model finished writing it."""

    block: ToolUseBlock


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """The last event of every stream: the whole response."""

    response: ModelResponse


StreamEvent = TextDelta | ToolUseEvent | ResponseDone


class Model(ABC):
    """A language model behind one small interface.

    Subclasses implement :meth:`complete`; :meth:`stream` has a default built on it, which
    backends with real streaming replace. A model is safe to share between concurrent
    tasks. ``name`` is the URI it was resolved from (``anthropic:claude-sonnet-5-5``).

    Errors: a provider's error status raises :class:`~skilld.exceptions.ModelAPIError`
    (``status``, ``retry_after``); anything else a backend cannot make sense of raises
    :class:`~skilld.exceptions.ModelError`.
    """

    name: str = "model"

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Run one model turn and return the whole response."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Run one model turn, yielding text as it arrives and tool uses as they complete.

        The last event is always :class:`ResponseDone`. Cancelling the consuming task
        stops the stream at once (the HTTP response is closed); a consumer that stops
        iterating early should close the iterator (``contextlib.aclosing``) for the same
        effect.
        """
        response = await self.complete(request)
        for block in response.content:
            if isinstance(block, TextBlock):
                if block.text:
                    yield TextDelta(block.text)
            elif isinstance(block, ToolUseBlock):
                yield ToolUseEvent(block)
        yield ResponseDone(response)

    async def aclose(self) -> None:
        """Release connections the model holds (a no-op for models that hold none)."""
        return

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def split_context_suffix(model: str) -> tuple[str, str]:
    """``"claude-opus-4-1[1m]"`` → ``("claude-opus-4-1", "[1m]")``; no suffix → ``""``.

    The suffix comes back in its canonical (lower-case) spelling, whatever the input's."""
    for suffix in CONTEXT_SUFFIXES:
        if model.lower().endswith(suffix):
            return model[: -len(suffix)], suffix
    return model, ""


_SCHEMA_JSON_CACHE: dict[int, tuple[Mapping[str, Any], str]] = {}
_SCHEMA_JSON_CACHE_SIZE = 256


def _schema_json(schema: Mapping[str, Any]) -> str:
    """JSON text of a tool schema, shared by every spec built from the same schema object.

    The agent loop builds fresh :class:`ToolSpec` objects each turn from the tools'
    constant schemas, so a cache on the spec alone would miss every time. The key is the
    schema's identity; the entry holds the schema itself, so the id cannot be reused by
    another object while cached. Bounded: schemas built per call only cost the encoding.
    """
    entry = _SCHEMA_JSON_CACHE.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    text = json.dumps(schema)
    if len(_SCHEMA_JSON_CACHE) >= _SCHEMA_JSON_CACHE_SIZE:
        _SCHEMA_JSON_CACHE.clear()
    _SCHEMA_JSON_CACHE[id(schema)] = (schema, text)
    return text


def estimate_tokens(text: str) -> int:
    """A provider-free token estimate: about four characters a token, at least one."""
    return max(1, (len(text) + 3) // 4) if text else 0


def request_text(request: ModelRequest) -> str:
    """Everything a request sends as text (system, messages, tool specs), for estimates."""
    parts: list[str] = [request.system or ""]
    for message in request.messages:
        if isinstance(message.content, str):
            parts.append(message.content)
            continue
        for block in message.content:
            if isinstance(block, TextBlock):
                parts.append(block.text)
            elif isinstance(block, ToolUseBlock):
                parts.append(block.name)
                parts.append(json.dumps(block.input))
            else:
                parts.append(block.content)
    for tool in request.tools:
        parts.append(tool.name)
        parts.append(tool.description)
        parts.append(tool.schema_json)
    return "\n".join(parts)
