"""ScriptedModel and FunctionModel: the models a user's own test suite drives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from skilld.agent.models import (
    FunctionModel,
    Message,
    ModelRequest,
    ModelResponse,
    ResponseDone,
    ScriptedModel,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolUseBlock,
    ToolUseEvent,
    Usage,
    resolve_model,
    tool_call,
)
from skilld.exceptions import ConfigurationError, ModelAPIError, ModelError


def ask(text: str) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)])


async def test_scripted_model_follows_its_script_and_records_requests() -> None:
    read = tool_call("Read", {"file_path": "a.md"}, id="toolu_1")
    exact = ModelResponse((TextBlock("exact"),), "end_turn", Usage(1, 2), "m")
    model = ScriptedModel(["hello", read, [read, tool_call("Bash")], exact])

    first = await model.complete(ask("one"))
    second = await model.complete(ask("two"))
    third = await model.complete(ask("three"))
    fourth = await model.complete(ask("four"))

    assert (first.text, first.stop_reason) == ("hello", "end_turn")
    assert first.usage.output_tokens == 2
    assert (second.tool_calls, second.stop_reason) == ((read,), "tool_use")
    assert [call.name for call in third.tool_calls] == ["Read", "Bash"]
    assert fourth is exact
    assert [request.messages[0].text for request in model.requests] == [
        "one",
        "two",
        "three",
        "four",
    ]
    assert model.remaining == 0


async def test_scripted_model_raises_scripted_errors_and_runs_out_loudly() -> None:
    model = ScriptedModel([ModelAPIError("overloaded", status=529), "after"])

    with pytest.raises(ModelAPIError):
        await model.complete(ask("x"))
    assert (await model.complete(ask("y"))).text == "after"
    with pytest.raises(ModelError, match=r"2 response\(s\) and this is call 3.*'z'"):
        await model.complete(ask("z"))


async def test_default_stream_is_built_from_complete() -> None:
    model = ScriptedModel([ModelResponse((TextBlock("hi"), tool_call("Bash", id="t")), "tool_use")])

    events = [event async for event in model.stream(ask("x"))]

    assert events[:2] == [TextDelta("hi"), ToolUseEvent(ToolUseBlock("t", "Bash", {}))]
    assert isinstance(events[2], ResponseDone)
    assert events[2].response.stop_reason == "tool_use"


async def test_function_model_sync_and_async() -> None:
    def shout(request: ModelRequest) -> str:
        return request.messages[-1].text.upper()

    async def call_tool(request: ModelRequest) -> ToolUseBlock:
        await asyncio.sleep(0)
        return tool_call("Skill", {"skill": request.messages[-1].text})

    assert (await FunctionModel(shout).complete(ask("hey"))).text == "HEY"
    async_model = FunctionModel(call_tool)
    response = await async_model.complete(ask("pdf"))
    assert response.tool_calls[0].input == {"skill": "pdf"}
    assert len(async_model.requests) == 1


async def test_function_model_stream_function_assembles_the_response() -> None:
    async def stream(request: ModelRequest) -> AsyncIterator[str | ToolUseBlock | StreamEvent]:
        yield "Let me "
        yield TextDelta("check.")
        yield tool_call("Read", {"file_path": "x"}, id="t1")

    model = FunctionModel(stream_function=stream)

    events = [event async for event in model.stream(ask("x"))]
    assert events[:3] == [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolUseEvent(ToolUseBlock("t1", "Read", {"file_path": "x"})),
    ]
    assert isinstance(events[3], ResponseDone)
    response = events[3].response
    assert response.text == "Let me check."
    assert response.stop_reason == "tool_use"
    # complete() works from the stream function alone.
    assert (await model.complete(ask("x"))).text == "Let me check."


async def test_cancelling_a_function_model_stream_closes_it() -> None:
    closed = asyncio.Event()
    first = asyncio.Event()

    async def endless(request: ModelRequest) -> AsyncIterator[str]:
        try:
            yield "partial"
            await asyncio.Event().wait()
            yield "never"
        finally:
            closed.set()

    model = FunctionModel(stream_function=endless)

    async def consume() -> None:
        async for _ in model.stream(ask("x")):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)
    assert closed.is_set()


async def test_test_uris() -> None:
    echo = resolve_model("test:echo")
    assert (await echo.complete(ask("same back"))).text == "same back"
    scripted = resolve_model("test:scripted", script=["a", "b"])
    assert isinstance(scripted, ScriptedModel)
    assert (await scripted.complete(ask("x"))).text == "a"
    function = resolve_model("test:function", function=lambda request: "f")
    assert (await function.complete(ask("x"))).text == "f"
    with pytest.raises(ConfigurationError, match="script="):
        resolve_model("test:scripted")
    with pytest.raises(ConfigurationError, match="unknown test model"):
        resolve_model("test:nonsense")


def test_bad_script_item_is_a_type_error() -> None:
    model = ScriptedModel([42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a script item"):
        asyncio.run(model.complete(ask("x")))
