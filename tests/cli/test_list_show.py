"""``skilld list`` and ``skilld show`` on the shipped examples and small fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from skilld.cli import app
from tests.helpers import EXAMPLES, write_skill

runner = CliRunner()
EXAMPLES_ROOT = EXAMPLES.parent
CONTRACT_KEYS = {
    "name",
    "description",
    "source",
    "loaded_from",
    "path",
    "version",
    "user_invocable",
    "model_invocable",
    "conditional",
    "allowed_tools",
    "diagnostics",
}


def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_json_of_the_examples(tmp_path: Path) -> None:
    data = run_json("list", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT))
    skills = {s["name"]: s for s in data["skills"]}
    assert set(skills) == {"commit-message", "release-notes", "safe-deploy", "standup", "review:pr"}
    assert data["held_back"] == ["python-style"]
    assert data["diagnostics"] == []
    for skill in skills.values():
        assert set(skill) >= CONTRACT_KEYS
        assert skill["source"] == "add-dir"
        assert skill["version"].startswith("sha256:")
        assert skill["diagnostics"] == []
    assert skills["commit-message"]["arguments"] == ["type", "scope"]
    assert skills["release-notes"]["context"] == "fork"
    assert skills["release-notes"]["model_invocable"] is False
    assert skills["safe-deploy"]["hooks"]["PreToolUse"][0]["matcher"] == "Bash"
    assert skills["review:pr"]["loaded_from"] == "commands"
    assert data["cwd"] == str(tmp_path)


def test_list_all_includes_held_back_skills(tmp_path: Path) -> None:
    data = run_json("list", "--all", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT))
    style = next(s for s in data["skills"] if s["name"] == "python-style")
    assert style["conditional"] is True
    assert style["user_invocable"] is False
    assert style["paths"] == ["**/*.py", "pyproject.toml"]


def test_list_human_output_is_a_table_with_a_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT)])
    assert result.exit_code == 0, result.output
    assert "/commit-message" in result.output
    assert "/review:pr" in result.output
    assert "5 skill(s)" in result.output
    assert "held back" in result.output
    assert "python-style" in result.output


def test_list_reports_shadowing_and_plugin_dirs(tmp_path: Path) -> None:
    write_skill(tmp_path / ".claude" / "skills", "dup", "description: project")
    write_skill(tmp_path / "more", "dup", "description: add-dir")
    write_skill(tmp_path / "plug" / "skills", "tool", "description: in a plugin")
    data = run_json(
        "list",
        "--cwd",
        str(tmp_path),
        "--add-dir",
        str(tmp_path / "more"),
        "--plugin-dir",
        str(tmp_path / "plug"),
    )
    names = [s["name"] for s in data["skills"]]
    assert names == ["dup", "plug:tool"]
    assert any("shadowed" in d["message"] for d in data["diagnostics"])
    result = runner.invoke(
        app, ["list", "--cwd", str(tmp_path), "--add-dir", str(tmp_path / "more")]
    )
    assert "shadowed" in result.output


def test_show_json_has_every_field_and_the_body(tmp_path: Path) -> None:
    data = run_json("show", "safe-deploy", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT))
    assert set(data) >= CONTRACT_KEYS
    assert data["arguments"] == ["service", "environment"]
    assert data["disallowed_tools"] == ["WebFetch"]
    assert "# Safe deploy" in data["body"]


def test_show_human_output_and_conditional_state(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["show", "/python-style", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT)]
    )
    assert result.exit_code == 0, result.output
    assert "held back" in result.output
    assert "# Python style" in result.output


def test_show_unknown_name_fails_with_suggestions(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["show", "comit-message", "--cwd", str(tmp_path), "--add-dir", str(EXAMPLES_ROOT)]
    )
    assert result.exit_code == 1
    assert "Unknown skill: comit-message" in result.output
    assert "commit-message" in result.output


def test_list_refuses_a_missing_cwd(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "--cwd", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_the_examples_validate_without_errors_or_warnings() -> None:
    result = runner.invoke(
        app, ["validate", str(EXAMPLES), str(EXAMPLES_ROOT / ".claude" / "commands"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["errors"] == 0
    assert summary["warnings"] == 0
    assert summary["files"] == 6
