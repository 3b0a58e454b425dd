"""Hooks from settings files: managed, user, project and local, as Claude Code reads them.

* managed: ``<managed dir>/managed-settings.json`` (``SKILLD_MANAGED_DIR``)
* user: ``~/.claude/settings.json`` (``~`` is ``SKILLD_HOME``)
* project: ``<project>/.claude/settings.json``
* local: ``<project>/.claude/settings.local.json``

All hooks of all files run (they merge, none overrides another). ``"disableAllHooks":
true`` in any of them turns every settings hook off. Loading is lenient: a file that is
not JSON, or a broken entry inside one, is reported in :attr:`HooksConfig.errors` with the
file's path and skipped, and the other hooks still load.
"""

from __future__ import annotations

import json
from pathlib import Path

from skilld.exceptions import HookConfigError
from skilld.hooks.config import HooksConfig, parse_hooks
from skilld.settings import Settings

__all__ = ["load_settings_hooks", "settings_files"]


def settings_files(settings: Settings, project_dir: Path) -> list[tuple[str, Path]]:
    """The settings files hooks are read from, as (scope, path), in that order."""
    return [
        ("managed", settings.managed_dir / "managed-settings.json"),
        ("user", settings.home / ".claude" / "settings.json"),
        ("project", project_dir / ".claude" / "settings.json"),
        ("local", project_dir / ".claude" / "settings.local.json"),
    ]


def load_settings_hooks(
    project_dir: Path | str | None = None,
    *,
    settings: Settings | None = None,
    strict: bool = False,
) -> HooksConfig:
    """Every hook of every settings file that exists; ``strict`` raises on the first error."""
    settings = settings or Settings.from_env()
    project = Path(project_dir) if project_dir is not None else Path.cwd()
    merged = HooksConfig()
    errors: list[HookConfigError] = []
    for _scope, path in settings_files(settings, project):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(_error(f"cannot read settings file: {exc}", path, strict))
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(_error(f"not valid JSON: {exc}", path, strict))
            continue
        if not isinstance(data, dict):
            errors.append(_error("settings must be a JSON object", path, strict))
            continue
        if data.get("disableAllHooks") is True:
            return HooksConfig(errors=tuple(errors))
        merged = merged.merged(parse_hooks(data.get("hooks"), origin=str(path), strict=strict))
    return HooksConfig(merged.events, None, (*errors, *merged.errors))


def _error(reason: str, path: Path, strict: bool) -> HookConfigError:
    error = HookConfigError(reason, origin=str(path))
    if strict:
        raise error
    return error
