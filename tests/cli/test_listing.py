"""``skilld listing``: text, XML and JSON output, budgets, overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skilld.cli import app
from tests.helpers import write_skill

runner = CliRunner()


def project(tmp_path: Path) -> Path:
    root = tmp_path / ".claude" / "skills"
    write_skill(root, "alpha", "description: " + "a" * 60)
    write_skill(root, "beta", "description: Beta & <friends>.\nwhen_to_use: On Fridays.")
    write_skill(root, "gamma", "description: Manual.\ndisable-model-invocation: true")
    write_skill(root, "delta", "description: Only for Go.\npaths: '**/*.go'")
    return tmp_path


def test_text_listing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["listing", "--cwd", str(project(tmp_path))])
    assert result.exit_code == 0, result.output
    assert result.stdout == "- alpha: " + "a" * 60 + "\n- beta: Beta & <friends>. - On Fridays.\n"


def test_budget_chars_cuts(tmp_path: Path) -> None:
    # names 9 + "- " x2 + newline 1 + ": " x2 = 18; 44 columns left, 22 each
    result = runner.invoke(
        app, ["listing", "--cwd", str(project(tmp_path)), "--budget-chars", "62"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "- alpha: " + "a" * 21 + "…\n- beta: Beta & <friends>. - O…\n"


def test_context_window_budget(tmp_path: Path) -> None:
    args = ["listing", "--cwd", str(project(tmp_path)), "--json"]
    data = json.loads(runner.invoke(app, [*args, "--context-window", "1000"]).stdout)
    assert data["budget"] == 40
    assert data["text"] == "- alpha\n- beta"
    assert [e["truncated"] for e in data["entries"]] == [True, True]
    default = json.loads(runner.invoke(app, args).stdout)
    assert default["budget"] == 8000


def test_xml_listing(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = runner.invoke(app, ["listing", "--cwd", str(root), "--format", "xml"])
    assert result.exit_code == 0, result.output
    skills = root / ".claude" / "skills"
    assert result.stdout == (
        "<available_skills>\n"
        "  <skill>\n"
        "    <name>alpha</name>\n"
        f"    <description>{'a' * 60}</description>\n"
        f"    <location>{skills / 'alpha' / 'SKILL.md'}</location>\n"
        "  </skill>\n"
        "  <skill>\n"
        "    <name>beta</name>\n"
        "    <description>Beta &amp; &lt;friends&gt;. - On Fridays.</description>\n"
        f"    <location>{skills / 'beta' / 'SKILL.md'}</location>\n"
        "  </skill>\n"
        "</available_skills>\n"
    )


def test_json_contract(tmp_path: Path) -> None:
    result = runner.invoke(app, ["listing", "--cwd", str(project(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"budget", "width", "over_budget", "text", "entries"}
    assert data["over_budget"] is False
    assert data["width"] == len(data["text"])
    assert data["entries"][1] == {
        "name": "beta",
        "description": "Beta & <friends>. - On Fridays.",
        "location": str(tmp_path / ".claude" / "skills" / "beta" / "SKILL.md"),
        "bundled": False,
        "truncated": False,
    }


def test_add_dir(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    write_skill(extra / ".claude" / "skills", "zeta", "description: From elsewhere.")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = runner.invoke(app, ["listing", "--cwd", str(cwd), "--add-dir", str(extra)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "- zeta: From elsewhere.\n"


def test_skill_overrides_from_settings(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".claude" / "settings.json").write_text(
        json.dumps({"skillOverrides": {"alpha": "name-only", "beta": "off"}}), encoding="utf-8"
    )
    result = runner.invoke(app, ["listing", "--cwd", str(root)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "- alpha\n"


def test_bad_override_is_an_error_naming_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".claude" / "settings.json").write_text(
        json.dumps({"skillOverrides": {"alpha": "hidden"}}), encoding="utf-8"
    )
    result = runner.invoke(app, ["listing", "--cwd", str(root)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {root / '.claude' / 'settings.json'}: 'skillOverrides' must map skill names "
        "to on, name-only, user-invocable-only or off (skill 'alpha': 'hidden')\n"
    )


def test_malformed_settings_file_is_an_error_naming_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    settings = root / ".claude" / "settings.local.json"
    settings.write_text("{oops", encoding="utf-8")
    result = runner.invoke(app, ["listing", "--cwd", str(root)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {settings}:1:2: invalid JSON")


def test_both_budgets_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["listing", "--cwd", str(tmp_path), "--budget-chars", "5", "--context-window", "9"]
    )
    assert result.exit_code == 2
    assert "not both" in result.output


def test_over_budget_warns(tmp_path: Path) -> None:
    result = runner.invoke(app, ["listing", "--cwd", str(project(tmp_path)), "--budget-chars", "3"])
    assert result.exit_code == 0
    assert result.stdout == "- alpha\n- beta\n"
    assert result.stderr == (
        "warning: the listing takes 14 characters, over its budget of 3, even with names only\n"
    )


def test_empty_listing_prints_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["listing", "--cwd", str(tmp_path)])
    assert (result.exit_code, result.stdout) == (0, "")


def test_listing_settings_from_the_settings_files(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".claude" / "settings.json").write_text(
        json.dumps({"skillListingMaxDescChars": 10, "skillListingBudgetFraction": 0.5}),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["listing", "--cwd", str(root), "--json"])
    data = json.loads(result.stdout)
    assert data["text"] == "- alpha: aaaaaaaaa…\n- beta: Beta & <f…"
    assert not any(entry["truncated"] for entry in data["entries"])
    window = json.loads(
        runner.invoke(
            app, ["listing", "--cwd", str(root), "--json", "--context-window", "100"]
        ).stdout
    )
    assert window["budget"] == 200


def test_budget_from_claude_codes_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path)
    monkeypatch.setenv("SLASH_COMMAND_TOOL_CHAR_BUDGET", "40")
    data = json.loads(runner.invoke(app, ["listing", "--cwd", str(root), "--json"]).stdout)
    assert data["budget"] == 40
    explicit = runner.invoke(app, ["listing", "--cwd", str(root), "--json", "--budget-chars", "9"])
    assert json.loads(explicit.stdout)["budget"] == 9
    monkeypatch.setenv("SLASH_COMMAND_TOOL_CHAR_BUDGET", "lots")
    bad = runner.invoke(app, ["listing", "--cwd", str(root)])
    assert bad.exit_code == 2
    assert bad.stderr == (
        "error: SLASH_COMMAND_TOOL_CHAR_BUDGET must be a positive whole number, not 'lots'\n"
    )
