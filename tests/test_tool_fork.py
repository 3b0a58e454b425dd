"""Fork skills: a sub-agent with its own id, type, model and effort, released when it ends."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from skilld.agent.loop import (
    Agent,
    AgentType,
    SubagentProgress,
    ToolEnd,
    ToolStart,
    TurnEnd,
    select_agent_type,
)
from skilld.agent.models import FunctionModel, ModelRequest, ToolResultBlock, tool_call
from skilld.agent.models.testing import ScriptItem
from skilld.agent.session import SessionState
from skilld.exceptions import ModelError
from skilld.hooks import HookRunner
from skilld.permissions import PermissionEngine, PermissionRule
from skilld.skills.registry import SkillRegistry
from tests.helpers import write_skill

PARENT = "You are the parent."


def registry_with(tmp_path: Path, name: str, frontmatter: str, body: str) -> SkillRegistry:
    write_skill(tmp_path / ".claude" / "skills", name, frontmatter, body)
    return SkillRegistry(tmp_path, include_packages=False, include_bundled=False)


def parent_result(request: ModelRequest) -> ToolResultBlock:
    block = request.messages[-1].blocks[0]
    assert isinstance(block, ToolResultBlock)
    return block


class TwoAgents:
    """A model answering the parent and the sub-agent from two scripts (told apart by the
    system prompt), recording what the sub-agent saw."""

    def __init__(self, parent: list[ScriptItem], child: list[ScriptItem]) -> None:
        self.parent = parent
        self.child = child
        self.child_requests: list[ModelRequest] = []
        self.parent_requests: list[ModelRequest] = []

    def __call__(self, request: ModelRequest) -> ScriptItem:
        if request.system == PARENT:
            self.parent_requests.append(request)
            return self.parent.pop(0)
        self.child_requests.append(request)
        item = self.child.pop(0)
        return item(request) if callable(item) else item


async def test_a_fork_runs_as_a_sub_agent_and_returns_its_final_text(tmp_path: Path) -> None:
    registry = registry_with(
        tmp_path,
        "survey",
        "description: Survey the tree\ncontext: fork\nagent: Explore\neffort: low",
        "Find every Python file about $ARGUMENTS.\n",
    )
    (tmp_path / "a.py").write_text("x = 1\n")
    script = TwoAgents(
        parent=[tool_call("Skill", {"skill": "survey", "args": "parsing"}), "Summarised."],
        child=[tool_call("Glob", {"pattern": "*.py"}), "Found a.py."],
    )
    session = SessionState("s")
    agent = Agent(FunctionModel(script), registry=registry, cwd=tmp_path, system=PARENT)
    agent.session = session
    events = [e async for e in agent.run("survey parsing")]

    progress = [e for e in events if isinstance(e, SubagentProgress)]
    assert [type(p.event) for p in progress] == [ToolStart, ToolEnd, TurnEnd]
    fork_id = progress[0].agent_id
    assert fork_id.startswith("fork-")
    assert {p.agent_type for p in progress} == {"Explore"}
    assert {p.skill for p in progress} == {"survey"}
    assert all(p.event.agent_id == fork_id for p in progress)

    first = script.child_requests[0]
    assert "Find every Python file about parsing." in first.messages[0].text
    assert first.effort == "low"
    assert {t.name for t in first.tools} == {"Read", "Glob", "Grep", "Bash"}
    assert parent_result(script.parent_requests[1]).content == "Found a.py."
    assert session.agents() == set()  # the fork's entries were released
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.text == "Summarised."


async def test_a_fork_with_a_model_uri_uses_that_backend(tmp_path: Path) -> None:
    registry = registry_with(
        tmp_path,
        "echo-fork",
        "description: Echo\ncontext: fork\nmodel: sim:0",
        "Say exactly this back.\n",
    )
    script = TwoAgents(parent=[tool_call("Skill", {"skill": "echo-fork"}), "ok"], child=[])
    agent = Agent(FunctionModel(script), registry=registry, cwd=tmp_path, system=PARENT)
    [e async for e in agent.run("go")]
    # the sim model answers with the last user message: the expanded skill
    assert "Say exactly this back." in parent_result(script.parent_requests[1]).content
    assert script.child_requests == []


def test_agent_type_fallback_chain() -> None:
    general = AgentType("general-purpose")
    explore = AgentType("Explore")
    custom = AgentType("custom")
    types = {"Explore": explore, "general-purpose": general}
    assert select_agent_type("Explore", types) is explore
    assert select_agent_type("missing", types) is general
    assert select_agent_type(None, types) is general
    assert select_agent_type("missing", {"custom": custom, "Explore": explore}) is custom
    with pytest.raises(ValueError, match="no agent types"):
        select_agent_type("x", {})


async def test_an_unknown_agent_type_falls_back_to_general_purpose(tmp_path: Path) -> None:
    registry = registry_with(
        tmp_path, "f", "description: F\ncontext: fork\nagent: nonexistent", "Task.\n"
    )
    script = TwoAgents(parent=[tool_call("Skill", {"skill": "f"}), "ok"], child=["done"])
    agent = Agent(FunctionModel(script), registry=registry, cwd=tmp_path, system=PARENT)
    events = [e async for e in agent.run("go")]
    (progress,) = [e for e in events if isinstance(e, SubagentProgress)]
    assert progress.agent_type == "general-purpose"
    assert (
        script.child_requests[0].system
        == Agent("test:echo").agent_types["general-purpose"].system_prompt
    )


async def test_a_fork_that_raises_still_releases_its_state(tmp_path: Path) -> None:
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    registry = registry_with(
        tmp_path,
        "doomed",
        "description: Fails\ncontext: fork\nhooks:\n  PreToolUse:\n    - hooks:\n"
        f"        - type: command\n          command: {hook}",
        "Try.\n",
    )
    session = SessionState("s")
    hooks = HookRunner(cwd=tmp_path)
    during: dict[str, Any] = {}

    def failing_child(request: ModelRequest) -> ScriptItem:
        during["agents"] = session.agents()
        during["registrations"] = [r.agent_id for r in hooks.registrations()]
        raise ModelError("the provider fell over")

    script = TwoAgents(
        parent=[tool_call("Skill", {"skill": "doomed"}), "recovered"], child=[failing_child]
    )
    allow = PermissionEngine([PermissionRule.parse("Skill(doomed)")], cwd=tmp_path)
    agent = Agent(
        FunctionModel(script),
        registry=registry,
        permissions=allow,
        hooks=hooks,
        session=session,
        system=PARENT,
    )
    events = [e async for e in agent.run("go")]

    (fork_id,) = during["agents"]
    assert fork_id.startswith("fork-")
    assert during["registrations"] == [fork_id]
    assert session.agents() == set()
    assert hooks.registrations() == ()
    result = parent_result(script.parent_requests[1])
    assert result.is_error
    assert result.content == "Skill failed: ModelError: the provider fell over"
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.text == "recovered"


async def test_the_user_runs_a_fork_skill_directly(tmp_path: Path) -> None:
    registry = registry_with(
        tmp_path, "direct", "description: D\ncontext: fork", "Report on $ARGUMENTS.\n"
    )
    script = TwoAgents(parent=[], child=[tool_call("Glob", {"pattern": "*"}), "All fine."])
    agent = Agent(FunctionModel(script), registry=registry, cwd=tmp_path, system=PARENT)
    events = [e async for e in agent.run_skill("direct", "the weather")]
    assert "Report on the weather." in script.child_requests[0].messages[0].text
    assert sum(isinstance(e, SubagentProgress) for e in events) == 3
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.text) == ("end_turn", "All fine.")
    assert [m.text for m in agent.messages] == ["/direct the weather", "All fine."]


async def test_the_agent_type_model_applies_with_the_context_suffix(tmp_path: Path) -> None:
    registry = registry_with(
        tmp_path, "quick", "description: Q\ncontext: fork\nagent: fast", "Go.\n"
    )
    script = TwoAgents(parent=[tool_call("Skill", {"skill": "quick"}), "ok"], child=["done"])
    types = {"fast": AgentType("fast", system_prompt="Be fast.", model="haiku")}
    model = FunctionModel(script, name="anthropic:claude-sonnet-4-5[1m]")
    agent = Agent(model, registry=registry, cwd=tmp_path, system=PARENT, agent_types=types)
    [e async for e in agent.run("go")]
    (child,) = script.child_requests
    assert (child.system, child.model) == ("Be fast.", "haiku[1m]")
    assert script.parent_requests[0].model is None
