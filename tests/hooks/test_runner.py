"""The runner with real shell scripts: stdin JSON, exit codes, JSON answers, timeouts,
parallelism, de-duplication, environment, Python hooks and session-scoped registration."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from skilld.exceptions import HookConfigError
from skilld.hooks import HookEvent, HookRunner, HooksConfig, PythonHook, parse_hooks
from skilld.skills.loader import skill_from_text
from skilld.skills.model import LoadedFrom, Source

PRE = HookEvent.PRE_TOOL_USE


def script(folder: Path, name: str, body: str) -> str:
    """Write an executable shell script and return the command that runs it."""
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def python_script(folder: Path, name: str, body: str) -> str:
    """A Python script run by this interpreter (for hooks that rewrite JSON)."""
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return f"{sys.executable} {path}"


def config(event: str, *commands: str, matcher: str | None = None, **extra: Any) -> HooksConfig:
    hooks = [{"type": "command", "command": c, **extra} for c in commands]
    return parse_hooks({event: [{"matcher": matcher, "hooks": hooks}]})


async def test_the_event_arrives_as_json_on_stdin(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    command = script(tmp_path, "record.sh", f'cat > "{seen}"\n')
    runner = HookRunner(config("PreToolUse", command), session_id="s-1", cwd=tmp_path)
    outcome = await runner.run(
        PRE, tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="t1", agent_id="a-7"
    )
    assert outcome.runs[0].status == "success"
    assert json.loads(seen.read_text()) == {
        "session_id": "s-1",
        "transcript_path": None,
        "cwd": str(tmp_path),
        "permission_mode": "default",
        "agent_id": "a-7",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_use_id": "t1",
        "hook_event_name": "PreToolUse",
    }


async def test_exit_2_blocks_with_stderr_as_the_reason(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        "no-rm.sh",
        'input=$(cat)\ncase "$input" in\n  *"rm -rf"*) echo "rm -rf is not allowed" >&2; exit 2;;\n'
        "esac\nexit 0\n",
    )
    runner = HookRunner(config("PreToolUse", command, matcher="Bash"), cwd=tmp_path)
    denied = await runner.run(PRE, tool_name="Bash", tool_input={"command": "rm -rf /"})
    assert denied.blocked
    assert denied.permission_decision == "deny"
    assert denied.reason == "rm -rf is not allowed"
    assert denied.runs[0].exit_code == 2
    fine = await runner.run(PRE, tool_name="Bash", tool_input={"command": "ls"})
    assert not fine.blocked
    assert fine.permission_decision is None


async def test_a_hook_rewrites_the_tool_input(tmp_path: Path) -> None:
    command = python_script(
        tmp_path,
        "dry_run.py",
        "import json, sys\n"
        "event = json.load(sys.stdin)\n"
        "new = dict(event['tool_input'], command=event['tool_input']['command'] + ' --dry-run')\n"
        "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse',\n"
        "    'permissionDecision': 'allow', 'permissionDecisionReason': 'dry run only',\n"
        "    'updatedInput': new}}))\n",
    )
    runner = HookRunner(config("PreToolUse", command), cwd=tmp_path)
    outcome = await runner.run(PRE, tool_name="Bash", tool_input={"command": "make deploy"})
    assert outcome.updated_input == {"command": "make deploy --dry-run"}
    assert outcome.permission_decision == "allow"
    assert outcome.permission_decision_reason == "dry run only"
    assert not outcome.blocked


async def test_a_timed_out_hook_is_killed_and_not_waited_for(tmp_path: Path) -> None:
    slow = script(tmp_path, "slow.sh", "cat >/dev/null\nsleep 30\necho never\n")
    fast = script(tmp_path, "fast.sh", 'cat >/dev/null\necho "context from fast"\n')
    runner = HookRunner(config("UserPromptSubmit", slow, fast, timeout=0.3), cwd=tmp_path)
    began = time.monotonic()
    outcome = await runner.run(HookEvent.USER_PROMPT_SUBMIT, prompt="hi")
    elapsed = time.monotonic() - began
    slow_run, fast_run = outcome.runs
    assert fast_run.status == "success"
    assert slow_run.timed_out
    assert slow_run.status == "non_blocking_error"
    assert "timed out after 0.3s" in outcome.errors[0]
    assert not outcome.blocked
    assert outcome.additional_context == ("context from fast",)
    assert elapsed < 10  # bounded by the timeout, never by the 30 s sleep


async def test_matching_hooks_run_in_parallel(tmp_path: Path) -> None:
    # Each script announces itself and waits for the other one's announcement: both can
    # only succeed if they run at the same time.
    waiting = (
        'cat >/dev/null\ntouch "{me}"\n'
        "i=0\nwhile [ $i -lt 100 ]; do\n"
        '  [ -f "{other}" ] && sleep 0.3 && exit 0\n  sleep 0.05; i=$((i+1))\ndone\nexit 1\n'
    )
    a, b = tmp_path / "a", tmp_path / "b"
    first = script(tmp_path, "first.sh", waiting.format(me=a, other=b))
    second = script(tmp_path, "second.sh", waiting.format(me=b, other=a))
    runner = HookRunner(config("PostToolUse", first, second), cwd=tmp_path)
    outcome = await runner.run(HookEvent.POST_TOOL_USE, tool_name="Read")
    one, two = outcome.runs
    assert (one.status, two.status) == ("success", "success")
    assert one.started_at < two.finished_at
    assert two.started_at < one.finished_at


async def test_json_output_is_parsed(tmp_path: Path) -> None:
    answer = {
        "continue": False,
        "stopReason": "build is red",
        "systemMessage": "stopping: tests failed",
        "suppressOutput": True,
        "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "3 failed"},
    }
    command = script(tmp_path, "answer.sh", f"cat >/dev/null\necho '{json.dumps(answer)}'\n")
    runner = HookRunner(config("PostToolUse", command), cwd=tmp_path)
    outcome = await runner.run(HookEvent.POST_TOOL_USE, tool_name="Bash")
    assert outcome.prevent_continuation
    assert outcome.stop_reason == "build is red"
    assert outcome.system_messages == ("stopping: tests failed",)
    assert outcome.suppress_output
    assert outcome.additional_context == ("3 failed",)
    assert outcome.runs[0].output is not None


async def test_decision_block_blocks_a_stop(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        "keep-going.sh",
        'cat >/dev/null\necho \'{"decision": "block", "reason": "the tests are not run yet"}\'\n',
    )
    runner = HookRunner(config("Stop", command, matcher="ignored"), cwd=tmp_path)
    outcome = await runner.run(HookEvent.STOP, stop_hook_active=False)
    assert outcome.blocked  # Stop has no matcher field: every hook of it runs
    assert outcome.reason == "the tests are not run yet"


async def test_non_blocking_errors_and_bad_json_do_not_block(tmp_path: Path) -> None:
    crash = script(tmp_path, "crash.sh", "cat >/dev/null\necho 'lint crashed' >&2\nexit 1\n")
    garbage = script(tmp_path, "garbage.sh", "cat >/dev/null\necho '{not json'\n")
    wrong = script(
        tmp_path,
        "wrong.sh",
        'cat >/dev/null\necho \'{"hookSpecificOutput": {"hookEventName": "Stop"}}\'\n',
    )
    runner = HookRunner(config("PreToolUse", crash, garbage, wrong), cwd=tmp_path)
    outcome = await runner.run(PRE, tool_name="Bash", tool_input={})
    assert not outcome.blocked
    assert outcome.permission_decision is None
    assert [r.status for r in outcome.runs] == ["non_blocking_error"] * 3
    crash_error, garbage_error, wrong_error = outcome.errors
    assert crash_error.endswith("crash.sh: exited with code 1: lint crashed")
    assert "not valid JSON" in garbage_error
    assert "hookEventName must be 'PreToolUse'" in wrong_error


async def test_a_missing_command_is_a_non_blocking_error(tmp_path: Path) -> None:
    runner = HookRunner(config("PreToolUse", str(tmp_path / "missing.sh")), cwd=tmp_path)
    outcome = await runner.run(PRE, tool_name="Bash")
    assert not outcome.blocked
    assert "exited with code 127" in outcome.errors[0]


async def test_permission_decisions_merge_deny_over_ask_over_allow(tmp_path: Path) -> None:
    def answer(decision: str) -> str:
        payload = {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": decision,
                "permissionDecisionReason": f"because {decision}",
            }
        }
        return script(tmp_path, f"{decision}.sh", f"cat >/dev/null\necho '{json.dumps(payload)}'\n")

    allow, ask, deny = answer("allow"), answer("ask"), answer("deny")
    all_three = await HookRunner(config("PreToolUse", allow, ask, deny), cwd=tmp_path).run(
        PRE, tool_name="Bash"
    )
    assert all_three.permission_decision == "deny"
    assert all_three.permission_decision_reason == "because deny"
    assert all_three.blocked
    two = await HookRunner(config("PreToolUse", allow, ask), cwd=tmp_path).run(
        PRE, tool_name="Bash"
    )
    assert (two.permission_decision, two.permission_decision_reason) == ("ask", "because ask")
    assert not two.blocked


async def test_matchers_select_the_hooks_that_run(tmp_path: Path) -> None:
    log = tmp_path / "log"
    cmd = {n: script(tmp_path, f"{n}.sh", f'cat >/dev/null\necho {n} >> "{log}"\n') for n in "abcd"}
    runner = HookRunner(
        parse_hooks(
            {
                "PreToolUse": [
                    {"matcher": "Bash", "hooks": [{"type": "command", "command": cmd["a"]}]},
                    {"matcher": "Write|Edit", "hooks": [{"type": "command", "command": cmd["b"]}]},
                    {"matcher": "mcp__.*", "hooks": [{"type": "command", "command": cmd["c"]}]},
                    {"matcher": "*", "hooks": [{"type": "command", "command": cmd["d"]}]},
                ]
            }
        ),
        cwd=tmp_path,
    )

    async def ran(tool: str) -> list[str]:
        log.write_text("")
        await runner.run(PRE, tool_name=tool)
        return sorted(log.read_text().split())

    assert await ran("Bash") == ["a", "d"]
    assert await ran("Edit") == ["b", "d"]
    assert await ran("mcp__db__query") == ["c", "d"]
    assert await ran("BashOutput") == ["d"]


async def test_identical_commands_run_once(tmp_path: Path) -> None:
    log = tmp_path / "log"
    command = script(tmp_path, "count.sh", f'cat >/dev/null\necho run >> "{log}"\n')
    hooks = {"type": "command", "command": command}
    runner = HookRunner(
        parse_hooks(
            {
                "PreToolUse": [
                    {"matcher": "Bash", "hooks": [hooks]},
                    {"matcher": "*", "hooks": [hooks]},
                ]
            }
        ),
        cwd=tmp_path,
    )
    runner.register(config("PreToolUse", command), owner="other")
    outcome = await runner.run(PRE, tool_name="Bash")
    assert len(outcome.runs) == 1
    assert log.read_text() == "run\n"


async def test_commands_see_the_project_dir_and_run_in_cwd(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    command = script(
        tmp_path, "env.sh", 'cat >/dev/null\necho "$CLAUDE_PROJECT_DIR $(pwd) $EXTRA"\n'
    )
    runner = HookRunner(
        config("SessionStart", command), cwd=project, project_dir=project, env={"EXTRA": "x"}
    )
    outcome = await runner.run(HookEvent.SESSION_START, source="startup")
    assert outcome.additional_context == (f"{project} {project.resolve()} x",)


async def test_python_hooks_sync_and_async(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def sync_hook(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        event["tool_input"]["command"] = "mutated"  # its own copy: nobody else sees this
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "ask"}}

    async def async_hook(event: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        seen.append(event)
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "additionalContext": f"saw {event['tool_input']['command']}",
            }
        }

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("hook bug")

    runner = HookRunner(HooksConfig.of(PRE, sync_hook, async_hook, broken), cwd=tmp_path)
    outcome = await runner.run(PRE, tool_name="Bash", tool_input={"command": "ls"})
    assert outcome.permission_decision == "ask"
    assert outcome.additional_context == ("saw ls",)
    assert outcome.errors == (f"{broken.__qualname__}: raised RuntimeError: hook bug",)
    assert len(seen) == 2


async def test_a_slow_python_hook_times_out(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def stuck(event: dict[str, Any]) -> None:
        await release.wait()

    runner = HookRunner(HooksConfig.of(PRE, PythonHook(stuck, timeout=0.2)), cwd=tmp_path)
    outcome = await runner.run(PRE, tool_name="Bash")
    assert outcome.runs[0].timed_out
    assert not outcome.blocked


async def test_unsupported_hook_types_are_reported(tmp_path: Path) -> None:
    runner = HookRunner(parse_hooks({"Stop": [{"hooks": [{"type": "prompt", "prompt": "?"}]}]}))
    outcome = await runner.run(HookEvent.STOP)
    assert "'prompt' are not supported" in outcome.errors[0]
    assert not outcome.blocked


async def test_cancelling_a_run_kills_its_commands(tmp_path: Path) -> None:
    started = tmp_path / "started"
    pid_file = tmp_path / "pid"
    command = script(
        tmp_path,
        "long.sh",
        f'cat >/dev/null\necho $$ > "{pid_file}"\ntouch "{started}"\nsleep 30\n',
    )
    runner = HookRunner(config("PreToolUse", command), cwd=tmp_path)
    task = asyncio.create_task(runner.run(PRE, tool_name="Bash"))
    async with asyncio.timeout(10):
        while not started.exists():
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Killed at once: gone, or a zombie waiting for init to reap it (its parent, the
    # shell, was killed with it).
    assert not _alive(int(pid_file.read_text()))


def _alive(pid: int) -> bool:
    try:
        psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return False
    return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


# -- session-scoped registration --------------------------------------------------------


def _skill(folder: Path, hooks_yaml: str, name: str = "guarded") -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    text = f"---\nname: {name}\ndescription: d\nhooks:\n{hooks_yaml}---\nBody\n"
    path = folder / "SKILL.md"
    path.write_text(text)
    return skill_from_text(
        text,
        name=name,
        source=Source.PROJECT,
        loaded_from=LoadedFrom.SKILLS,
        path=path,
        directory=folder,
    )


async def test_skill_hooks_register_for_the_session_and_see_the_skill_dir(tmp_path: Path) -> None:
    skill_dir = tmp_path / "skills" / "guarded"
    skill_dir.mkdir(parents=True)
    script(skill_dir, "guard.sh", 'cat >/dev/null\necho "in $CLAUDE_SKILL_DIR" >&2\nexit 2\n')
    skill = _skill(
        skill_dir,
        "  PreToolUse:\n    - matcher: Bash\n      hooks:\n"
        '        - type: command\n          command: "$CLAUDE_SKILL_DIR/guard.sh"\n',
    )
    runner = HookRunner(cwd=tmp_path)
    assert not (await runner.run(PRE, tool_name="Bash")).blocked
    registration = runner.register_skill(skill)
    assert registration is not None
    blocked = await runner.run(PRE, tool_name="Bash")
    assert blocked.reason == f"in {skill_dir}"
    assert runner.unregister(registration)
    assert not (await runner.run(PRE, tool_name="Bash")).blocked


async def test_once_hooks_are_removed_after_their_first_success(tmp_path: Path) -> None:
    log = tmp_path / "log"
    command = script(tmp_path, "once.sh", f'cat >/dev/null\necho ran >> "{log}"\n')
    runner = HookRunner(cwd=tmp_path)
    runner.register(config("PostToolUse", command, once=True), owner="s")
    for _ in range(3):
        await runner.run(HookEvent.POST_TOOL_USE, tool_name="Read")
    assert log.read_text() == "ran\n"


async def test_a_failed_once_hook_stays(tmp_path: Path) -> None:
    log = tmp_path / "log"
    command = script(tmp_path, "flaky.sh", f'cat >/dev/null\necho ran >> "{log}"\nexit 1\n')
    runner = HookRunner(cwd=tmp_path)
    runner.register(config("PostToolUse", command, once=True), owner="s")
    for _ in range(2):
        await runner.run(HookEvent.POST_TOOL_USE, tool_name="Read")
    assert log.read_text() == "ran\nran\n"


async def test_agent_scoped_hooks_fire_for_their_agent_only(tmp_path: Path) -> None:
    calls: list[str | None] = []

    def record(event: dict[str, Any]) -> None:
        calls.append(event.get("agent_id"))

    runner = HookRunner(cwd=tmp_path)
    runner.register(HooksConfig.of(PRE, record), owner="fork-skill", agent_id="fork-1")
    await runner.run(PRE, tool_name="Bash")
    await runner.run(PRE, tool_name="Bash", agent_id="fork-2")
    await runner.run(PRE, tool_name="Bash", agent_id="fork-1")
    assert calls == ["fork-1"]
    assert runner.release_agent("fork-1") == 1
    await runner.run(PRE, tool_name="Bash", agent_id="fork-1")
    assert calls == ["fork-1"]
    assert runner.registrations() == ()


def test_malformed_skill_hooks_name_the_skill_file(tmp_path: Path) -> None:
    skill = _skill(
        tmp_path / "bad",
        "  PreToolUse:\n    - matcher: Bash\n      hooks:\n"
        "        - type: command\n          timeout: 5\n",
        name="bad",
    )
    runner = HookRunner(cwd=tmp_path)
    with pytest.raises(HookConfigError) as info:
        runner.register_skill(skill)
    assert str(info.value).startswith(f"{tmp_path / 'bad' / 'SKILL.md'}: hooks.PreToolUse[0]")
    assert "command" in str(info.value)
    assert runner.registrations() == ()


async def test_async_hooks_do_not_hold_the_event(tmp_path: Path) -> None:
    done = tmp_path / "done"
    gate = tmp_path / "gate"
    command = script(
        tmp_path,
        "bg.sh",
        f'cat >/dev/null\nwhile [ ! -f "{gate}" ]; do sleep 0.02; done\ntouch "{done}"\n',
    )
    runner = HookRunner(config("PostToolUse", command, **{"async": True}), cwd=tmp_path)
    outcome = await runner.run(HookEvent.POST_TOOL_USE, tool_name="Read")
    assert outcome.runs == ()
    assert not done.exists()
    gate.touch()
    async with asyncio.timeout(10):
        await runner.aclose()
    assert done.exists()


async def test_exit_2_erases_a_prompt(tmp_path: Path) -> None:
    command = script(
        tmp_path,
        "secrets.sh",
        'case "$(cat)" in *password*) echo "no secrets in prompts" >&2; exit 2;; esac\n',
    )
    runner = HookRunner(config("UserPromptSubmit", command), cwd=tmp_path)
    assert (await runner.run(HookEvent.USER_PROMPT_SUBMIT, prompt="my password")).blocked
    assert not (await runner.run(HookEvent.USER_PROMPT_SUBMIT, prompt="hello")).blocked


async def test_a_permission_request_hook_decides_for_the_user(tmp_path: Path) -> None:
    answer = {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow", "updatedInput": {"command": "npm test -- --ci"}},
        }
    }
    command = script(tmp_path, "approve.sh", f"cat >/dev/null\necho '{json.dumps(answer)}'\n")
    runner = HookRunner(config("PermissionRequest", command, matcher="Bash"), cwd=tmp_path)
    outcome = await runner.run(
        HookEvent.PERMISSION_REQUEST, tool_name="Bash", tool_input={"command": "npm test"}
    )
    assert outcome.permission_decision == "allow"
    assert outcome.updated_input == {"command": "npm test -- --ci"}
    assert outcome.permission_request == answer["hookSpecificOutput"]["decision"]


async def test_plugin_skill_hooks_get_the_plugin_root(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    folder = plugin / "skills" / "fmt"
    folder.mkdir(parents=True)
    script(
        plugin,
        "hook.sh",
        'cat >/dev/null\nprintf \'{"systemMessage": "%s"}\' "$CLAUDE_PLUGIN_ROOT"\n',
    )
    text = (
        "---\ndescription: d\nhooks:\n  PostToolUse:\n    - hooks:\n"
        '        - type: command\n          command: "$CLAUDE_PLUGIN_ROOT/hook.sh"\n'
        "---\nBody\n"
    )
    skill = skill_from_text(
        text,
        name="p:fmt",
        source=Source.PLUGIN,
        loaded_from=LoadedFrom.PLUGIN,
        path=folder / "SKILL.md",
        directory=folder,
        plugin="p",
        plugin_root=plugin,
    )
    runner = HookRunner(cwd=tmp_path)
    runner.register_skill(skill)
    outcome = await runner.run(HookEvent.POST_TOOL_USE, tool_name="Write")
    assert outcome.errors == ()
    assert outcome.system_messages == (str(plugin),)


async def test_a_runner_from_the_settings_files(tmp_path: Path, isolated_env: Path) -> None:
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    command = script(
        tmp_path, "hello.sh", 'cat >/dev/null\necho "hello from $CLAUDE_PROJECT_DIR"\n'
    )
    hooks = {
        "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": command}]}]
    }
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    runner = HookRunner.from_settings(project, session_id="s")
    assert runner.cwd == project
    started = await runner.run(HookEvent.SESSION_START, source="startup")
    assert started.additional_context == (f"hello from {project}",)
    resumed = await runner.run(HookEvent.SESSION_START, source="resume")
    assert resumed.runs == ()
