"""The real ``openai`` SDK against a local server speaking Chat Completions."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from skilld.agent.models import (
    Message,
    ModelRequest,
    ResponseDone,
    StreamEvent,
    TextDelta,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
    resolve_model,
)
from skilld.agent.models.openai import OpenAIModel
from skilld.exceptions import (
    ConfigurationError,
    MissingDependencyError,
    ModelAPIError,
    ModelError,
)
from tests.agent.fakes import FakeOpenAI, Reply

SEARCH = ToolSpec(
    name="search",
    description="Search the notes.",
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}},
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SKILLD_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def model(server: FakeOpenAI) -> AsyncIterator[OpenAIModel]:
    built = resolve_model("openai:qwen-test", api_key="sk-test", base_url=server.v1, max_retries=0)
    assert isinstance(built, OpenAIModel)
    async with built:
        yield built


def ask(text: str, **kw: object) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kw)  # type: ignore[arg-type]


async def collect(events: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in events]


async def test_plain_completion(server: FakeOpenAI, model: OpenAIModel) -> None:
    server.script(Reply(text="Hello there", usage=(12, 3)))

    response = await model.complete(ask("Say hello", system="Be brief.", max_tokens=64))

    assert response.text == "Hello there"
    assert response.stop_reason == "end_turn"
    assert response.usage == Usage(12, 3)
    assert response.model == "qwen-test"
    [sent] = server.requests
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "qwen-test"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    # A custom base URL means a compatible server: the widely understood field name.
    assert sent.body["max_tokens"] == 64
    assert "max_completion_tokens" not in sent.body


async def test_tool_use_round_trip(server: FakeOpenAI, model: OpenAIModel) -> None:
    server.script(
        Reply(tool_calls=(("call_1", "search", {"query": "skills"}),)),
        Reply(text="Found 3 notes."),
    )
    first = ask("Find notes about skills", tools=[SEARCH])

    response = await model.complete(first)

    assert response.stop_reason == "tool_use"
    assert response.content == (ToolUseBlock("call_1", "search", {"query": "skills"}),)
    results = [
        ToolResultBlock("call_1", "3 notes"),
        ToolResultBlock("call_0", "index missing", is_error=True),
    ]
    second = ModelRequest(
        messages=[
            *first.messages,
            response.to_message(),
            Message.user([*results, *ask("and summarise").messages[0].blocks]),
        ],
        tools=[SEARCH],
    )
    final = await model.complete(second)

    assert final.text == "Found 3 notes."
    sent = server.requests[1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Search the notes.",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
            },
        }
    ]
    assert sent["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "skills"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3 notes"},
        {"role": "tool", "tool_call_id": "call_0", "content": "Error: index missing"},
        {"role": "user", "content": "and summarise"},
    ]


async def test_stream_text_and_parallel_tool_calls(server: FakeOpenAI, model: OpenAIModel) -> None:
    calls = (
        ("call_a", "search", {"query": "alpha"}),
        ("call_b", "search", {"query": "beta", "limit": 2}),
    )
    server.script(Reply(text="Searching twice.", tool_calls=calls, usage=(40, 25)))

    events = await collect(model.stream(ask("Search", tools=[SEARCH])))

    sent = server.requests[0].body
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert len(deltas) > 1
    assert "".join(deltas) == "Searching twice."
    tool_events = [event.block for event in events if isinstance(event, ToolUseEvent)]
    assert tool_events == [ToolUseBlock(*call) for call in calls]
    assert isinstance(events[-1], ResponseDone)
    response = events[-1].response
    assert response.text == "Searching twice."
    assert response.tool_calls == tuple(tool_events)
    assert response.stop_reason == "tool_use"
    assert response.usage == Usage(40, 25)


async def test_stream_without_usage_option(server: FakeOpenAI) -> None:
    server.script(Reply(text="no usage here"))
    async with OpenAIModel("m", base_url=server.v1, max_retries=0, stream_usage=False) as quiet:
        events = await collect(quiet.stream(ask("hi")))

    assert "stream_options" not in server.requests[0].body
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.text == "no usage here"
    assert events[-1].response.usage == Usage()


@pytest.mark.parametrize(
    ("reply", "status", "retry_after", "retryable"),
    [
        (Reply.error(429, "rate_limit_exceeded", headers={"retry-after": "7"}), 429, 7.0, True),
        (
            Reply.error(
                429, "rate_limit_exceeded", headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}
            ),
            429,
            0.0,  # a date in the past: retry now
            True,
        ),
        (Reply.error(500, "server_error"), 500, None, True),
        (Reply.error(503, "server_error"), 503, None, True),
        (Reply.error(400, "invalid_request_error", "tools[0]: bad schema"), 400, None, False),
        (Reply.error(404, "not_found", "model 'x' not found"), 404, None, False),
    ],
)
async def test_errors_become_model_api_errors(
    server: FakeOpenAI,
    model: OpenAIModel,
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
    assert len(server.requests) == 1


async def test_stream_errors(server: FakeOpenAI, model: OpenAIModel) -> None:
    server.script(Reply.error(429, "rate_limit_exceeded", headers={"retry-after": "2"}))
    with pytest.raises(ModelAPIError) as caught:
        await collect(model.stream(ask("hi")))
    assert (caught.value.status, caught.value.retry_after) == (429, 2.0)

    server.script(Reply(text="partial answer", stream_error="server_error"))
    with pytest.raises(ModelAPIError, match="scripted error") as caught:
        await collect(model.stream(ask("hi")))
    assert caught.value.retryable


async def test_a_stream_cut_short_is_a_retryable_error(
    server: FakeOpenAI, model: OpenAIModel
) -> None:
    server.script(Reply(text="half an answer", end_after=2))

    with pytest.raises(ModelAPIError, match="finish reason") as caught:
        await collect(model.stream(ask("hi")))

    assert caught.value.retryable


async def test_invalid_tool_arguments_are_a_model_error(
    server: FakeOpenAI, model: OpenAIModel
) -> None:
    # Arguments that are JSON but not an object (the fake sends them as written).
    server.script(Reply(tool_calls=(("call_1", "search", ["not", "an", "object"]),)))  # type: ignore[arg-type]

    with pytest.raises(ModelError, match="not a JSON object"):
        await model.complete(ask("hi", tools=[SEARCH]))


async def test_cancelling_the_consumer_closes_the_stream(
    server: FakeOpenAI, model: OpenAIModel
) -> None:
    # Two events (role chunk, first text chunk), then the server waits for a hang-up.
    server.script(Reply(text="a long answer that never ends", hang_after=2))
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


async def test_model_override_and_effort(server: FakeOpenAI, model: OpenAIModel) -> None:
    server.script(Reply(text="a"), Reply(text="b"), Reply(text="c"))

    await model.complete(ask("x", model="llama-3.3-70b", effort="low"))
    await model.complete(ask("x", model="haiku"))  # a Claude alias: keep the configured model
    await model.complete(ask("x", model="claude-opus-5-5[1m]", effort=2048))

    first, second, third = (sent.body for sent in server.requests)
    assert (first["model"], first["reasoning_effort"]) == ("llama-3.3-70b", "low")
    assert second["model"] == "qwen-test"
    assert third["model"] == "qwen-test"
    assert "reasoning_effort" not in third


async def test_base_url_from_skilld_variable_and_no_key_needed(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # loses to SKILLD_…
    monkeypatch.setenv("SKILLD_OPENAI_BASE_URL", server.v1)
    server.script(Reply(text="local model"))

    async with resolve_model("openai:llama3", max_retries=0) as local:
        assert (await local.complete(ask("hi"))).text == "local model"

    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


async def test_openai_api_uses_max_completion_tokens() -> None:
    hosted = OpenAIModel("gpt-test", api_key="sk-x")
    try:
        params = hosted._params(ask("hi", max_tokens=99))
    finally:
        await hosted.aclose()
    assert params["max_completion_tokens"] == 99
    assert "max_tokens" not in params


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve_model("openai:gpt-test")


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)

    with pytest.raises(MissingDependencyError, match=r"pip install 'skilld\[openai\]'"):
        resolve_model("openai:gpt-test", api_key="k")


def test_bad_max_tokens_field() -> None:
    with pytest.raises(ConfigurationError, match="max_tokens_field"):
        resolve_model("openai:m", api_key="k", max_tokens_field="tokens")
