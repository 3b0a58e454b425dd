"""Claude Code's settings files: which exist for a working directory, parsed.

========  ==============================================  ===================================
source    file                                            folder its ``/path`` patterns mean
========  ==============================================  ===================================
managed   ``<SKILLD_MANAGED_DIR>/managed-settings.json``  the managed directory
local     ``<cwd>/.claude/settings.local.json``           the working directory
project   ``<cwd>/.claude/settings.json``                 the working directory
user      ``<home>/.claude/settings.json``                ``<home>/.claude``
========  ==============================================  ===================================

Highest precedence first. A missing file is no error; an empty one is an empty object (as
Claude Code reads it), a UTF-8 BOM is accepted. A file that cannot be read or is not a
JSON object raises :class:`~skilld.exceptions.SettingsFileError` naming it: what reads
these files (permission rules, the listing's settings) never skips one silently, and the
hooks (:mod:`skilld.hooks.sources`) report it and go on with the other files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skilld.exceptions import SettingsFileError
from skilld.permissions import RuleSource
from skilld.settings import Settings

__all__ = [
    "MANAGED_SETTINGS_FILE",
    "SettingsFile",
    "read_settings_file",
    "read_settings_files",
    "settings_file_paths",
]

MANAGED_SETTINGS_FILE = "managed-settings.json"


@dataclass(frozen=True, slots=True)
class SettingsFile:
    """One settings file that exists, parsed: where it is, its source, its JSON object."""

    source: RuleSource
    path: Path
    root: Path
    data: Mapping[str, Any] = field(default_factory=dict)


def settings_file_paths(cwd: Path, settings: Settings) -> list[tuple[RuleSource, Path, Path]]:
    """Every settings file Claude Code reads for ``cwd``, as (source, file, root folder).

    Highest precedence first; the files need not exist. The one list of them: permission
    rules, the listing's settings and hooks all read these.
    """
    home_claude = settings.home / ".claude"
    return [
        (RuleSource.MANAGED, settings.managed_dir / MANAGED_SETTINGS_FILE, settings.managed_dir),
        (RuleSource.LOCAL, cwd / ".claude" / "settings.local.json", cwd),
        (RuleSource.PROJECT, cwd / ".claude" / "settings.json", cwd),
        (RuleSource.USER, home_claude / "settings.json", home_claude),
    ]


def read_settings_file(path: Path) -> Mapping[str, Any] | None:
    """One settings file's JSON object, None if it does not exist.

    Raises :class:`SettingsFileError` naming the file (and line) when it cannot be used.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # Windows editors write a BOM
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise SettingsFileError(path, "is a folder, not a settings file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsFileError(path, f"cannot be read: {error}") from error
    if not text.strip():
        return {}  # an empty file is an empty object, as Claude Code treats it
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingsFileError(
            path, f"invalid JSON: {error.msg}", line=error.lineno, column=error.colno
        ) from error
    if not isinstance(data, dict):
        raise SettingsFileError(path, f"settings must be a JSON object, not {type(data).__name__}")
    return data


def read_settings_files(
    cwd: str | os.PathLike[str] | None = None, *, settings: Settings | None = None
) -> list[SettingsFile]:
    """The settings files that exist for ``cwd``, highest precedence first.

    Raises :class:`SettingsFileError` naming the file when one cannot be parsed.
    """
    settings = settings if settings is not None else Settings.from_env()
    base = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    found: list[SettingsFile] = []
    for source, path, root in settings_file_paths(base, settings):
        data = read_settings_file(path)
        if data is not None:
            found.append(SettingsFile(source, path, root, data))
    return found
