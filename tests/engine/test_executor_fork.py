"""Fork tasks run through the agent: the Skill tool's sub-agent, with tools, events, usage,
cancellation and clean-up; the shortcut for a first answer without tools changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from skilld.agent.loop import DEFAULT_AGENT_TYPES
from skilld.agent.models.base import ModelRequest, Usage
from skilld.agent.models.testing import FunctionModel, ScriptedModel, tool_call
from skilld.agent.tools import ToolContext
from skilld.engine.executor import SkillExecutor
from skilld.engine.task import SkillTask
from skilld.exceptions import ModelAPIError
from skilld.permissions import PermissionEngine, PermissionRule
from tests.helpers import write_skill


class Events:
    """An event sink that keeps what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, type: str, data: dict[str, Any] | None = None) -> None:
        self.seen.append((type, dict(data or {})))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    skills = tmp_path / ".claude" / "skills"
    write_skill(
        skills, "greet", "name: greet\ndescription: Greets\ncontext: fork", "Hi $ARGUMENTS!\n"
    )
    write_skill(
        skills,
        "deep",
        "name: deep\ndescription: Thinks hard\ncontext: fork\neffort: high\nagent: Explore",
        "Look into $ARGUMENTS.\n",
    )
    write_skill(
        skills,
        "noted",
        "name: noted\ndescription: Takes notes\ncontext: fork\nallowed-tools: note",
        "Note $ARGUMENTS in session ${CLAUDE_SESSION_ID}.\n",
    )
    return tmp_path


def note_tool(seen: list[Any]) -> Any:
    async def note(text: str, context: ToolContext) -> str:
        """Write a note."""
        seen.append(context)
        return f"noted {text}"

    return note


def executor(project: Path, **options: Any) -> SkillExecutor:
    options.setdefault("permissions", PermissionEngine(cwd=project))
    return SkillExecutor(cwd=project, **options)


async def run(ex: SkillExecutor, task: SkillTask, events: Events | None = None) -> Any:
    return await ex.execute(task, events=events or Events())


async def test_fork_runs_as_a_general_purpose_subagent_with_tools(project: Path) -> None:
    model = FunctionModel(lambda request: "the answer")
    ex = executor(project, default_model="sim:0")
    ex._models["sim:0"] = model  # the default URI, answered by a recording model
    outcome = await run(ex, SkillTask(skill="greet", args="you", mode="fork"))
    assert outcome.output == "the answer"
    [request] = model.requests
    assert request.system == DEFAULT_AGENT_TYPES["general-purpose"].system_prompt
    assert {"Bash", "Read", "Skill"} <= {tool.name for tool in request.tools}
    assert request.messages[-1].text.endswith("Hi you!\n")
    assert outcome.usage.input_tokens > 0
    assert outcome.usage.output_tokens > 0


def recording(answer: Any) -> FunctionModel:
    return FunctionModel(answer)


@pytest.mark.parametrize("skill", ["greet", "deep", "noted"])
async def test_shortcut_sends_the_agents_own_first_request(project: Path, skill: str) -> None:
    results = {}
    for shortcut in (True, False):
        model = recording(lambda request: "done")
        ex = executor(project, default_model="sim:0", tools=[note_tool([])])
        ex._models["sim:0"] = model
        ex.subagents.shortcut = shortcut
        task = SkillTask(id="t", skill=skill, args="x", mode="fork", session_id="s1")
        outcome = await run(ex, task)
        results[shortcut] = (outcome, model.requests)
        assert ex.subagents.shortcuts == (1 if shortcut else 0)
    (fast, fast_requests), (full, full_requests) = results[True], results[False]
    assert fast_requests == full_requests
    assert (fast.output, fast.usage, fast.skill_version) == (
        full.output,
        full.usage,
        full.skill_version,
    )


def tool_then_answer() -> ScriptedModel:
    return ScriptedModel([tool_call("note", {"text": "hello"}), "all noted"])


