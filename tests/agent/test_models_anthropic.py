"""The real ``anthropic`` SDK against a local server speaking the Messages API."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest

from skilld.agent.models import (
    Message,
    ModelRequest,
    ResponseDone,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
    resolve_model,
)
from skilld.agent.models.anthropic import CONTEXT_1M_BETA, AnthropicModel
from skilld.exceptions import ConfigurationError, MissingDependencyError, ModelAPIError
from tests.agent.fakes import FakeAnthropic, Reply

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def model(server: FakeAnthropic) -> AsyncIterator[AnthropicModel]:
    built = resolve_model(
        "anthropic:claude-test", api_key="test-key", base_url=server.url, max_retries=0
    )
    assert isinstance(built, AnthropicModel)
    async with built:
        yield built


def ask(text: str, **kw: object) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kw)  # type: ignore[arg-type]


def sent_key(headers: Mapping[str, str]) -> str | None:
    """The API key a request carried (SDK versions differ on which header)."""
    if "x-api-key" in headers:
        return headers["x-api-key"]
    return headers.get("authorization", "").removeprefix("Bearer ") or None


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_plain_completion(server: FakeAnthropic, model: AnthropicModel) -> None:
    server.script(Reply(text="Hello there", usage=(12, 3)))

    response = await model.complete(ask("Say hello", system="Be brief.", max_tokens=64))

    assert response.text == "Hello there"
    assert response.stop_reason == "end_turn"
    assert response.usage == Usage(12, 3)
    assert response.model == "claude-test"
    [sent] = server.requests
    assert sent_key(sent.headers) == "test-key"
    assert sent.body["model"] == "claude-test"
    assert sent.body["max_tokens"] == 64
    assert sent.body["system"] == "Be brief."
    assert sent.body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert "tools" not in sent.body


async def test_tool_use_round_trip(server: FakeAnthropic, model: AnthropicModel) -> None:
    server.script(
        Reply(text="Let me look.", tool_calls=(("toolu_1", "get_weather", {"city": "Paris"}),)),
        Reply(text="Sunny in Paris."),
    )
    first = ask("Weather in Paris?", tools=[WEATHER])

    response = await model.complete(first)

    assert response.stop_reason == "tool_use"
    assert response.tool_calls == (ToolUseBlock("toolu_1", "get_weather", {"city": "Paris"}),)
    assert response.content[0] == TextBlock("Let me look.")
    result = ToolResultBlock("toolu_1", "sunny, 21°C")
    failed = ToolResultBlock("toolu_0", "boom", is_error=True)
    second = ModelRequest(
        messages=[*first.messages, response.to_message(), Message.user([result, failed])],
        tools=[WEATHER],
    )
    final = await model.complete(second)

    assert final.text == "Sunny in Paris."
    sent = server.requests[1].body
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21°C"},
            {"type": "tool_result", "tool_use_id": "toolu_0", "content": "boom", "is_error": True},
        ],
    }


async def test_stream_text_and_tool_calls(server: FakeAnthropic, model: AnthropicModel) -> None:
    calls = (
        ("toolu_a", "get_weather", {"city": "Paris"}),
        ("toolu_b", "get_weather", {"city": "Oslo", "units": ["C", "F"]}),
    )
    server.script(Reply(text="Checking two cities.", tool_calls=calls, usage=(40, 25)))

    events = await collect(model.stream(ask("Weather?", tools=[WEATHER])))

    assert server.requests[0].body["stream"] is True
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == "Checking two cities."
    tool_events = [event.block for event in events if isinstance(event, ToolUseEvent)]
    assert tool_events == [ToolUseBlock(*call) for call in calls]
    assert isinstance(events[-1], ResponseDone)
    assert sum(isinstance(event, ResponseDone) for event in events) == 1
    response = events[-1].response
    assert response.text == "Checking two cities."
    assert response.tool_calls == tuple(tool_events)
    assert response.stop_reason == "tool_use"
    assert response.usage == Usage(40, 25)


@pytest.mark.parametrize(
    ("reply", "status", "retry_after", "retryable"),
    [
        (Reply.error(429, "rate_limit_error", headers={"retry-after": "7"}), 429, 7.0, True),
        (Reply.error(429, "rate_limit_error", headers={"retry-after-ms": "1500"}), 429, 1.5, True),
        (Reply.error(500, "api_error"), 500, None, True),
        (Reply.error(529, "overloaded_error"), 529, None, True),
        (Reply.error(400, "invalid_request_error", "max_tokens: too big"), 400, None, False),
        (Reply.error(401, "authentication_error"), 401, None, False),
    ],
)
async def test_errors_become_model_api_errors(
    server: FakeAnthropic,
    model: AnthropicModel,
    reply: Reply,
    status: int,
    retry_after: float | None,
    retryable: bool,
) -> None:
    server.script(reply)

    with pytest.raises(ModelAPIError) as caught:
        await model.complete(ask("hi"))

    assert caught.value.status == status
    assert caught.value.retry_after == retry_after
    assert caught.value.retryable is retryable
    assert reply.error_message in str(caught.value)
    assert len(server.requests) == 1  # max_retries=0: the SDK did not retry


async def test_stream_error_status_and_error_event(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.script(Reply.error(429, "rate_limit_error", headers={"retry-after": "3"}))
    with pytest.raises(ModelAPIError) as caught:
        await collect(model.stream(ask("hi")))
    assert (caught.value.status, caught.value.retry_after) == (429, 3.0)

    # An error that arrives inside a 200 stream gets the status it has on its own.
    server.script(Reply(text="partial answer", stream_error="overloaded_error"))
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async for event in model.stream(ask("hi")):
            seen.append(event)

    with pytest.raises(ModelAPIError) as caught:
        await consume()
    assert caught.value.status == 529
    assert caught.value.retryable
    assert seen == [TextDelta("parti")]  # what arrived before the error was delivered


async def test_a_stream_cut_short_is_a_retryable_error(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.script(Reply(text="half an answer", end_after=5))

    with pytest.raises(ModelAPIError, match="message_stop") as caught:
        await collect(model.stream(ask("hi")))

    assert caught.value.retryable


async def test_connection_refused_is_retryable() -> None:
    async with AnthropicModel(
        "claude-test", api_key="k", base_url="http://127.0.0.1:9", max_retries=0
    ) as nowhere:
        with pytest.raises(ModelAPIError, match="connection error") as caught:
            await nowhere.complete(ask("hi"))
    assert caught.value.status is None
    assert caught.value.retryable


async def test_sdk_retries_when_asked(server: FakeAnthropic) -> None:
    server.script(
        Reply.error(429, "rate_limit_error", headers={"retry-after-ms": "1"}),
        Reply(text="second time lucky"),
    )
    async with AnthropicModel("claude-test", api_key="k", base_url=server.url, max_retries=1) as m:
        assert (await m.complete(ask("hi"))).text == "second time lucky"
    assert len(server.requests) == 2


async def test_timeout_is_retryable(server: FakeAnthropic) -> None:
    server.script(Reply(text="too late", delay=0.5))
    async with AnthropicModel(
        "claude-test", api_key="k", base_url=server.url, max_retries=0, timeout=0.05
    ) as slow:
        with pytest.raises(ModelAPIError, match="timed out") as caught:
            await slow.complete(ask("hi"))
    assert caught.value.status is None
    assert caught.value.retryable


async def test_cancelling_the_consumer_closes_the_stream(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    # The server sends four events (start, ping, block start, first delta) then waits
    # for the client to hang up.
    server.script(Reply(text="a long answer that never ends", hang_after=4))
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for event in model.stream(ask("go")):
            if isinstance(event, TextDelta):
                first_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_delta.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert await asyncio.to_thread(server.disconnected.wait, 5)


async def test_closing_the_stream_early_closes_the_connection(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.script(Reply(text="a long answer that never ends", hang_after=4))

    async with contextlib.aclosing(model.stream(ask("go"))) as events:  # type: ignore[type-var]
        async for event in events:
            assert isinstance(event, TextDelta)
            break

    assert await asyncio.to_thread(server.disconnected.wait, 5)


async def test_model_override_alias_effort_and_context_suffix(
    server: FakeAnthropic, model: AnthropicModel
) -> None:
    server.script(Reply(text="a"), Reply(text="b"), Reply(text="c"))

    await model.complete(ask("x", model="sonnet", effort="high"))
    await model.complete(ask("x", model="claude-opus-4-1[1m]"))
    await model.complete(ask("x", model="inherit", effort=4000))

    first, second, third = (sent for sent in server.requests)
    assert first.body["model"] == "claude-sonnet-5-5"
    assert first.body["output_config"] == {"effort": "high"}
    assert "anthropic-beta" not in first.headers
    assert second.body["model"] == "claude-opus-4-1"
    assert CONTEXT_1M_BETA in second.headers["anthropic-beta"]
    assert third.body["model"] == "claude-test"
    assert "output_config" not in third.body


async def test_key_and_base_url_from_the_environment(
    server: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    server.script(Reply(text="from env"))

    async with resolve_model("anthropic:claude-test", max_retries=0) as env_model:
        assert (await env_model.complete(ask("hi"))).text == "from env"

    assert sent_key(server.requests[0].headers) == "env-key"


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        resolve_model("anthropic:claude-test")


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # makes `import anthropic` fail

    with pytest.raises(MissingDependencyError, match=r"pip install 'skilld\[anthropic\]'"):
        resolve_model("anthropic:claude-test", api_key="k")


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option.*temprature"):
        resolve_model("anthropic:claude-test", api_key="k", temprature=0.2)
