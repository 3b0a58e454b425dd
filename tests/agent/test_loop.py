"""The agent loop driven by the test models: tools, permissions, limits, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from skilld.agent.loop import (
    Agent,
    AgentEvent,
    AssistantTurn,
    TextDeltaEvent,
    ToolEnd,
    ToolStart,
    TurnEnd,
)
from skilld.agent.models import (
    FunctionModel,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    TextBlock,
    ToolResultBlock,
    Usage,
    resolve_model,
    tool_call,
)
from skilld.agent.tools import Tool, ToolContext
from skilld.exceptions import ModelError
from skilld.hooks import HookRunner, HooksConfig
from skilld.permissions import (
    PermissionDecision,
    PermissionEngine,
    PermissionRequest,
    PermissionRule,
)
from skilld.skills.registry import SkillRegistry
from tests.helpers import write_skill


async def collect(agent: Agent, prompt: str = "go", **options: Any) -> list[AgentEvent]:
    return [event async for event in agent.run(prompt, **options)]


def results_in(request: ModelRequest) -> list[ToolResultBlock]:
    last = request.messages[-1]
    return [b for b in last.blocks if isinstance(b, ToolResultBlock)]


def engine(tmp_path: Path, *allow: str, deny: tuple[str, ...] = ()) -> PermissionEngine:
    rules = [PermissionRule.parse(r) for r in allow]
    rules += [PermissionRule.parse(r, behavior="deny") for r in deny]
    return PermissionEngine(rules, cwd=tmp_path)


async def test_a_plain_answer_ends_the_turn(tmp_path: Path) -> None:
    agent = Agent(ScriptedModel(["Hello."]), cwd=tmp_path)
    events = await collect(agent)
    assert [type(e) for e in events] == [TextDeltaEvent, AssistantTurn, TurnEnd]
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.text, end.turns) == ("end_turn", "Hello.", 1)
    assert end.usage.output_tokens > 0
    assert [m.role for m in agent.messages] == ["user", "assistant"]


async def test_tool_results_go_back_to_the_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("remember the milk\n")
    model = ScriptedModel([tool_call("Read", {"file_path": "notes.txt"}, id="t1"), "Done."])
    agent = Agent(model, cwd=tmp_path)
    events = await collect(agent)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "AssistantTurn",
        "ToolStart",
        "ToolEnd",
        "UserTurn",
        "TextDeltaEvent",
        "AssistantTurn",
        "TurnEnd",
    ]
    (result,) = results_in(model.requests[1])
    assert result.tool_use_id == "t1"
    assert result.content == "     1\tremember the milk"
    assert not result.is_error
    assert {t.name for t in model.requests[0].tools} == {
        "Bash",
        "Read",
        "Write",
        "Edit",
        "Glob",
        "Grep",
    }


async def test_without_permission_a_tool_is_denied_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    model = ScriptedModel([tool_call("Bash", {"command": f"touch {marker}"}), "ok"])
    events = await collect(Agent(model, cwd=tmp_path))
    (end,) = [e for e in events if isinstance(e, ToolEnd)]
    assert end.denied
    assert end.result.is_error
    assert "Permission to use Bash denied" in end.result.content
    assert "Bash(touch" in end.result.content  # the rule that would allow it
    assert not marker.exists()


async def test_an_allow_rule_or_the_ask_callback_lets_it_run(tmp_path: Path) -> None:
    model = ScriptedModel([tool_call("Bash", {"command": "echo hi"}), "ok"])
    await collect(Agent(model, permissions=engine(tmp_path, "Bash(echo *)")))
    assert results_in(model.requests[1])[0].content == "hi"

    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> bool:
        asked.append(request)
        return True

    model = ScriptedModel([tool_call("Bash", {"command": "echo asked"}), "ok"])
    await collect(Agent(model, cwd=tmp_path, ask=ask))
    assert [r.tool for r in asked] == ["Bash"]
    assert results_in(model.requests[1])[0].content == "asked"


async def test_deny_rules_beat_the_ask_callback(tmp_path: Path) -> None:
    model = ScriptedModel([tool_call("Bash", {"command": "rm -rf x"}), "ok"])
    agent = Agent(model, permissions=engine(tmp_path, deny=("Bash(rm *)",)), ask=lambda r: True)
    await collect(agent)
    result = results_in(model.requests[1])[0]
    assert result.is_error
    assert "denied by the rule Bash(rm *)" in result.content


async def test_the_ask_callback_may_answer_with_a_decision(tmp_path: Path) -> None:
    def ask(request: PermissionRequest) -> PermissionDecision:
        return PermissionDecision("deny", "not on Fridays")

    model = ScriptedModel([tool_call("Write", {"file_path": "a", "content": "x"}), "ok"])
    await collect(Agent(model, cwd=tmp_path, ask=ask))
    assert "not on Fridays" in results_in(model.requests[1])[0].content
    assert not (tmp_path / "a").exists()


async def test_host_functions_are_tools_and_deny_rules_still_apply(tmp_path: Path) -> None:
    calls: list[int] = []

    def double(n: int) -> int:
        """Double a number."""
        calls.append(n)
        return n * 2

    model = ScriptedModel([tool_call("double", {"n": 21}), "ok"])
    agent = Agent(model, tools=[double], cwd=tmp_path)
    await collect(agent)
    assert results_in(model.requests[1])[0].content == "42"
    assert [t.name for t in model.requests[0].tools] == ["double"]

    model = ScriptedModel([tool_call("double", {"n": 1}), "ok"])
    await collect(Agent(model, tools=[double], permissions=engine(tmp_path, deny=("double",))))
    assert results_in(model.requests[1])[0].is_error
    assert calls == [21]


async def test_unknown_tools_bad_input_and_failures_are_errors_the_model_reads(
    tmp_path: Path,
) -> None:
    def explode() -> str:
        """Fail."""
        raise ValueError("kaboom")

    model = ScriptedModel(
        [
            [
                tool_call("Nope", {}),
                tool_call("explode", {}),
                tool_call("Read", {"path": "x"}),
            ],
            "ok",
        ]
    )
    await collect(Agent(model, tools=[explode, *Agent("test:echo").tools.values()], cwd=tmp_path))
    unknown, failed, invalid = results_in(model.requests[1])
    assert unknown.is_error
    assert unknown.content.startswith("No such tool: Nope")
    assert failed.content == "explode failed: ValueError: kaboom"
    assert "file_path is required" in invalid.content
    assert "path is not a known parameter" in invalid.content


async def test_max_turns_stops_a_model_that_never_stops(tmp_path: Path) -> None:
    model = FunctionModel(lambda request: tool_call("Glob", {"pattern": "*"}))
    agent = Agent(model, cwd=tmp_path, max_turns=3)
    events = await collect(agent)
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.turns) == ("max_turns", 3)
    assert len(model.requests) == 3
    # the conversation stays valid: every tool use has its result
    assert isinstance(agent.messages[-1].blocks[0], ToolResultBlock)


async def test_the_token_budget_stops_the_turn_and_closes_pending_tool_uses(
    tmp_path: Path,
) -> None:
    call = tool_call("Glob", {"pattern": "*"}, id="pending")

    def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse((call,), "tool_use", Usage(600, 500), "test")

    agent = Agent(FunctionModel(answer), cwd=tmp_path, token_budget=2000)
    events = await collect(agent)
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.turns, end.usage.total_tokens) == ("token_budget", 2, 2200)
    closing = agent.messages[-1].blocks[0]
    assert isinstance(closing, ToolResultBlock)
    assert closing.tool_use_id == "pending"
    assert closing.is_error
    assert "token budget" in closing.content
    assert sum(isinstance(e, ToolStart) for e in events) == 1


async def test_setting_cancel_stops_the_stream_at_once(tmp_path: Path) -> None:
    started = asyncio.Event()
    never = asyncio.Event()
    closed: list[str] = []

    async def stream(request: ModelRequest) -> AsyncIterator[str]:
        try:
            yield "partial "
            started.set()
            await never.wait()
            yield "never seen"
        finally:
            closed.append("closed")

    cancel = asyncio.Event()
    agent = Agent(FunctionModel(stream_function=stream), cwd=tmp_path)
    events: list[AgentEvent] = []

    async def consume() -> None:
        async for event in agent.run("go", cancel=cancel):
            events.append(event)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    cancel.set()
    await asyncio.wait_for(task, 5)
    assert closed == ["closed"]
    assert isinstance(events[0], TextDeltaEvent)
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.reason == "cancelled"
    assert [m.role for m in agent.messages] == ["user"]  # no half answer recorded


async def test_cancelling_the_consumer_task_closes_the_stream(tmp_path: Path) -> None:
    started = asyncio.Event()
    closed = asyncio.Event()

    async def stream(request: ModelRequest) -> AsyncIterator[str]:
        try:
            yield "x"
            started.set()
            await asyncio.Event().wait()
            yield "y"
        finally:
            closed.set()

    agent = Agent(FunctionModel(stream_function=stream), cwd=tmp_path)

    async def consume() -> None:
        async for _ in agent.run("go"):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()


async def test_cancel_during_a_tool_kills_it_and_closes_the_conversation(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def slow() -> str:
        """Wait forever."""
        started.set()
        await asyncio.Event().wait()
        return "never"

    cancel = asyncio.Event()
    model = ScriptedModel([[tool_call("slow", {}, id="s1"), tool_call("slow", {}, id="s2")]])
    agent = Agent(model, tools=[slow], cwd=tmp_path)
    task = asyncio.create_task(collect(agent, cancel=cancel))
    await asyncio.wait_for(started.wait(), 5)
    cancel.set()
    events = await asyncio.wait_for(task, 5)
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.reason == "cancelled"
    closing = agent.messages[-1].blocks
    assert [b.tool_use_id for b in closing if isinstance(b, ToolResultBlock)] == ["s1", "s2"]


async def test_model_errors_propagate(tmp_path: Path) -> None:
    agent = Agent(ScriptedModel([ModelError("provider down")]), cwd=tmp_path, stream=False)
    with pytest.raises(ModelError, match="provider down"):
        await collect(agent)


async def test_a_second_turn_continues_the_conversation(tmp_path: Path) -> None:
    model = ScriptedModel(["one", "two"])
    agent = Agent(model, cwd=tmp_path, system="Be brief.")
    assert (await agent.complete("first")).text == "one"
    assert (await agent.complete("second")).text == "two"
    request = model.requests[1]
    assert request.system == "Be brief."
    assert [m.text for m in request.messages] == ["first", "one", "second"]
    assert isinstance(request.messages[1].blocks[0], TextBlock)


async def test_a_tool_subclass_returning_plain_text_still_works(tmp_path: Path) -> None:
    class Clock(Tool):
        name = "clock"
        description = "The time."
        input_schema: Mapping[str, Any] = {"type": "object", "properties": {}}
        requires_permission = False

        async def call(self, tool_input: Mapping[str, Any], context: ToolContext) -> Any:
            return "noon"

    model = ScriptedModel([tool_call("clock", {}), "ok"])
    await collect(Agent(model, tools=[Clock()], cwd=tmp_path))
    assert results_in(model.requests[1])[0].content == "noon"


async def test_compaction_keeps_a_summary_and_the_invoked_skills(tmp_path: Path) -> None:
    skills = tmp_path / ".claude" / "skills"
    write_skill(skills, "style", "description: House style", "Write short sentences.\n")
    registry = SkillRegistry(tmp_path, include_packages=False, include_bundled=False)
    model = ScriptedModel(
        [tool_call("Skill", {"skill": "style"}), "Styled.", "We styled the docs.", "next"]
    )
    agent = Agent(model, registry=registry, cwd=tmp_path)
    await agent.complete("style the docs")
    summary = await agent.compact(instructions="Keep file names.")
    assert summary == "We styled the docs."
    assert model.requests[2].messages[-1].text.endswith("Keep file names.")
    (message,) = agent.messages
    assert "We styled the docs." in message.text
    assert "### Skill: style" in message.text
    assert "Write short sentences." in message.text
    await agent.complete("continue")
    assert [m.role for m in model.requests[3].messages] == ["user", "user"]


async def test_a_finished_answer_over_budget_is_still_a_normal_end(tmp_path: Path) -> None:
    def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse((TextBlock("all done"),), "end_turn", Usage(900, 200), "test")

    agent = Agent(FunctionModel(answer), cwd=tmp_path, token_budget=1000)
    end = (await collect(agent))[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.text) == ("end_turn", "all done")

    def more(event: dict[str, Any]) -> dict[str, Any]:
        return {"decision": "block", "reason": "keep polishing"}

    hooks = HookRunner(HooksConfig.of("Stop", more), cwd=tmp_path)
    agent = Agent(FunctionModel(answer), cwd=tmp_path, token_budget=1000, hooks=hooks)
    end = (await collect(agent))[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.detail, end.turns) == ("token_budget", "keep polishing", 1)


async def test_many_agents_share_one_sim_model_without_mixing_up(tmp_path: Path) -> None:
    model = resolve_model("sim:1ms", tool_calls=[{"name": "Glob", "input": {"pattern": "*"}}])
    agents = [Agent(model, cwd=tmp_path) for _ in range(100)]
    ends = await asyncio.wait_for(
        asyncio.gather(*(agent.complete(f"task {i}") for i, agent in enumerate(agents))), 30
    )
    assert [end.text for end in ends] == [f"task {i}" for i in range(100)]
    assert {(end.reason, end.turns) for end in ends} == {("end_turn", 2)}
