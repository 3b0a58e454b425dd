"""The Skill tool: validation, permissions, inline dispatch and its context modifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skilld.agent.loop import Agent, ToolEnd, TurnEnd
from skilld.agent.models import ModelRequest, ScriptedModel, TextBlock, ToolResultBlock, tool_call
from skilld.agent.session import SessionState
from skilld.agent.tools import ToolContext, TurnContext
from skilld.exceptions import SkillNotFoundError, SkillNotInvocableError
from skilld.hooks import HookRunner, parse_hooks
from skilld.permissions import PermissionEngine, PermissionRequest, PermissionRule
from skilld.skills.registry import SkillRegistry
from skilld.tool import SkillTool, resolve_model_override, skill_context_modifier
from tests.helpers import write_skill


def make_registry(tmp_path: Path, skills: dict[str, str]) -> SkillRegistry:
    root = tmp_path / ".claude" / "skills"
    for name, text in skills.items():
        frontmatter, _, body = text.partition("\n---\n")
        write_skill(root, name, frontmatter, body or "Do it.\n")
    return SkillRegistry(tmp_path, include_packages=False, include_bundled=False)


SKILLS = {
    "review": "description: Review code\n---\nReview $ARGUMENTS carefully.\n",
    "release": "description: Cut a release\ndisable-model-invocation: true\n---\nRelease.\n",
    "echoer": (
        "description: Echo things\nallowed-tools: Bash(echo *)\n---\nUse echo for $ARGUMENTS.\n"
    ),
    "no-bash": "description: No shell\ndisallowed-tools: Bash\n---\nNo shell here.\n",
    "reader": "description: Read only\nallowed-tools: Read, Glob\n---\nOnly read.\n",
    "opus": "description: Bigger model\nmodel: claude-opus-4-1\neffort: high\n---\nThink hard.\n",
    "internal": "description: Model only\nuser-invocable: false\n---\nInternal.\n",
}


@pytest.fixture
def registry(tmp_path: Path) -> SkillRegistry:
    return make_registry(tmp_path, SKILLS)


def last_user_blocks(request: ModelRequest) -> tuple[Any, ...]:
    return request.messages[-1].blocks


# --------------------------------------------------------------------------- validate


async def test_unknown_skills_get_the_close_names(registry: SkillRegistry, tmp_path: Path) -> None:
    tool = SkillTool(registry)
    context = ToolContext(cwd=tmp_path)
    message = await tool.validate_input({"skill": "reveiw"}, context)
    assert message == "Unknown skill: reveiw. Did you mean review?"
    assert await tool.validate_input({"skill": "zzz"}, context) == "Unknown skill: zzz."
    assert await tool.validate_input({"skill": "/review"}, context) is None
    assert await tool.validate_input({"skill": " "}, context) == (
        "Invalid skill format: give a skill name"
    )


async def test_disable_model_invocation_tells_the_model_to_ask_the_user(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    message = await SkillTool(registry).validate_input(
        {"skill": "release"}, ToolContext(cwd=tmp_path)
    )
    assert message is not None
    assert "disable-model-invocation" in message
    assert "Ask the user to run /release" in message


async def test_user_invocation_rules(registry: SkillRegistry) -> None:
    tool = SkillTool(registry)
    assert (await tool.user_skill("/release")).name == "release"  # the user may
    with pytest.raises(SkillNotInvocableError, match="user-invocable"):
        await tool.user_skill("internal")
    with pytest.raises(SkillNotFoundError, match="Did you mean review"):
        await tool.user_skill("reviwe")


def test_the_description_lists_model_invocable_skills(registry: SkillRegistry) -> None:
    description = SkillTool(registry).spec().description
    assert "- review: Review code" in description
    assert "release" not in description


# --------------------------------------------------------------------------- permissions


def test_permission_chain(registry: SkillRegistry, tmp_path: Path) -> None:
    tool = SkillTool(registry)
    context = ToolContext(cwd=tmp_path)
    empty = PermissionEngine(cwd=tmp_path)
    assert tool.check_permissions({"skill": "review"}, context, empty).behavior == "allow"
    asks = tool.check_permissions({"skill": "echoer"}, context, empty)
    assert asks.behavior == "ask"
    assert "allowed-tools" in asks.message
    allow = PermissionEngine([PermissionRule.parse("Skill(echoer)")], cwd=tmp_path)
    assert tool.check_permissions({"skill": "echoer"}, context, allow).behavior == "allow"
    deny = PermissionEngine([PermissionRule.parse("Skill(review)", behavior="deny")], cwd=tmp_path)
    assert tool.check_permissions({"skill": "review"}, context, deny).behavior == "deny"
    granted = ToolContext(cwd=tmp_path, turn=TurnContext(always_allow=("Skill(echoer)",)))
    assert tool.check_permissions({"skill": "echoer"}, granted, empty).behavior == "allow"


def test_a_pinned_version_is_allowed_without_asking_but_deny_still_wins(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    skill = registry.get("echoer")
    assert skill is not None
    tool = SkillTool(registry, trusted_versions=[skill.version])
    context = ToolContext(cwd=tmp_path)
    decision = tool.check_permissions({"skill": "echoer"}, context, PermissionEngine(cwd=tmp_path))
    assert decision.behavior == "allow"
    assert skill.version in decision.message
    deny = PermissionEngine([PermissionRule.parse("Skill(echoer)", behavior="deny")], cwd=tmp_path)
    assert tool.check_permissions({"skill": "echoer"}, context, deny).behavior == "deny"


# --------------------------------------------------------------------------- inline


async def test_inline_content_follows_the_tool_result(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel([tool_call("Skill", {"skill": "review", "args": "main.py"}), "ok"])
    session = SessionState("sess")
    agent = Agent(model, registry=registry, cwd=tmp_path, session=session)
    [e async for e in agent.run("review please")]
    result, content = last_user_blocks(model.requests[1])
    assert isinstance(result, ToolResultBlock)
    assert result.content == "Launching skill: review"
    assert isinstance(content, TextBlock)
    assert "Review main.py carefully." in content.text
    assert content.text.startswith("Base directory for this skill:")
    invoked = session.get("review")
    assert invoked is not None
    assert invoked.content == content.text


async def test_reinvoking_identical_content_adds_a_note(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    call = {"skill": "review", "args": "x"}
    model = ScriptedModel([tool_call("Skill", call), tool_call("Skill", call), "ok"])
    [e async for e in Agent(model, registry=registry, cwd=tmp_path).run("go")]
    second = last_user_blocks(model.requests[2])[1]
    assert "already loaded above with the same content" in second.text


async def test_allowed_tools_pre_approve_for_the_invoking_turn_only(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [
            tool_call("Skill", {"skill": "echoer"}),
            tool_call("Bash", {"command": "echo inside"}),
            "done",
            tool_call("Bash", {"command": "echo later"}),
            "done",
        ]
    )
    allow_skill = PermissionEngine([PermissionRule.parse("Skill(echoer)")], cwd=tmp_path)
    agent = Agent(model, registry=registry, permissions=allow_skill)
    [e async for e in agent.run("first turn")]
    assert last_user_blocks(model.requests[2])[0].content == "inside"
    events = [e async for e in agent.run("second turn")]
    (later,) = [e for e in events if isinstance(e, ToolEnd)]
    assert later.denied
    assert "Permission to use Bash denied" in later.result.content


async def test_a_skill_needing_permission_is_denied_without_a_rule_or_callback(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel([tool_call("Skill", {"skill": "echoer"}), "ok"])
    [e async for e in Agent(model, registry=registry, cwd=tmp_path).run("go")]
    (result,) = last_user_blocks(model.requests[1])
    assert result.is_error
    assert "Skill(echoer)" in result.content


async def test_disallowed_tools_are_removed_while_the_skill_is_active(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [tool_call("Skill", {"skill": "no-bash"}), tool_call("Bash", {"command": "ls"}), "ok"]
    )
    agent = Agent(model, registry=registry, cwd=tmp_path, ask=lambda request: True)
    [e async for e in agent.run("go")]
    assert "Bash" in {t.name for t in model.requests[0].tools}
    assert "Bash" not in {t.name for t in model.requests[1].tools}
    refused = last_user_blocks(model.requests[2])[0]
    assert refused.is_error
    assert "Bash is disallowed while no-bash is active" in refused.content


async def test_strict_mode_makes_allowed_tools_an_allowlist(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    script = [
        tool_call("Skill", {"skill": "reader"}),
        tool_call("Write", {"file_path": "b.txt", "content": "b"}),
        tool_call("Read", {"file_path": "a.txt"}),
        "ok",
    ]
    allow = PermissionEngine([PermissionRule.parse("Skill(reader)")], cwd=tmp_path)
    model = ScriptedModel(script)
    agent = Agent(
        model, registry=registry, permissions=allow, strict_allowed_tools=True, ask=lambda r: True
    )
    [e async for e in agent.run("go")]
    # a Read rule covers every read-only file tool, as in Claude Code
    assert {t.name for t in model.requests[1].tools} == {"Read", "Glob", "Grep"}
    refused = last_user_blocks(model.requests[2])[0]
    assert refused.is_error
    assert "strict mode allows only: Read, Glob" in refused.content
    assert not (tmp_path / "b.txt").exists()
    assert last_user_blocks(model.requests[3])[0].content == "     1\ta"

    # without strict mode the same skill only pre-approves; Write is asked about
    model = ScriptedModel(script)
    agent = Agent(model, registry=registry, permissions=allow, ask=lambda r: True)
    [e async for e in agent.run("go")]
    assert (tmp_path / "b.txt").read_text() == "b"


async def test_model_and_effort_overrides_keep_the_context_suffix(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [tool_call("Skill", {"skill": "opus"}), "ok"], name="anthropic:claude-sonnet-4-5[1m]"
    )
    agent = Agent(model, registry=registry, cwd=tmp_path, effort="low")
    [e async for e in agent.run("go")]
    assert (model.requests[0].model, model.requests[0].effort) == (None, "low")
    assert (model.requests[1].model, model.requests[1].effort) == ("claude-opus-4-1[1m]", "high")


# --------------------------------------------------------------------------- the modifier


def test_the_modifier_layers_deduplicates_and_never_mutates(registry: SkillRegistry) -> None:
    echoer, reader, no_bash = (registry.get(n) for n in ("echoer", "reader", "no-bash"))
    assert echoer is not None
    assert reader is not None
    assert no_bash is not None
    base = TurnContext(always_allow=("Read",))
    first = skill_context_modifier(echoer)(base)
    second = skill_context_modifier(reader)(first)
    third = skill_context_modifier(echoer)(skill_context_modifier(no_bash)(second))
    assert base == TurnContext(always_allow=("Read",))
    assert first.always_allow == ("Read", "Bash(echo *)")
    assert second.always_allow == ("Read", "Bash(echo *)", "Glob")
    assert third.always_allow == second.always_allow
    assert third.disallowed_tools == ("Bash",)
    assert third.active_skills == ("echoer", "reader", "no-bash", "echoer")
    assert third.allowlist is None
    strict = skill_context_modifier(reader, strict=True)(base)
    assert strict.allowlist == ("Read", "Glob")


@pytest.mark.parametrize(
    ("skill_model", "current", "expected"),
    [
        ("opus", "claude-sonnet-4-5[1m]", "opus[1m]"),
        ("opus", "anthropic:claude-sonnet-4-5[1M]", "opus[1m]"),
        ("opus[1m]", "claude-sonnet-4-5", "opus[1m]"),
        ("opus", "claude-sonnet-4-5", "opus"),
        ("opus", None, "opus"),
    ],
)
def test_resolve_model_override(skill_model: str, current: str | None, expected: str) -> None:
    assert resolve_model_override(skill_model, current) == expected


async def test_a_skill_that_needs_permission_goes_to_the_ask_callback(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    asked: list[PermissionRequest] = []

    def ask(request: PermissionRequest) -> bool:
        asked.append(request)
        return True

    model = ScriptedModel([tool_call("Skill", {"skill": "echoer"}), "ok"])
    [e async for e in Agent(model, registry=registry, cwd=tmp_path, ask=ask).run("go")]
    (request,) = asked
    assert (request.tool, dict(request.tool_input)) == ("Skill", {"skill": "echoer"})
    assert "Skill(echoer)" in request.suggestions
    assert last_user_blocks(model.requests[1])[0].content == "Launching skill: echoer"


async def test_the_user_runs_an_inline_skill_for_one_turn(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    model = ScriptedModel([tool_call("Bash", {"command": "echo user-run"}), "done"])
    agent = Agent(model, registry=registry, cwd=tmp_path)
    events = [e async for e in agent.run_skill("echoer", "the logs")]
    first = model.requests[0].messages[0]
    assert "Use echo for the logs." in first.text
    assert last_user_blocks(model.requests[1])[0].content == "user-run"  # pre-approved
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert end.text == "done"


async def test_a_user_prompt_expansion_hook_can_block_a_slash_command(
    registry: SkillRegistry, tmp_path: Path
) -> None:
    hook = tmp_path / "no-release.sh"
    hook.write_text("#!/bin/sh\necho 'releases are frozen' >&2\nexit 2\n")
    hook.chmod(0o755)
    config = {"UserPromptExpansion": [{"matcher": "release", "hooks": [
        {"type": "command", "command": str(hook)}
    ]}]}  # fmt: skip
    hooks = HookRunner(parse_hooks(config), cwd=tmp_path)
    model = ScriptedModel(["ok"])
    agent = Agent(model, registry=registry, cwd=tmp_path, hooks=hooks)
    events = [e async for e in agent.run_skill("release")]
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.detail) == ("prompt_blocked", "releases are frozen")
    assert model.requests == []
    assert [e async for e in agent.run_skill("review", "x")][-1].reason == "end_turn"
