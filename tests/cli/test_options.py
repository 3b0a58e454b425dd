"""The shared options (skilld.cli.options): the same flags, help and checks in every command."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from skilld.cli import app

_DEFAULT_CWD = "Working directory (default: the current one)."
_ADD_DIR = "Extra folder searched for skills (repeatable)."
_PLUGIN_DIR = "Plugin folder, or folder of plugins (repeatable)."
_JSON = "Print JSON (a stable contract)."

# command -> option -> help, as the commands had them before the options were shared.
EXPECTED: dict[str, dict[str, str]] = {
    "list": {
        "--cwd": "Working directory to list from (default: the current one).",
        "--add-dir": _ADD_DIR,
        "--plugin-dir": _PLUGIN_DIR,
        "--json": _JSON,
    },
    "show": {
        "--cwd": "Working directory to list from (default: the current one).",
        "--add-dir": _ADD_DIR,
        "--plugin-dir": _PLUGIN_DIR,
        "--json": _JSON,
    },
    "validate": {"--json": "Print the report as JSON."},
    "expand": {
        "--cwd": "Working directory: skills, settings, where commands run.",
        "--add-dir": _ADD_DIR,
        "--plugin-dir": _PLUGIN_DIR,
        "--json": _JSON,
        "--allow": "Allow rule, e.g. 'Bash(git log:*)'.",
        "--deny": "Deny rule.",
    },
    "listing": {
        "--cwd": _DEFAULT_CWD,
        "--add-dir": _ADD_DIR,
        "--plugin-dir": _PLUGIN_DIR,
        "--json": _JSON,
    },
    "run": {
        "--cwd": _DEFAULT_CWD,
        "--add-dir": "Extra folder of skills (repeatable).",
        "--allow": "Allow rule, e.g. 'Bash(git *)'.",
        "--deny": "Deny rule.",
        "--json": "Print one JSON summary.",
    },
}
_SHARED = {"--cwd", "--add-dir", "--plugin-dir", "--json", "--allow", "--deny"}
_REPEATABLE = {"--add-dir", "--plugin-dir", "--allow", "--deny"}


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_each_command_declares_the_shared_options_as_before(command: str) -> None:
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    params = {p.opts[0]: p for p in click_command.params if p.opts[0] in _SHARED}
    assert {flag: p.help for flag, p in params.items()} == EXPECTED[command]
    for flag, param in params.items():
        assert param.multiple == (flag in _REPEATABLE), flag
        assert param.default is (False if flag == "--json" else None), flag


def test_only_list_and_show_reject_a_cwd_that_is_no_folder(tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    runner = CliRunner()
    for command in ("list", "show"):
        args = [command, "x"] if command == "show" else [command]
        result = runner.invoke(app, [*args, "--cwd", str(a_file)])
        assert result.exit_code == 2, command
        assert "--cwd" in result.output
    listing = runner.invoke(app, ["listing", "--cwd", str(tmp_path), "--json"])
    assert listing.exit_code == 0, listing.output
