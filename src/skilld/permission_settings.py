"""Permission rules from Claude Code's settings files and from the caller.

The I/O side of :mod:`skilld.permissions`. The files, highest precedence first:

========  ====================================================  ===========================
source    file                                                  ``/path`` patterns under
========  ====================================================  ===========================
managed   ``<SKILLD_MANAGED_DIR>/managed-settings.json``        the managed directory
caller    ``--allow`` / ``--ask`` / ``--deny``, API arguments   the working directory
local     ``<cwd>/.claude/settings.local.json``                 the working directory
project   ``<cwd>/.claude/settings.json``                       the working directory
user      ``<home>/.claude/settings.json`` (home: Settings)     ``<home>/.claude``
========  ====================================================  ===========================

Each file may hold ``permissions.allow``, ``permissions.ask`` and ``permissions.deny``
(lists of rule strings) and ``permissions.additionalDirectories``; the managed file may
set ``allowManagedPermissionRulesOnly: true`` so that only its rules count. A missing file
is no error. A file that is not JSON, a ``permissions`` that is not an object, or a rule
that does not parse raises an error naming the file (and the list and index of the
rule): a permission file that cannot be read is never silently skipped, because a skipped
deny rule would allow what its author forbade.

The files are found and parsed by :mod:`skilld.settings_files`; the same files carry the
listing's settings, read by :mod:`skilld.skills.listing_settings` (both re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from skilld.exceptions import ConfigurationError, PermissionRuleError
from skilld.permissions import (
    PermissionBehavior,
    PermissionEngine,
    PermissionRule,
    RuleSource,
)
from skilld.settings import Settings
from skilld.settings_files import MANAGED_SETTINGS_FILE, SettingsFile, read_settings_files
from skilld.skills.listing_settings import (
    ListingSettings,
    load_listing_settings,
    load_skill_overrides,
)

__all__ = [
    "MANAGED_SETTINGS_FILE",
    "ListingSettings",
    "SettingsFile",
    "caller_rules",
    "load_listing_settings",
    "load_permission_engine",
    "load_skill_overrides",
    "read_settings_files",
    "rules_from_settings",
]

_BEHAVIORS: tuple[PermissionBehavior, ...] = ("allow", "ask", "deny")


def _permissions_block(file: SettingsFile) -> Mapping[str, Any]:
    block = file.data.get("permissions", {})
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigurationError(
            f"{file.path}: 'permissions' must be an object with allow/ask/deny lists, "
            f"not {type(block).__name__}"
        )
    return block


def rules_from_settings(file: SettingsFile) -> list[PermissionRule]:
    """The ``permissions.allow / ask / deny`` rules of one settings file.

    Raises :class:`PermissionRuleError` whose origin names the file, the list and the
    index of a rule that does not parse, and :class:`ConfigurationError` for a list
    that is not a list.
    """
    block = _permissions_block(file)
    rules: list[PermissionRule] = []
    for behavior in _BEHAVIORS:
        items = block.get(behavior)
        if items is None:
            continue
        if not isinstance(items, list):
            raise ConfigurationError(
                f"{file.path}: 'permissions.{behavior}' must be a list of rule strings, "
                f"not {type(items).__name__}"
            )
        for index, item in enumerate(items):
            origin = f"{file.path} (permissions.{behavior}[{index}])"
            if not isinstance(item, str):
                raise PermissionRuleError(repr(item), "a rule must be a string", origin=origin)
            # parsed with the precise origin, so an error names the list and the index;
            # decisions then cite just the file
            rule = PermissionRule.parse(
                item, behavior=behavior, source=file.source, origin=origin, root=str(file.root)
            )
            rules.append(replace(rule, origin=str(file.path)))
    return rules


def caller_rules(
    *,
    allow: Iterable[str] = (),
    ask: Iterable[str] = (),
    deny: Iterable[str] = (),
) -> list[PermissionRule]:
    """Rules given by the caller (``--allow`` / ``--ask`` / ``--deny``, API arguments)."""
    rules: list[PermissionRule] = []
    for behavior, texts in (("allow", allow), ("ask", ask), ("deny", deny)):
        for text in texts:
            rules.append(
                PermissionRule.parse(
                    text,
                    behavior=behavior,  # type: ignore[arg-type]
                    source=RuleSource.CALLER,
                    origin=f"--{behavior}",
                )
            )
    return rules


def _additional_dirs(file: SettingsFile) -> list[str]:
    dirs = _permissions_block(file).get("additionalDirectories")
    if dirs is None:
        return []
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise ConfigurationError(
            f"{file.path}: 'permissions.additionalDirectories' must be a list of paths"
        )
    return list(dirs)


def load_permission_engine(
    cwd: str | os.PathLike[str] | None = None,
    *,
    settings: Settings | None = None,
    allow: Sequence[str] = (),
    ask: Sequence[str] = (),
    deny: Sequence[str] = (),
    additional_dirs: Sequence[str | os.PathLike[str]] = (),
) -> PermissionEngine:
    """A :class:`PermissionEngine` with every settings file's rules and the caller's.

    Args:
        cwd: the working directory (default: the process's): where project and local
            settings are read, and what relative paths are relative to.
        settings: where ``~`` and the managed directory are (default: from the env).
        allow / ask / deny: the caller's rules (``--allow RULE`` ...).
        additional_dirs: more folders the read-only tools may read (``--add-dir``).
    """
    settings = settings if settings is not None else Settings.from_env()
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    files = read_settings_files(base, settings=settings)
    rules = caller_rules(allow=allow, ask=ask, deny=deny)
    dirs: list[str | os.PathLike[str]] = list(additional_dirs)
    managed_only = False
    for file in files:
        rules.extend(rules_from_settings(file))
        dirs.extend(_additional_dirs(file))
        if file.source is RuleSource.MANAGED:
            flag = file.data.get("allowManagedPermissionRulesOnly", False)
            if not isinstance(flag, bool):
                raise ConfigurationError(
                    f"{file.path}: 'allowManagedPermissionRulesOnly' must be true or false"
                )
            managed_only = flag
    return PermissionEngine(
        rules,
        cwd=base,
        home=settings.home,
        additional_dirs=dirs,
        managed_only=managed_only,
    )
