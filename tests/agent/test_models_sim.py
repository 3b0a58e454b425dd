"""The simulated model: seeded latency, echo replies, scripted tools, failures, scale."""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import pytest

from skilld.agent.models import (
    Message,
    ModelRequest,
    ResponseDone,
    SimModel,
    TextDelta,
    ToolResultBlock,
    ToolUseEvent,
    resolve_model,
)
from skilld.agent.models.sim import Latency, parse_duration
from skilld.exceptions import ConfigurationError, ModelAPIError


class FakeSleep:
    """Records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def ask(text: str, **kw: object) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0.0), ("200ms", 0.2), ("1.5s", 1.5), ("250us", 0.00025), (" 2m ", 120.0), (".5s", 0.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["200", "fast", "-5ms", "1h", ""])
def test_parse_duration_refuses_unclear_text(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("0", "fixed"),
        ("200ms", "fixed"),
        ("50ms-300ms", "uniform"),
        ("lognormal(200ms,0.5)", "lognormal"),
        ("normal(200ms, 20ms)", "normal"),
        ("exp(100ms)", "exp"),
    ],
)
def test_latency_specs(spec: str, kind: str) -> None:
    latency = Latency.parse(spec)
    assert latency.kind == kind
    assert str(latency) == spec
    assert resolve_model(f"sim:{spec}").name == f"sim:{spec}"


@pytest.mark.parametrize(
    "spec",
    ["300ms-50ms", "lognormal(200ms)", "lognormal(200ms,x)", "exp(1s,2s)", "gamma(1s)", "fast"],
)
def test_bad_latency_specs(spec: str) -> None:
    with pytest.raises(ConfigurationError, match=r"latency|duration"):
        resolve_model(f"sim:{spec}")


async def test_answers_with_the_last_user_message_after_its_latency() -> None:
    sleep = FakeSleep()
    model = SimModel("200ms", sleep=sleep)
    request = ModelRequest(
        messages=[
            Message.user("first"),
            Message.assistant("ok"),
            Message.user("summarise: the pipeline output"),
        ],
        system="You are a test.",
    )

    response = await model.complete(request)

    assert response.text == "summarise: the pipeline output"
    assert response.stop_reason == "end_turn"
    assert sleep.delays == [0.2]
    assert response.usage.output_tokens == 8  # 30 characters, about 4 a token
    assert response.usage.input_tokens > response.usage.output_tokens


async def test_reply_text_or_function() -> None:
    fixed = SimModel(0, reply="done")
    computed = SimModel(0, reply=lambda request: request.messages[-1].text.upper())

    assert (await fixed.complete(ask("anything"))).text == "done"
    assert (await computed.complete(ask("shout"))).text == "SHOUT"


async def test_same_seed_same_latencies_other_seed_others() -> None:
    async def latencies(seed: int) -> list[float]:
        sleep = FakeSleep()
        model = SimModel("lognormal(200ms,0.5)", seed=seed, sleep=sleep)
        for index in range(50):
            await model.complete(ask(f"prompt {index}"))
        return sleep.delays

    first, again, other = await latencies(1), await latencies(1), await latencies(2)

    assert first == again
    assert first != other
    assert len(set(first)) == 50


async def test_concurrent_calls_draw_latencies_in_call_order() -> None:
    sleep = FakeSleep()
    model = SimModel("10ms-20ms", seed=5, sleep=sleep)
    reference = Latency.parse("10ms-20ms")
    rng = random.Random(5)
    expected = [reference.sample(rng) for _ in range(20)]

    await asyncio.gather(*(model.complete(ask(str(i))) for i in range(20)))

    assert sleep.delays == expected


@pytest.mark.parametrize(
    ("spec", "low", "high", "center", "statistic"),
    [
        ("50ms-300ms", 0.05, 0.3, 0.175, statistics.fmean),
        ("lognormal(200ms,0.5)", 0.0, float("inf"), 0.2, statistics.median),
        ("normal(200ms,20ms)", 0.0, float("inf"), 0.2, statistics.fmean),
        ("exp(100ms)", 0.0, float("inf"), 0.1, statistics.fmean),
    ],
)
async def test_latency_distributions(
    spec: str, low: float, high: float, center: float, statistic: object
) -> None:
    sleep = FakeSleep()
    model = SimModel(spec, seed=11, sleep=sleep)

    for _ in range(4000):
        await model.complete(ask("x"))

    assert all(low <= delay <= high for delay in sleep.delays)
    assert statistic(sleep.delays) == pytest.approx(center, rel=0.06)  # type: ignore[operator]
    assert len(set(sleep.delays)) > 3900  # really distributed, not a constant


async def test_lognormal_has_a_long_tail() -> None:
    sleep = FakeSleep()
    model = SimModel("lognormal(200ms,0.5)", seed=3, sleep=sleep)
    for _ in range(4000):
        await model.complete(ask("x"))

    ordered = sorted(sleep.delays)
    median, p99 = ordered[2000], ordered[3960]
    assert p99 / median == pytest.approx(3.2, rel=0.15)  # e^(2.326·0.5) ≈ 3.20


async def test_scripted_tool_calls_then_the_answer() -> None:
    model = SimModel(
        0,
        tool_calls=[
            {"name": "Read", "input": {"file_path": "notes.md"}},
            [
                {"name": "Bash", "input": {"command": "ls"}},
                {"name": "Grep", "input": {"pattern": "x"}},
            ],
        ],
    )
    conversation = [Message.user("review the notes")]

    first = await model.complete(ModelRequest(messages=conversation))
    assert first.stop_reason == "tool_use"
    assert [(c.name, dict(c.input)) for c in first.tool_calls] == [
        ("Read", {"file_path": "notes.md"})
    ]
    conversation += [
        first.to_message(),
        Message.user([ToolResultBlock(first.tool_calls[0].id, "# Notes")]),
    ]

    second = await model.complete(ModelRequest(messages=conversation))
    assert [c.name for c in second.tool_calls] == ["Bash", "Grep"]
    assert len({c.id for c in (*first.tool_calls, *second.tool_calls)}) == 3
    conversation += [
        second.to_message(),
        Message.user([ToolResultBlock(c.id, "ok") for c in second.tool_calls]),
    ]

    final = await model.complete(ModelRequest(messages=conversation))
    assert final.stop_reason == "end_turn"
    assert final.text == "review the notes"

    # A new prompt in the same conversation starts the script again.
    conversation += [final.to_message(), Message.user("again")]
    assert (await model.complete(ModelRequest(messages=conversation))).tool_calls[0].name == "Read"


async def test_streaming_deltas_then_tool_calls_then_done() -> None:
    text_model = SimModel(0)
    events = [event async for event in text_model.stream(ask("one two  three"))]
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert deltas == ["one ", "two  ", "three"]
    assert isinstance(events[-1], ResponseDone)
    assert events[-1].response.text == "one two  three"

    tool_model = SimModel(0, tool_calls=[{"name": "Bash", "input": {"command": "pwd"}}])
    events = [event async for event in tool_model.stream(ask("x"))]
    assert [type(event) for event in events] == [ToolUseEvent, ResponseDone]


async def test_stream_chunk_latency_uses_the_injected_sleep() -> None:
    sleep = FakeSleep()
    model = SimModel("100ms", chunk_latency=0.01, sleep=sleep)

    _ = [event async for event in model.stream(ask("a b c"))]

    assert sleep.delays == [0.1, 0.01, 0.01]


async def test_max_tokens_truncates() -> None:
    model = SimModel(0)

    response = await model.complete(ask("x" * 100, max_tokens=5))

    assert response.text == "x" * 20
    assert response.stop_reason == "max_tokens"


async def test_seeded_failures() -> None:
    async def outcomes(seed: int) -> list[int | None]:
        model = resolve_model(f"sim:0?seed={seed}&error_rate=0.25&error_status=503")
        results: list[int | None] = []
        for _ in range(400):
            try:
                await model.complete(ask("x"))
                results.append(None)
            except ModelAPIError as error:
                results.append(error.status if error.retryable else -1)
        return results

    first = await outcomes(4)
    assert first == await outcomes(4)
    assert set(first) == {None, 503}
    assert first.count(503) / len(first) == pytest.approx(0.25, abs=0.06)


async def test_failure_comes_after_the_latency() -> None:
    sleep = FakeSleep()
    model = SimModel("50ms", error_rate=1.0, sleep=sleep)

    with pytest.raises(ModelAPIError) as caught:
        await model.complete(ask("x"))

    assert caught.value.status == 529
    assert sleep.delays == [0.05]


async def test_cancellation_during_latency() -> None:
    started = asyncio.Event()

    async def blocking_sleep(delay: float) -> None:
        started.set()
        await asyncio.Event().wait()

    model = SimModel("1s", sleep=blocking_sleep)
    task = asyncio.create_task(model.complete(ask("x")))
    await asyncio.wait_for(started.wait(), timeout=2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=2)


async def test_thousands_concurrent_with_real_sleeps() -> None:
    model = resolve_model("sim:1ms-3ms?seed=9")
    prompts = [f"task {index}" for index in range(10_000)]
    started = time.perf_counter()

    responses = await asyncio.gather(*(model.complete(ask(prompt)) for prompt in prompts))

    elapsed = time.perf_counter() - started
    assert [response.text for response in responses] == prompts
    assert elapsed < 10.0, f"10,000 concurrent sim calls took {elapsed:.2f}s"


def test_uri_options_and_errors() -> None:
    model = resolve_model("sim:10ms?seed=3&reply=ok&chunk_latency=2ms")
    assert isinstance(model, SimModel)
    assert (model.seed, model.reply, model.chunk_latency) == (3, "ok", 0.002)
    # Keyword options win over the URI's.
    assert resolve_model("sim:10ms?seed=3", seed=8).seed == 8  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="unknown URI option 'sed'"):
        resolve_model("sim:10ms?sed=3")
    with pytest.raises(ConfigurationError, match="seed"):
        resolve_model("sim:10ms?seed=three")
    with pytest.raises(ConfigurationError, match="error_rate"):
        resolve_model("sim:0", error_rate=2)
    with pytest.raises(ConfigurationError, match="needs a name"):
        resolve_model("sim:0", tool_calls=[{"input": {}}])