@pytest.mark.parametrize("shortcut", [True, False])
async def test_tool_uses_become_task_events_and_usage_is_summed(
    project: Path, shortcut: bool
) -> None:
    model = tool_then_answer()
    ex = executor(project, default_model="sim:0", tools=[note_tool([])])
    ex._models["sim:0"] = model
    ex.subagents.shortcut = shortcut
    events = Events()
    outcome = await run(ex, SkillTask(skill="noted", args="it", mode="fork"), events)
    assert outcome.output == "all noted"
    assert len(model.requests) == 2  # the shortcut's answer is reused, never asked twice
    total = Usage()
    for request, item in zip(model.requests, model.script, strict=True):
        from skilld.agent.models.testing import as_response

        total = total + as_response(item, request).usage
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (
        total.input_tokens,
        total.output_tokens,
    )
    [(start, used), (end, finished)] = events.seen
    assert (start, used["tool"], used["input"], used["skill"]) == (
        "tool_use",
        "note",
        {"text": "hello"},
        "noted",
    )
    assert (end, finished["tool"], finished["result"], finished["is_error"]) == (
        "progress",
        "note",
        "noted hello",
        False,
    )
    assert used["tool_use_id"] == finished["tool_use_id"]


async def test_a_tool_use_outside_the_rules_is_denied_and_reported(project: Path) -> None:
    model = ScriptedModel([tool_call("Bash", {"command": "touch pwned"}), "gave up"])
    ex = executor(project, default_model="sim:0")
    ex._models["sim:0"] = model
    events = Events()
    outcome = await run(ex, SkillTask(skill="greet", mode="fork"), events)
    assert outcome.output == "gave up"
    assert not (project / "pwned").exists()
    kinds = [(kind, data.get("denied")) for kind, data in events.seen]
    assert kinds == [("tool_use", None), ("progress", True)]


async def test_long_tool_input_is_cut_in_the_event(project: Path) -> None:
    model = ScriptedModel([tool_call("note", {"text": "x" * 5000}), "ok"])
    ex = executor(project, default_model="sim:0", tools=[note_tool([])])
    ex._models["sim:0"] = model
    events = Events()
    await run(ex, SkillTask(skill="noted", mode="fork"), events)
    text = events.seen[0][1]["input"]["text"]
    assert len(text) < 600
    assert text.endswith("(5000 characters)")


async def test_state_is_released_when_the_model_fails(project: Path) -> None:
    contexts: list[ToolContext] = []
    model = ScriptedModel(
        [tool_call("note", {"text": "a"}), ModelAPIError("overloaded", status=529)]
    )
    ex = executor(project, default_model="sim:0", tools=[note_tool(contexts)])
    ex._models["sim:0"] = model
    with pytest.raises(ModelAPIError):
        await run(ex, SkillTask(skill="noted", mode="fork"))
    [context] = contexts
    session = context.agent.session
    assert session.agents() == set()  # the fork's invocation was released
    assert ex.subagents.active == {}


async def test_cancelling_stops_a_fork_inside_its_tool_and_releases_it(project: Path) -> None:
    contexts: list[ToolContext] = []
    started = asyncio.Event()
    stopped = asyncio.Event()

    async def wait_forever(context: ToolContext) -> str:
        """Never returns."""
        contexts.append(context)
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()
        return "unreachable"

    model = ScriptedModel([tool_call("wait_forever", {}), "never"])
    ex = executor(project, default_model="sim:0", tools=[wait_forever])
    ex._models["sim:0"] = model
    running = asyncio.create_task(run(ex, SkillTask(id="c", skill="greet", mode="fork")))
    await asyncio.wait_for(started.wait(), 5)
    assert set(ex.subagents.active) == {"c"}
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert stopped.is_set()
    assert contexts[0].agent.session.agents() == set()
    assert ex.subagents.active == {}
    assert len(model.requests) == 1


