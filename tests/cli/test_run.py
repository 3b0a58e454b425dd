"""``skilld run``: inline and fork skills through the sim model, errors, progress lines."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skilld.agent.models import Model, ScriptedModel, register_model_scheme, tool_call
from skilld.cli import app
from skilld.skills.model import content_hash
from tests.helpers import write_skill
from tests.skills.test_remote import Server

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / ".claude" / "skills"
    write_skill(root, "hello", "description: Say hello", "Say hello to $ARGUMENTS.\n")
    write_skill(root, "survey", "description: Survey\ncontext: fork", "Survey $ARGUMENTS.\n")
    write_skill(root, "own-model", "description: Own\nmodel: sim:0", "Own model for $0.\n")
    write_skill(root, "pair", "description: Pair\narguments: [first, second]", "[$first|$second]\n")
    return tmp_path


def run(project: Path, *args: str) -> Any:
    return runner.invoke(app, ["run", *args, "--cwd", str(project)])


def run_json(project: Path, *args: str) -> dict[str, Any]:
    result = run(project, *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_an_inline_skill_streams_the_answer(project: Path) -> None:
    result = run(project, "hello", "world", "--model", "sim:0")
    assert result.exit_code == 0, result.output
    assert "Say hello to world." in result.stdout
    assert "end_turn · 1 model call(s)" in result.stderr


def test_json_summary(project: Path) -> None:
    data = run_json(project, "hello", "world", "--model", "sim:0")
    assert data["skill"] == "hello"
    assert data["reason"] == "end_turn"
    assert data["turns"] == 1
    assert data["text"].endswith("Say hello to world.\n")
    assert data["usage"]["input_tokens"] > 0


def test_a_fork_skill_runs_as_a_sub_agent(project: Path) -> None:
    data = run_json(project, "survey", "the code", "--model", "sim:0")
    assert "Survey the code." in data["text"]  # the sim model echoes its task
    assert data["reason"] == "end_turn"
    # the sub-agent's model call and tokens are the run's
    assert data["turns"] == 1
    assert data["usage"]["input_tokens"] > 0


def test_no_model_is_a_clear_error(project: Path) -> None:
    result = run(project, "hello")
    assert result.exit_code == 2
    assert "skill hello needs a model" in result.stderr
    assert "SKILLD_DEFAULT_MODEL" in result.stderr


def test_the_default_model_and_the_skill_model(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Own model for x." in run_json(project, "own-model", "x")["text"]
    monkeypatch.setenv("SKILLD_DEFAULT_MODEL", "sim:0")
    assert "Say hello to env." in run_json(project, "hello", "env")["text"]


def test_several_arguments_keep_their_words(project: Path) -> None:
    data = run_json(project, "pair", "hello world", "second", "--model", "sim:0")
    assert "[hello world|second]" in data["text"]


def test_unknown_skills_and_bad_models(project: Path) -> None:
    unknown = run(project, "helo", "--model", "sim:0")
    assert unknown.exit_code == 1
    assert "Unknown skill: helo. Did you mean hello?" in unknown.stderr
    bad = run(project, "hello", "--model", "nope:1")
    assert bad.exit_code == 2
    assert "unknown model 'nope:1'" in bad.stderr


def _scripted(rest: str, **options: Any) -> Model:
    return ScriptedModel([tool_call("Bash", {"command": "echo from-tool"}), "finished"])


@pytest.fixture
def runtest_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register a scripted ``runtest:`` model scheme for one test only."""
    from skilld.agent import models

    monkeypatch.setattr(models, "_SCHEMES", dict(models._SCHEMES))
    register_model_scheme("runtest", _scripted)


@pytest.mark.usefixtures("runtest_scheme")
def test_tool_uses_are_shown_and_permissions_apply(project: Path) -> None:
    denied = run(project, "hello", "x", "--model", "runtest:")
    assert denied.exit_code == 0, denied.output
    assert "● Bash(echo from-tool)" in denied.stdout
    assert "⎿ Permission to use Bash denied" in denied.stdout
    allowed = run(project, "hello", "x", "--model", "runtest:", "--allow", "Bash(echo *)")
    assert "⎿ from-tool" in allowed.stdout
    assert "finished" in allowed.stdout
    assert "⎿ from-tool" in run(project, "hello", "x", "--model", "runtest:", "--yes").stdout
    refused = run(project, "hello", "x", "--model", "runtest:", "--yes", "--deny", "Bash(echo *)")
    assert "⎿ Permission to use Bash denied" in refused.stdout


@pytest.fixture
def server() -> Iterator[Server]:
    served = Server()
    thread = threading.Thread(target=served.httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.httpd.shutdown()
        served.httpd.server_close()
        thread.join(5)


def test_a_remote_skill_by_url_with_a_pin(project: Path, server: Server) -> None:
    body = b"---\ndescription: Remote hello\n---\nRemote hello to $ARGUMENTS.\n"
    url = server.add("/skills/greeter/SKILL.md", body, "text/markdown")
    folder = project / "pinned"
    folder.mkdir()
    (folder / "SKILL.md").write_bytes(body)
    pin = content_hash(folder)
    data = run_json(project, url, "Ada", "--model", "sim:0", "--pin", pin)
    assert data["skill"] == "greeter"
    assert "Remote hello to Ada." in data["text"]
    wrong = run(project, url, "--model", "sim:0", "--pin", "sha256:" + "0" * 64)
    assert wrong.exit_code == 1
    assert "does not match the pin" in wrong.stderr
    misplaced = run(project, "hello", "--model", "sim:0", "--pin", pin)
    assert misplaced.exit_code == 2
    assert "--pin applies to a remote skill" in misplaced.stderr
