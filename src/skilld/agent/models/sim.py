"""``sim:<latency>``: a deterministic simulated model for demos, pipelines and load tests.

It answers, after a seeded latency, with the text of the last user message it received
(so a pipeline's output can be checked), or with what ``reply`` says; it can call scripted
tools first, fail at a seeded rate, and reports token usage estimated from the text. One
call costs one ``sleep`` and a little arithmetic, so thousands run concurrently in one
process: it is the model of the load benchmarks.

Latency specs::

    sim:0                      no latency
    sim:200ms  sim:1.5s        fixed
    sim:50ms-300ms             uniform between the two
    sim:lognormal(200ms,0.5)   log-normal with that median and shape σ (long tail)
    sim:normal(200ms,20ms)     normal with that mean and deviation, cut at 0
    sim:exp(200ms)             exponential with that mean

Options may follow as a query: ``sim:200ms?seed=7&error_rate=0.05&error_status=529``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from skilld.agent.models.base import (
    ContentBlock,
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
    estimate_tokens,
    request_text,
)
from skilld.exceptions import ConfigurationError, ModelAPIError

__all__ = ["Latency", "SimModel", "SimToolCall", "parse_duration"]

Sleep = Callable[[float], Awaitable[Any]]
SimToolCall = Mapping[str, Any]
"""One scripted tool call: ``{"name": "Bash", "input": {"command": "ls"}}``."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|µs|m)?\s*$", re.IGNORECASE)
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_FUNCTION = re.compile(r"^\s*(lognormal|normal|exp)\s*\((.*)\)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """``"200ms"`` → ``0.2``; ``"1.5s"`` → ``1.5``; ``"0"`` → ``0.0``. A unit is required
    for anything but zero, so ``200`` is never silently read as 200 seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigurationError(f"not a duration: {text!r} (write e.g. 200ms or 1.5s)")
    value = float(match.group(1))
    unit = match.group(2)
    if unit is None:
        if value != 0:
            raise ConfigurationError(f"duration {text!r} needs a unit: {text}ms or {text}s?")
        return 0.0
    return value * _UNITS[unit.lower()]


@dataclass(frozen=True, slots=True)
class Latency:
    """A latency distribution, sampled with a caller's seeded ``random.Random``."""

    kind: Literal["fixed", "uniform", "lognormal", "normal", "exp"]
    a: float = 0.0
    b: float = 0.0
    spec: str = "0"

    @classmethod
    def parse(cls, spec: str | float) -> Latency:
        """Read a latency spec (see the module docstring); a number is seconds."""
        if isinstance(spec, int | float):
            if spec < 0:
                raise ConfigurationError(f"latency cannot be negative: {spec}")
            return cls("fixed", float(spec), spec=f"{spec}s")
        text = spec.strip() or "0"
        function = _FUNCTION.match(text)
        if function is not None:
            kind = function.group(1).lower()
            args = [arg.strip() for arg in function.group(2).split(",")]
            if kind == "exp":
                if len(args) != 1:
                    raise ConfigurationError(
                        f"latency {text!r}: exp takes one mean, e.g. exp(200ms)"
                    )
                return cls("exp", parse_duration(args[0]), spec=text)
            if len(args) != 2:
                raise ConfigurationError(f"latency {text!r}: {kind} takes two arguments")
            if kind == "lognormal":
                try:
                    sigma = float(args[1])
                except ValueError:
                    raise ConfigurationError(
                        f"latency {text!r}: σ is a plain number, e.g. lognormal(200ms,0.5)"
                    ) from None
                if sigma < 0:
                    raise ConfigurationError(f"latency {text!r}: σ cannot be negative")
                return cls("lognormal", parse_duration(args[0]), sigma, spec=text)
            return cls("normal", parse_duration(args[0]), parse_duration(args[1]), spec=text)
        low, dash, high = text.partition("-")
        if dash:
            a, b = parse_duration(low), parse_duration(high)
            if b < a:
                raise ConfigurationError(f"latency {text!r}: the range runs backwards")
            return cls("uniform", a, b, spec=text)
        return cls("fixed", parse_duration(text), spec=text)

    def sample(self, rng: random.Random) -> float:
        """One latency in seconds (never negative)."""
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "lognormal":
            return 0.0 if self.a == 0 else rng.lognormvariate(math.log(self.a), self.b)
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        return 0.0 if self.a == 0 else rng.expovariate(1 / self.a)

    def __str__(self) -> str:
        return self.spec


class SimModel(Model):
    """A simulated model: seeded latency, an echo (or given) reply, scripted tool calls.

    Args:
        latency: a spec such as ``"200ms"`` or ``"50ms-300ms"``, seconds, or a
            :class:`Latency`.
        seed: seeds the latency, failure and nothing else; the same seed and the same
            sequence of calls give the same latencies and failures.
        reply: the final answer; default: the text of the last user message received.
            A callable gets the request and returns the text.
        tool_calls: tool calls to make before answering, one item per turn (a mapping
            ``{"name", "input"}`` or a sequence of them for parallel calls). Which turn a
            conversation is at is counted from its messages, so one model serves any
            number of concurrent conversations.
        error_rate: the fraction of calls that fail with ``ModelAPIError(error_status)``
            after their latency (seeded): for retry, breaker and dead-letter tests.
        error_status: the status of simulated failures (529 "overloaded" by default).
        chunk_latency: a pause between streamed text chunks (default none).
        sleep: the sleep to use (inject a fake one to test without waiting).
    """

    def __init__(
        self,
        latency: str | float | Latency = 0,
        *,
        seed: int = 0,
        reply: str | Callable[[ModelRequest], str] | None = None,
        tool_calls: Sequence[SimToolCall | Sequence[SimToolCall]] = (),
        error_rate: float = 0.0,
        error_status: int = 529,
        chunk_latency: float = 0.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.latency = latency if isinstance(latency, Latency) else Latency.parse(latency)
        self.name = f"sim:{self.latency}"
        if not 0.0 <= error_rate <= 1.0:
            raise ConfigurationError(
                f"{self.name}: error_rate must be within 0..1, not {error_rate}"
            )
        self.seed = seed
        self.reply = reply
        self.turns = tuple(_turn(item) for item in tool_calls)
        self.error_rate = error_rate
        self.error_status = error_status
        self.chunk_latency = chunk_latency
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response, delay, failure = self._respond(request)
        await self._wait(delay, failure)
        return response

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        response, delay, failure = self._respond(request)
        await self._wait(delay, failure)
        for block in response.content:
            if isinstance(block, TextBlock):
                for index, chunk in enumerate(_chunks(block.text)):
                    if index and self.chunk_latency:
                        await self._sleep(self.chunk_latency)
                    yield TextDelta(chunk)
            elif isinstance(block, ToolUseBlock):
                yield ToolUseEvent(block)
        yield ResponseDone(response)

    def _respond(self, request: ModelRequest) -> tuple[ModelResponse, float, ModelAPIError | None]:
        """The response, its latency and its failure (None: it succeeds)."""
        # Every random draw happens here, synchronously and in call order, so a seeded
        # run is reproducible however the calls' sleeps interleave.
        self.calls += 1
        delay = self.latency.sample(self._rng)
        failure = None
        if self.error_rate > 0 and self._rng.random() < self.error_rate:
            failure = ModelAPIError(
                f"{self.name}: simulated failure {self.error_status}", status=self.error_status
            )
        return self._response(request), delay, failure

    def _response(self, request: ModelRequest) -> ModelResponse:
        input_tokens = estimate_tokens(request_text(request))
        step = _turn_index(request)
        if step < len(self.turns):
            calls = tuple(
                ToolUseBlock(f"toolu_sim_{next(self._ids):06d}", call["name"], dict(call["input"]))
                for call in self.turns[step]
            )
            output = sum(estimate_tokens(c.name + json.dumps(c.input)) for c in calls)
            return ModelResponse(calls, "tool_use", Usage(input_tokens, output), "sim")
        text = self.reply(request) if callable(self.reply) else self.reply
        if text is None:
            text = _last_user_text(request)
        stop_reason = "end_turn"
        if estimate_tokens(text) > request.max_tokens:
            text, stop_reason = text[: request.max_tokens * 4], "max_tokens"
        content: tuple[ContentBlock, ...] = (TextBlock(text),) if text else ()
        return ModelResponse(
            content, stop_reason, Usage(input_tokens, estimate_tokens(text)), "sim"
        )

    async def _wait(self, delay: float, failure: ModelAPIError | None) -> None:
        if delay > 0:
            await self._sleep(delay)
        if failure is not None:
            raise failure


def _turn(item: SimToolCall | Sequence[SimToolCall]) -> tuple[SimToolCall, ...]:
    calls = (item,) if isinstance(item, Mapping) else tuple(item)
    for call in calls:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ConfigurationError(f"sim tool call needs a name and an input: {call!r}")
        if not isinstance(call.get("input", {}), Mapping):
            raise ConfigurationError(f"sim tool call input must be a mapping: {call!r}")
    return tuple({"name": c["name"], "input": c.get("input", {})} for c in calls)


def _turn_index(request: ModelRequest) -> int:
    """Assistant turns since the last user message that is not a tool result."""
    count = 0
    for message in reversed(request.messages):
        if message.role == "assistant":
            count += 1
        elif not any(isinstance(block, ToolResultBlock) for block in message.blocks):
            break
    return count


def _last_user_text(request: ModelRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user" and message.text:
            return message.text
    return ""


def _chunks(text: str) -> list[str]:
    """Word-sized pieces that join back to ``text`` exactly."""
    return re.findall(r"\S+\s*|\s+", text) or [text]


def sim_options(query: str) -> dict[str, Any]:
    """Options written in a ``sim:`` URI's query, converted to their types."""
    converters: Mapping[str, Callable[[str], Any]] = {
        "seed": int,
        "error_rate": float,
        "error_status": int,
        "reply": str,
        "chunk_latency": parse_duration,
    }
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in converters:
            raise ConfigurationError(
                f"sim model: unknown URI option {key!r}; known: {', '.join(sorted(converters))}"
            )
        try:
            options[key] = converters[key](value)
        except ValueError:
            raise ConfigurationError(f"sim model: option {key}={value!r} is not valid") from None
    return options
