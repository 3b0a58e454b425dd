"""The loop with hooks as real shell scripts: blocking, rewriting input, feedback, Stop."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

from skilld.agent.loop import Agent, ToolEnd, TurnEnd, UserTurn
from skilld.agent.models import ModelRequest, ScriptedModel, ToolResultBlock, tool_call
from skilld.hooks import HookRunner, parse_hooks
from skilld.permissions import PermissionEngine, PermissionRule


def script(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def python_script(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return f"{sys.executable} {path}"


def runner(tmp_path: Path, event: str, command: str, matcher: str | None = None) -> HookRunner:
    data: dict[str, Any] = {
        event: [{"matcher": matcher, "hooks": [{"type": "command", "command": command}]}]
    }
    return HookRunner(parse_hooks(data), cwd=tmp_path, session_id="s1")


def allow_all_bash(tmp_path: Path) -> PermissionEngine:
    return PermissionEngine([PermissionRule.parse("Bash")], cwd=tmp_path)


def first_result(request: ModelRequest) -> ToolResultBlock:
    block = request.messages[-1].blocks[0]
    assert isinstance(block, ToolResultBlock)
    return block


async def test_a_pretooluse_script_exiting_2_blocks_the_tool(tmp_path: Path) -> None:
    marker = tmp_path / "deleted"
    seen = tmp_path / "seen.json"
    guard = script(
        tmp_path,
        "guard.sh",
        f'cat > "{seen}"\n'
        'if grep -q "rm -rf" "'
        + str(seen)
        + '"; then echo "no recursive deletes" >&2; exit 2; fi\n'
        "exit 0\n",
    )
    model = ScriptedModel(
        [
            tool_call("Bash", {"command": f"rm -rf /nowhere; touch {marker}"}, id="t1"),
            tool_call("Bash", {"command": "echo fine"}, id="t2"),
            "ok",
        ]
    )
    agent = Agent(
        model,
        permissions=allow_all_bash(tmp_path),
        hooks=runner(tmp_path, "PreToolUse", guard, matcher="Bash"),
    )
    events = [e async for e in agent.run("clean up")]
    ends = [e for e in events if isinstance(e, ToolEnd)]
    assert [e.denied for e in ends] == [True, False]
    blocked = first_result(model.requests[1])
    assert blocked.is_error
    assert "PreToolUse hook denied Bash: no recursive deletes" in blocked.content
    assert not marker.exists()
    assert first_result(model.requests[2]).content == "fine"
    payload = json.loads(seen.read_text())
    assert payload["hook_event_name"] == "PreToolUse"
    assert payload["tool_name"] == "Bash"
    assert payload["tool_input"] == {"command": "echo fine"}


async def test_a_hook_rewrites_the_input_before_the_permission_check(tmp_path: Path) -> None:
    rewrite = python_script(
        tmp_path,
        "rewrite.py",
        "import json, sys\n"
        "event = json.load(sys.stdin)\n"
        "command = event['tool_input']['command'].replace('original', 'rewritten')\n"
        "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse',\n"
        "    'updatedInput': {'command': command}}}))\n",
    )
    model = ScriptedModel([tool_call("Bash", {"command": "echo original"}), "ok"])
    engine = PermissionEngine([PermissionRule.parse("Bash(echo rewritten)")], cwd=tmp_path)
    agent = Agent(model, permissions=engine, hooks=runner(tmp_path, "PreToolUse", rewrite))
    [e async for e in agent.run("go")]
    assert first_result(model.requests[1]).content == "rewritten"


async def test_a_hook_allow_skips_the_question_but_not_a_deny_rule(tmp_path: Path) -> None:
    allow = script(
        tmp_path,
        "allow.sh",
        'echo \'{"hookSpecificOutput": {"hookEventName": "PreToolUse", '
        '"permissionDecision": "allow"}}\'\n',
    )
    hooks = runner(tmp_path, "PreToolUse", allow)
    model = ScriptedModel([tool_call("Bash", {"command": "echo yes"}), "ok"])
    [e async for e in Agent(model, cwd=tmp_path, hooks=hooks).run("go")]
    assert first_result(model.requests[1]).content == "yes"

    deny = PermissionEngine([PermissionRule.parse("Bash(echo *)", behavior="deny")], cwd=tmp_path)
    model = ScriptedModel([tool_call("Bash", {"command": "echo yes"}), "ok"])
    [e async for e in Agent(model, permissions=deny, hooks=hooks).run("go")]
    assert first_result(model.requests[1]).is_error


async def test_posttooluse_feedback_reaches_the_model(tmp_path: Path) -> None:
    review = script(tmp_path, "review.sh", "echo 'tests are failing now' >&2\nexit 2\n")
    model = ScriptedModel([tool_call("Bash", {"command": "echo built"}), "ok"])
    agent = Agent(
        model,
        permissions=allow_all_bash(tmp_path),
        hooks=runner(tmp_path, "PostToolUse", review, matcher="Bash"),
    )
    [e async for e in agent.run("go")]
    blocks = model.requests[1].messages[-1].blocks
    assert first_result(model.requests[1]).content == "built"
    texts = [getattr(b, "text", "") for b in blocks[1:]]
    assert texts == ["PostToolUse hook feedback: tests are failing now"]


async def test_a_stop_hook_keeps_the_agent_going_once(tmp_path: Path) -> None:
    keep_going = python_script(
        tmp_path,
        "stop.py",
        "import json, sys\n"
        "event = json.load(sys.stdin)\n"
        "if not event['stop_hook_active']:\n"
        "    print('also update the changelog', file=sys.stderr)\n"
        "    sys.exit(2)\n",
    )
    model = ScriptedModel(["first answer", "changelog updated"])
    agent = Agent(model, cwd=tmp_path, hooks=runner(tmp_path, "Stop", keep_going))
    events = [e async for e in agent.run("go")]
    notes = [e.message.text for e in events if isinstance(e, UserTurn)]
    assert notes == ["also update the changelog"]
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.text, end.turns) == ("end_turn", "changelog updated", 2)


async def test_user_prompt_submit_can_block_a_prompt(tmp_path: Path) -> None:
    block = script(tmp_path, "block.sh", "echo 'no secrets in prompts' >&2\nexit 2\n")
    model = ScriptedModel([])
    agent = Agent(model, cwd=tmp_path, hooks=runner(tmp_path, "UserPromptSubmit", block))
    events = [e async for e in agent.run("my password is hunter2")]
    assert len(events) == 1
    end = events[0]
    assert isinstance(end, TurnEnd)
    assert end.reason == "prompt_blocked"
    assert end.detail == "no secrets in prompts"
    assert model.requests == []
    assert agent.messages == []


async def test_a_permission_request_hook_answers_what_would_be_asked(tmp_path: Path) -> None:
    approve = script(
        tmp_path,
        "approve.sh",
        'echo \'{"hookSpecificOutput": {"hookEventName": "PermissionRequest", '
        '"decision": {"behavior": "allow"}}}\'\n',
    )
    asked: list[str] = []
    model = ScriptedModel([tool_call("Bash", {"command": "echo approved"}), "ok"])
    agent = Agent(
        model,
        cwd=tmp_path,
        hooks=runner(tmp_path, "PermissionRequest", approve, matcher="Bash"),
        ask=lambda request: asked.append(request.tool) is not None,
    )
    [e async for e in agent.run("go")]
    assert first_result(model.requests[1]).content == "approved"
    assert asked == []  # the hook answered; nobody was asked


async def test_continue_false_stops_the_turn_after_the_tool_results(tmp_path: Path) -> None:
    halt = script(
        tmp_path, "halt.sh", 'echo \'{"continue": false, "stopReason": "budget review"}\'\n'
    )
    model = ScriptedModel([tool_call("Glob", {"pattern": "*"}), "never asked"])
    agent = Agent(model, cwd=tmp_path, hooks=runner(tmp_path, "PostToolUse", halt))
    events = [e async for e in agent.run("go")]
    end = events[-1]
    assert isinstance(end, TurnEnd)
    assert (end.reason, end.detail) == ("hook_stopped", "budget review")
    assert len(model.requests) == 1
    assert isinstance(agent.messages[-1].blocks[0], ToolResultBlock)
