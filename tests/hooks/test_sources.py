"""Hooks from the managed, user, project and local settings files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skilld.exceptions import HookConfigError, SettingsFileError
from skilld.hooks import HookEvent, load_settings_hooks, settings_files
from skilld.settings import Settings
from skilld.settings_files import read_settings_files, settings_file_paths


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _stop(command: str) -> dict[str, object]:
    return {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": command}]}]}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", managed_dir=tmp_path / "managed")


def _commands(config: object) -> list[str]:
    return [h.label for g in config.groups(HookEvent.STOP) for h in g.hooks]  # type: ignore[attr-defined]


def test_all_four_files_merge_in_order(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "project"
    _write(settings.managed_dir / "managed-settings.json", _stop("managed"))
    _write(settings.home / ".claude" / "settings.json", _stop("user"))
    _write(project / ".claude" / "settings.json", _stop("project"))
    _write(project / ".claude" / "settings.local.json", {**_stop("local"), "model": "x"})
    config = load_settings_hooks(project, settings=settings)
    assert _commands(config) == ["managed", "user", "project", "local"]
    assert config.errors == ()


def test_a_broken_file_is_reported_and_the_others_load(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "project"
    broken = _write(project / ".claude" / "settings.json", '{"hooks": ')
    _write(settings.home / ".claude" / "settings.json", _stop("user"))
    bad_hook = _write(
        project / ".claude" / "settings.local.json",
        {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "ok"}, {"type": "x"}]}]}},
    )
    config = load_settings_hooks(project, settings=settings)
    assert _commands(config) == ["user", "ok"]
    first, second = config.errors
    assert str(first) == f"{broken}:1:11: invalid JSON: Expecting value"
    assert str(second).startswith(f"{bad_hook}: hooks.Stop[0].hooks[1].type: must be one of")
    with pytest.raises(HookConfigError, match="invalid JSON"):
        load_settings_hooks(project, settings=settings, strict=True)


def test_disable_all_hooks(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "project"
    _write(settings.home / ".claude" / "settings.json", _stop("user"))
    _write(project / ".claude" / "settings.json", {"disableAllHooks": True})
    assert not load_settings_hooks(project, settings=settings)


def test_a_bom_and_an_empty_file_read_as_for_permissions(
    tmp_path: Path, settings: Settings
) -> None:
    # The shared reader (skilld.settings_files) accepts both; hooks used to reject them.
    project = tmp_path / "project"
    bom = project / ".claude" / "settings.json"
    bom.parent.mkdir(parents=True)
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(_stop("bom")).encode())
    _write(project / ".claude" / "settings.local.json", "")
    config = load_settings_hooks(project, settings=settings, strict=True)
    assert _commands(config) == ["bom"]
    assert read_settings_files(project, settings=settings)[1].path == bom


def test_a_file_error_reads_as_the_permissions_reader_says_it(
    tmp_path: Path, settings: Settings
) -> None:
    user = _write(settings.home / ".claude" / "settings.json", "[1, 2]")
    config = load_settings_hooks(tmp_path, settings=settings)
    (error,) = config.errors
    with pytest.raises(SettingsFileError) as shared:
        read_settings_files(tmp_path, settings=settings)
    assert str(error) == str(shared.value) == f"{user}: settings must be a JSON object, not list"


def test_the_hooks_read_the_shared_list_of_files(tmp_path: Path, settings: Settings) -> None:
    shared = {path for _source, path, _root in settings_file_paths(tmp_path, settings)}
    scopes = settings_files(settings, tmp_path)
    assert [scope for scope, _ in scopes] == ["managed", "user", "project", "local"]
    assert {path for _, path in scopes} == shared


def test_a_settings_file_with_claude_code_only_events_loads_strictly(
    tmp_path: Path, settings: Settings
) -> None:
    project = tmp_path / "project"
    data = {
        "hooks": {
            **_stop("stop")["hooks"],
            "Setup": [{"hooks": [{"type": "command", "command": "s"}]}],
        }
    }  # type: ignore[dict-item]
    path = _write(project / ".claude" / "settings.json", data)
    config = load_settings_hooks(project, settings=settings, strict=True)
    assert _commands(config) == ["stop"]
    assert config.notes == (
        f"{path}: hooks.Setup: Claude Code's Setup event is never fired by skilld; ignored",
    )
