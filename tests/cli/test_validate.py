from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from skilld.cli import validate as validate_cli
from tests.helpers import CORPUS, REPO, write_skill


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """The command group, as skilld's own app has one."""

    validate_cli.register(app)
    return app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def test_a_clean_skill_exits_0(tmp_path: Path) -> None:
    write_skill(tmp_path, "deploy", "name: deploy\ndescription: Deploy the app")
    code, output = run(str(tmp_path))
    assert code == 0
    assert "1 file(s) checked with the claude-code profile: 0 error(s)" in output


def test_an_error_exits_1_and_names_file_line_field_and_fix(tmp_path: Path) -> None:
    path = write_skill(tmp_path, "deploy", "description: d\ncontext: forked")
    code, output = run(str(path))
    assert code == 1
    assert str(path) in output
    assert "3  error   context: 'forked' is not one of inline, fork" in output
    assert "fix: write context: fork" in output


def test_warnings_alone_do_not_fail(tmp_path: Path) -> None:
    write_skill(tmp_path, "deploy", "description: d\nauthor: me")
    code, output = run(str(tmp_path))
    assert code == 0
    assert "warning" in output


def test_the_profile_option(tmp_path: Path) -> None:
    write_skill(tmp_path, "deploy", "name: deploy-app\ndescription: d\nmodel: opus")
    assert run(str(tmp_path), "--profile", "claude-code")[0] == 0
    assert run(str(tmp_path), "--profile", "lenient")[0] == 0
    code, output = run(str(tmp_path), "--profile", "spec")
    assert code == 1
    assert "differs from its folder" in output
    assert run(str(tmp_path), "--profile", "strict")[0] == 2


def test_json_is_a_stable_contract(tmp_path: Path) -> None:
    write_skill(tmp_path, "good", "description: d")
    bad = write_skill(tmp_path, "bad", "description: d\nshell: zsh")
    code, output = run(str(tmp_path / "good"), str(bad), "--json")
    assert code == 1
    data = json.loads(output)
    assert data["profile"] == "claude-code"
    assert data["summary"] == {
        "files": 2,
        "skills": 2,
        "commands": 0,
        "errors": 1,
        "warnings": 0,
        "infos": 0,
        "ok": False,
    }
    assert [f["name"] for f in data["files"]] == ["good", "bad"]
    assert data["files"][1] == {
        "path": str(bad),
        "kind": "skill",
        "name": "bad",
        "ok": False,
        "diagnostics": [
            {
                "level": "error",
                "message": "'zsh' is not one of bash, powershell",
                "line": 3,
                "field": "shell",
                "fix": "write shell: bash",
            }
        ],
    }


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    code, output = run(str(tmp_path / "nope"))
    assert code == 1
    assert "path does not exist" in output


def test_markup_in_messages_is_printed_literally(tmp_path: Path) -> None:
    write_skill(tmp_path, "deploy", "description: d\nargument-hint: [bold]")
    code, output = run(str(tmp_path))
    assert code == 0
    assert 'argument-hint: "[bold]"' in output


@pytest.mark.corpus
def test_the_installed_command_validates_the_corpus() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skilld", "validate", str(CORPUS), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["skills"] >= 400
    assert summary["errors"] == 0