async def test_task_model_wins_over_the_skills_model(tmp_path: Path) -> None:
    skills = tmp_path / ".claude" / "skills"
    write_skill(skills, "pinned", "name: pinned\ndescription: d\ncontext: fork\nmodel: sim:0", "Hi")
    write_skill(skills, "named", "name: named\ndescription: d\ncontext: fork\nmodel: haiku", "Hi")
    ex = executor(tmp_path, default_model="sim:5s")
    skill = ex.registry.get("pinned")
    assert skill is not None
    assert ex.model(SkillTask(skill="pinned", mode="fork"), skill).name == "sim:0"
    assert ex.model(SkillTask(skill="pinned", mode="fork", model="sim:1ms"), skill).name == (
        "sim:1ms"
    )
    model = FunctionModel(lambda request: "ok")
    ex._models["sim:5s"] = model
    ex._models["sim:1ms"] = model
    await run(ex, SkillTask(skill="named", mode="fork"))
    await run(ex, SkillTask(skill="named", mode="fork", model="sim:1ms"))
    # the skill's model name is a request override unless the task chose the model
    assert [request.model for request in model.requests] == ["haiku", None]


async def test_inline_shell_of_a_fork_runs_once(project: Path) -> None:
    skills = project / ".claude" / "skills"
    log = project / "runs.log"
    write_skill(
        skills,
        "effect",
        "name: effect\ndescription: d\ncontext: fork\nallowed-tools: Bash(echo:*)",
        f"Ran: !`echo $ARGUMENTS >> {log}`\n",
    )
    model = ScriptedModel([tool_call("note", {"text": "a"}), "done"])
    ex = executor(project, default_model="sim:0", tools=[note_tool([])])
    ex._models["sim:0"] = model
    outcome = await run(ex, SkillTask(skill="effect", args="one", mode="fork"))
    assert outcome.output == "done"
    assert log.read_text() == "one\n"


async def test_fork_events_reach_the_store_through_a_worker(project: Path) -> None:
    from skilld.engine.brokers import open_broker
    from skilld.engine.operations import submit
    from skilld.engine.stores import open_store
    from skilld.engine.task import TaskStatus
    from skilld.engine.worker import Worker

    ex = executor(project, default_model="sim:0", tools=[note_tool([])])
    ex._models["sim:0"] = tool_then_answer()
    task = SkillTask(skill="noted", mode="fork")
    broker, store = open_broker("memory://"), open_store("memory://")
    async with broker, store, Worker(broker, store, ex, heartbeat_s=0):
        await submit(broker, store, task)
        result = await store.wait(task.id, 5)
        events = [event.type for event in await store.events(task.id)]
    assert result is not None
    assert result.status is TaskStatus.SUCCEEDED
    assert result.output == "all noted"
    assert result.usage.input_tokens > 0
    assert events.index("started") < events.index("tool_use") < events.index("progress")
    assert events[-1] == "finished"


def test_request_type_is_what_the_loop_sends() -> None:
    # The shortcut compares requests field by field; a new field must join that check.
    assert set(ModelRequest.__dataclass_fields__) == {
        "messages",
        "system",
        "tools",
        "max_tokens",
        "effort",
        "model",
    }


@pytest.mark.parametrize("shortcut", [True, False])
async def test_a_fork_that_forks_reports_both_and_sums_their_usage(
    project: Path, shortcut: bool
) -> None:
    skills = project / ".claude" / "skills"
    write_skill(skills, "outer", "name: outer\ndescription: d\ncontext: fork", "Outer task\n")
    write_skill(
        skills,
        "inner",
        "name: inner\ndescription: d\ncontext: fork\nallowed-tools: note",
        "Inner task\n",
    )
    model = ScriptedModel(
        [
            tool_call("Skill", {"skill": "inner"}),  # the outer sub-agent forks inner
            tool_call("note", {"text": "deep"}),  # the inner sub-agent takes a note
            "inner done",
            "outer done",
        ]
    )
    ex = executor(
        project,
        default_model="sim:0",
        tools=[note_tool([])],
        permissions=PermissionEngine([PermissionRule.parse("Skill(inner)")], cwd=project),
    )
    ex._models["sim:0"] = model
    ex.subagents.shortcut = shortcut
    events = Events()
    outcome = await run(ex, SkillTask(skill="outer", mode="fork"), events)
    assert outcome.output == "outer done"
    seen = [(kind, data["tool"], data["skill"]) for kind, data in events.seen]
    assert seen == [
        ("tool_use", "Skill", "outer"),
        ("tool_use", "note", "inner"),
        ("progress", "note", "inner"),
        ("progress", "Skill", "outer"),
    ]
    assert events.seen[1][1]["agent_id"] != events.seen[0][1]["agent_id"]
    from skilld.agent.models.testing import as_response

    spent = [
        as_response(item, request).usage
        for item, request in zip(model.script, model.requests, strict=True)
    ]
    assert outcome.usage.input_tokens == sum(u.input_tokens for u in spent)
    assert outcome.usage.output_tokens == sum(u.output_tokens for u in spent)


