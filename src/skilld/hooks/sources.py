"""Hooks from settings files: managed, user, project and local, as Claude Code reads them.

* managed: ``<managed dir>/managed-settings.json`` (``SKILLD_MANAGED_DIR``)
* user: ``~/.claude/settings.json`` (``~`` is ``SKILLD_HOME``)
* project: ``<project>/.claude/settings.json``
* local: ``<project>/.claude/settings.local.json``

The files are found and parsed by :mod:`skilld.settings_files`, the reader permission
rules use too (so a BOM or an empty file means the same to both). All hooks of all files
run, in the order above (they merge, none overrides another). ``"disableAllHooks": true``
in any of them turns every settings hook off. Loading is lenient: a file that is not JSON,
or a broken entry inside one, is reported in :attr:`HooksConfig.errors` with the file's
path and skipped, and the other hooks still load.
"""

from __future__ import annotations

from pathlib import Path

from skilld.exceptions import HookConfigError, SettingsFileError
from skilld.hooks.config import HooksConfig, parse_hooks
from skilld.permissions import RuleSource
from skilld.settings import Settings
from skilld.settings_files import read_settings_file, settings_file_paths

__all__ = ["load_settings_hooks", "settings_files"]

# Hooks run from the broadest file to the narrowest (Claude Code's merge order), which is
# not the precedence order permission rules use.
_HOOKS_ORDER = (RuleSource.MANAGED, RuleSource.USER, RuleSource.PROJECT, RuleSource.LOCAL)


def settings_files(settings: Settings, project_dir: Path) -> list[tuple[str, Path]]:
    """The settings files hooks are read from, as (scope, path), in that order."""
    paths = {source: path for source, path, _root in settings_file_paths(project_dir, settings)}
    return [(source.value, paths[source]) for source in _HOOKS_ORDER]


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
            data = read_settings_file(path)
        except SettingsFileError as exc:
            where = f"{path}:{exc.line}:{exc.column}" if exc.line is not None else str(path)
            error = HookConfigError(exc.reason, location=None, origin=where)
            if strict:
                raise error from exc
            errors.append(error)
            continue
        if data is None:
            continue
        if data.get("disableAllHooks") is True:
            return HooksConfig(errors=tuple(errors))
        merged = merged.merged(parse_hooks(data.get("hooks"), origin=str(path), strict=strict))
    return HooksConfig(merged.events, None, (*errors, *merged.errors), merged.notes)
