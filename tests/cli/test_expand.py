"""``skilld expand``: text and JSON output, arguments, permissions, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from skilld.cli import app
from tests.helpers import EXAMPLES, write_skill

runner = CliRunner()


def project(tmp_path: Path, name: str, frontmatter: str, body: str) -> Path:
    write_skill(tmp_path / ".claude" / "skills", name, frontmatter, body)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["expand", *args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> dict[str, Any]:
    code, out, err = run(*args, "--json")
    assert code == 0, out + err
    data: dict[str, Any] = json.loads(out)
    return data


def test_expand_prints_the_text(tmp_path: Path) -> None:
    cwd = project(tmp_path, "greet", "description: Greet", "Hello $0 in ${CLAUDE_SESSION_ID}.\n")
    code, out, _ = run("greet", "world", "--cwd", str(cwd), "--session-id", "S1")
    assert code == 0
    folder = cwd / ".claude" / "skills" / "greet"
    assert out == f"Base directory for this skill: {folder}\n\nHello world in S1.\n\n"


def test_json_contract(tmp_path: Path) -> None:
    cwd = project(
        tmp_path,
        "where",
        "description: Where\nallowed-tools: Bash(pwd) Read\nmodel: sonnet\neffort: low",
        "Here: !`pwd`\n",
    )
    data = run_json("/where", "--cwd", str(cwd), "--session-id", "S")
    assert set(data) >= {
        "name",
        "content",
        "allowed_tools",
        "model",
        "effort",
        "context",
        "shell_commands",
    }
    assert data["name"] == "where"
    assert data["allowed_tools"] == ["Bash(pwd)", "Read"]
    assert (data["model"], data["effort"], data["context"]) == ("sonnet", "low", "inline")
    assert data["content"] == [{"type": "text", "text": data["text"]}]
    assert data["text"].endswith(f"Here: {cwd.resolve()}\n")
    (record,) = data["shell_commands"]
    assert record["command"] == "pwd"
    assert record["exit_code"] == 0
    assert record["duration"] >= 0


def test_several_args_stay_separate_words(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mig", "description: M", "[$0] [$1] [$ARGUMENTS]")
    data = run_json("mig", "My Button", "React", "--cwd", str(cwd))
    assert data["text"].endswith("[My Button] [React] ['My Button' React]")


def test_one_arg_is_the_raw_string(tmp_path: Path) -> None:
    cwd = project(tmp_path, "fix", "description: F", "[$0] [$1]")
    data = run_json("fix", '"hello world" second', "--cwd", str(cwd))
    assert data["text"].endswith("[hello world] [second]")


def test_unknown_skill_suggests_close_names(tmp_path: Path) -> None:
    cwd = project(tmp_path, "greet", "description: G", "Hi")
    code, _, err = run("gret", "--cwd", str(cwd))
    assert code == 1
    assert "Unknown skill: gret. Did you mean greet?" in err


def test_unknown_skill_json_error(tmp_path: Path) -> None:
    code, out, _ = run("nothing", "--cwd", str(tmp_path), "--json")
    assert code == 1
    assert json.loads(out)["error"]["type"] == "SkillNotFoundError"


def test_shell_denied_without_a_rule(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M", "!`touch made`")
    code, _, err = run("mk", "--cwd", str(cwd))
    assert code == 1
    assert "not allowed" in err
    assert "Bash(touch made)" in err
    assert not (cwd / "made").exists()


def test_allow_flag_lets_a_command_run(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M", "!`touch made && echo done`")
    code, out, err = run(
        "mk", "--cwd", str(cwd), "--allow", "Bash(touch:*)", "--allow", "Bash(echo:*)"
    )
    assert code == 0, err
    assert out.endswith("done\n")
    assert (cwd / "made").exists()


def test_deny_flag_beats_the_skill_allowed_tools(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M\nallowed-tools: Bash(touch:*)", "!`touch made`")
    code, out, _ = run("mk", "--cwd", str(cwd), "--deny", "Bash(touch:*)", "--json")
    assert code == 1
    assert json.loads(out)["error"]["type"] == "ShellCommandDenied"
    assert not (cwd / "made").exists()


def test_project_settings_rules_apply(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M", "!`echo from-settings`")
    (cwd / ".claude" / "settings.json").write_text(
        json.dumps({"permissions": {"allow": ["Bash(echo:*)"]}})
    )
    code, out, err = run("mk", "--cwd", str(cwd))
    assert code == 0, err
    assert out.endswith("from-settings\n")


def test_malformed_rule_is_a_clear_error(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M", "text")
    code, _, err = run("mk", "--cwd", str(cwd), "--allow", "Bash(unclosed")
    assert code == 1
    assert "Bash(unclosed" in err


def test_failing_command_exit_code_and_output(tmp_path: Path) -> None:
    cwd = project(tmp_path, "bad", "description: B\nallowed-tools: Bash", "!`echo oops; exit 4`")
    code, out, _ = run("bad", "--cwd", str(cwd), "--json")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["type"] == "ShellCommandError"
    assert "exit code 4" in error["message"]
    assert "oops" in error["message"]


def test_no_shell_flag(tmp_path: Path) -> None:
    cwd = project(tmp_path, "mk", "description: M\nallowed-tools: Bash", "A !`touch made` B")
    data = run_json("mk", "--cwd", str(cwd), "--no-shell")
    assert data["text"].endswith("A [shell command execution disabled by policy] B")
    assert data["shell_commands"] == []
    assert not (cwd / "made").exists()


def test_injection_through_the_cli_runs_one_command(tmp_path: Path) -> None:
    cwd = project(
        tmp_path, "deploy", "description: D\nallowed-tools: Bash(echo:*)", "!`echo deploy $0`"
    )
    data = run_json("deploy", "x; touch PWNED", "extra", "--cwd", str(cwd))
    assert data["text"].endswith("deploy x; touch PWNED")
    assert not (cwd / "PWNED").exists()


def test_examples_expand(tmp_path: Path) -> None:
    data = run_json(
        "release-notes", "v1.2.0", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES.parent)
    )
    folder = EXAMPLES / "release-notes"
    assert f"`sh {folder}/scripts/collect.sh v1.2.0`" in data["text"]
    assert data["context"] == "fork"
    assert data["allowed_tools"] == ["Bash(git log:*)", "Bash(git describe:*)", "Read"]
