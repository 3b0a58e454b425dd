"""Hooks from the managed, user, project and local settings files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skilld.exceptions import HookConfigError
from skilld.hooks import HookEvent, load_settings_hooks
from skilld.settings import Settings


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
    assert str(first).startswith(f"{broken}: hooks: not valid JSON")
    assert str(second).startswith(f"{bad_hook}: hooks.Stop[0].hooks[1].type: must be one of")
    with pytest.raises(HookConfigError, match="not valid JSON"):
        load_settings_hooks(project, settings=settings, strict=True)


def test_disable_all_hooks(tmp_path: Path, settings: Settings) -> None:
    project = tmp_path / "project"
    _write(settings.home / ".claude" / "settings.json", _stop("user"))
    _write(project / ".claude" / "settings.json", {"disableAllHooks": True})
    assert not load_settings_hooks(project, settings=settings)