async def test_the_shortcut_offers_skills_added_by_a_reload(project: Path) -> None:
    model = FunctionModel(lambda request: "ok")
    ex = executor(project, default_model="sim:0")
    ex._models["sim:0"] = model
    await run(ex, SkillTask(skill="greet", mode="fork"))
    write_skill(
        project / ".claude" / "skills", "fresh", "name: fresh\ndescription: Brand new", "New\n"
    )
    ex.registry.reload()  # type: ignore[attr-defined]
    await run(ex, SkillTask(skill="greet", mode="fork"))
    listings = [
        next(tool.description for tool in request.tools if tool.name == "Skill")
        for request in model.requests
    ]
    assert "fresh" not in listings[0]
    assert "fresh: Brand new" in listings[1]
    assert ex.subagents.shortcuts == 2


async def test_a_primed_model_asks_the_real_one_when_the_request_differs() -> None:
    from skilld.agent.models.base import Message
    from skilld.engine.fork import _Primed

    real = FunctionModel(lambda request: "asked")
    first = ModelRequest(messages=(Message.user("one"),))
    primed = _Primed(real, first, await FunctionModel(lambda r: "primed").complete(first))
    other = ModelRequest(messages=(Message.user("two"),))
    assert (await primed.complete(other)).text == "asked"  # never the answer to another request
    assert (await primed.complete(first)).text == "asked"  # and the primed answer is used once
    assert primed.name == real.name


@pytest.mark.parametrize("shortcut", [True, False])
async def test_a_fork_out_of_turns_says_so_in_its_output(project: Path, shortcut: bool) -> None:
    model = ScriptedModel([tool_call("note", {"text": "a"})])
    ex = executor(project, default_model="sim:0", tools=[note_tool([])], max_turns=1)
    ex._models["sim:0"] = model
    ex.subagents.shortcut = shortcut
    events = Events()
    outcome = await run(ex, SkillTask(skill="noted", mode="fork"), events)
    assert outcome.output == (
        "(the sub-agent ended without a final message)\n\n[sub-agent stopped: max_turns]"
    )
    assert [kind for kind, _ in events.seen] == ["tool_use", "progress"]
    assert len(model.requests) == 1


async def test_a_fork_works_in_the_registrys_project_under_its_settings(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """As ``skilld worker --cwd PROJECT`` builds it: a registry for the project and no
    ``cwd=``; the fork's tools run there, under the project's settings files."""
    from skilld.skills.registry import SkillRegistry

    (project / ".claude" / "settings.json").write_text(
        '{"permissions": {"allow": ["Bash(pwd)"]}}', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    model = ScriptedModel([tool_call("Bash", {"command": "pwd"}), "done"])
    ex = SkillExecutor(SkillRegistry(project, include_packages=False), default_model="sim:0")
    ex._models["sim:0"] = model
    events = Events()
    outcome = await run(ex, SkillTask(skill="greet", mode="fork"), events)
    assert outcome.output == "done"
    [_, (kind, ended)] = events.seen
    assert (kind, ended["denied"], ended["is_error"]) == ("progress", False, False)
    assert ended["result"].strip() == str(project.resolve())
