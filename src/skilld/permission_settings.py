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

The same files carry the listing's settings, read by :func:`load_listing_settings` with
the same precedence: ``skillOverrides`` (how each skill appears), merged name by name,
``skillListingBudgetFraction`` (share of the context window, default 0.01) and
``skillListingMaxDescChars`` (cap on one entry, default 1,536), the highest file winning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from skilld.exceptions import ConfigurationError, PermissionRuleError
from skilld.permissions import (
    PermissionBehavior,
    PermissionEngine,
    PermissionRule,
    RuleSource,
)
from skilld.settings import Settings
from skilld.skills.listing import DEFAULT_CONTEXT_FRACTION, MAX_ENTRY_CHARS

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

MANAGED_SETTINGS_FILE = "managed-settings.json"
_BEHAVIORS: tuple[PermissionBehavior, ...] = ("allow", "ask", "deny")


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """One settings file that exists, parsed: where it is, its source, its JSON object."""

    source: RuleSource
    path: Path
    root: Path
    data: Mapping[str, Any] = field(default_factory=dict)


def _candidates(cwd: Path, settings: Settings) -> list[tuple[RuleSource, Path, Path]]:
    home_claude = settings.home / ".claude"
    return [
        (RuleSource.MANAGED, settings.managed_dir / MANAGED_SETTINGS_FILE, settings.managed_dir),
        (RuleSource.LOCAL, cwd / ".claude" / "settings.local.json", cwd),
        (RuleSource.PROJECT, cwd / ".claude" / "settings.json", cwd),
        (RuleSource.USER, home_claude / "settings.json", home_claude),
    ]


def _read_json(path: Path) -> Mapping[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigurationError(f"{path}: is a folder, not a settings file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: cannot be read: {error}") from error
    if not text.strip():
        return {}  # an empty file is an empty object, as Claude Code treats it
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(
            f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}"
        ) from error
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: settings must be a JSON object, not {type(data).__name__}"
        )
    return data


def read_settings_files(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> list[SettingsFile]:
    """The settings files that exist for ``cwd``, highest precedence first.

    Raises :class:`ConfigurationError` naming the file when one cannot be parsed.
    """
    settings = settings if settings is not None else Settings.from_env()
    base = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    found: list[SettingsFile] = []
    for source, path, root in _candidates(base, settings):
        data = _read_json(path)
        if data is not None:
            found.append(SettingsFile(source, path, root, data))
    return found


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


def load_skill_overrides(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> dict[str, str]:
    """``skillOverrides`` merged from the settings files, the higher source winning."""
    return _merge_overrides(read_settings_files(cwd, settings=settings))


def _merge_overrides(files: Sequence[SettingsFile]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for file in reversed(files):
        overrides = file.data.get("skillOverrides")
        if overrides is None:
            continue
        if not isinstance(overrides, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in overrides.items()
        ):
            raise ConfigurationError(
                f"{file.path}: 'skillOverrides' must map skill names to "
                "on, name-only, user-invocable-only or off"
            )
        merged.update(overrides)
    return merged


@dataclass(frozen=True, slots=True)
class ListingSettings:
    """What the settings files say about the skill listing (defaults when they are silent)."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    fraction: float = DEFAULT_CONTEXT_FRACTION
    max_entry_chars: int = MAX_ENTRY_CHARS


def load_listing_settings(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> ListingSettings:
    """``skillOverrides``, ``skillListingBudgetFraction`` and ``skillListingMaxDescChars``."""
    files = read_settings_files(cwd, settings=settings)
    fraction = DEFAULT_CONTEXT_FRACTION
    max_chars = MAX_ENTRY_CHARS
    for file in reversed(files):  # lowest precedence first, so higher files win
        value = file.data.get("skillListingBudgetFraction")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ConfigurationError(
                    f"{file.path}: 'skillListingBudgetFraction' must be a number in (0, 1], "
                    f"not {value!r}"
                )
            fraction = float(value)
        value = file.data.get("skillListingMaxDescChars")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(
                    f"{file.path}: 'skillListingMaxDescChars' must be a whole number >= 1, "
                    f"not {value!r}"
                )
            max_chars = value
    return ListingSettings(_merge_overrides(files), fraction, max_chars)
