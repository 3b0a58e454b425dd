"""Legacy slash commands: ``.claude/commands/**/*.md``.

The command name is the file name without ``.md``; subfolders namespace it
(``frontend/component.md`` is ``frontend:component``). A subfolder holding a
``SKILL.md`` is a skill written in the commands folder: it loads whole, named by its
namespaced folder path, and is not searched further. Files named ``README.md`` are
commands too, as in Claude Code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from skilld.exceptions import SkillParseError
from skilld.skills.model import Diagnostic, LoadedFrom, Source
from skilld.skills.sources.base import Batch, Loaded, read_skill
from skilld.skills.sources.scan import NEVER_SCANNED, SKILL_FILE

__all__ = ["MAX_COMMAND_DEPTH", "load_commands"]

MAX_COMMAND_DEPTH = 8
"""Namespace levels followed below a commands folder."""


def _entries(path: str, batch: Batch) -> list[os.DirEntry[str]] | None:
    try:
        with os.scandir(path) as iterator:
            return sorted(iterator, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        batch.diagnostics.append(
            Diagnostic(
                "warning",
                f"cannot read folder: {exc.strerror or exc}; commands in it are skipped",
                Path(path),
            )
        )
        return None


def load_commands(
    folder: str | Path,
    *,
    source: Source,
    loaded_from: LoadedFrom = LoadedFrom.COMMANDS,
    naming: Callable[[str], str] | None = None,
    plugin: str | None = None,
    plugin_root: Path | None = None,
) -> Batch:
    """Every command below ``folder``, in name order (files before the folders' contents)."""
    batch = Batch()
    root = os.fspath(folder)
    if not os.path.isdir(root):
        return batch
    visited: set[str] = set()

    def load(path: str, real: str, name: str, directory: Path | None) -> None:
        full_name = naming(name) if naming is not None else name
        try:
            skill = read_skill(
                path,
                name=full_name,
                source=source,
                loaded_from=loaded_from,
                directory=directory,
                plugin=plugin,
                plugin_root=plugin_root,
            )
        except SkillParseError as exc:
            batch.diagnostics.append(
                Diagnostic(
                    "error",
                    f"command not loaded: {exc.reason}",
                    exc.path,
                    fix="fix or remove the file; the other commands loaded",
                )
            )
            return
        batch.loaded.append(Loaded(skill, real))

    def walk(path: str, real: str, prefix: tuple[str, ...]) -> None:
        if real in visited:
            return
        visited.add(real)
        entries = _entries(path, batch)
        if entries is None:
            return
        subdirs: list[os.DirEntry[str]] = []
        for entry in entries:
            entry_real = (
                os.path.realpath(entry.path)
                if entry.is_symlink()
                else os.path.join(real, entry.name)
            )
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if is_dir:
                if entry.name not in NEVER_SCANNED:
                    subdirs.append(entry)
            elif entry.name.endswith(".md") and len(entry.name) > 3:
                load(entry.path, entry_real, ":".join((*prefix, entry.name[:-3])), None)
        for entry in subdirs:
            entry_real = (
                os.path.realpath(entry.path)
                if entry.is_symlink()
                else os.path.join(real, entry.name)
            )
            skill_file = os.path.join(entry.path, SKILL_FILE)
            if os.path.isfile(skill_file):
                load(
                    skill_file,
                    os.path.join(entry_real, SKILL_FILE),
                    ":".join((*prefix, entry.name)),
                    Path(entry.path),
                )
            elif len(prefix) < MAX_COMMAND_DEPTH:
                walk(entry.path, entry_real, (*prefix, entry.name))

    walk(root, os.path.realpath(root), ())
    return batch
