"""Which files a path names: a SKILL.md, a command file, or every one in a folder tree.

In a tree every ``SKILL.md`` (in any case) is a skill, and every other ``.md`` below a
folder named ``commands`` that is not part of a skill is a command file (named
``dir:name`` after the folders below ``commands``). ``.git``, ``node_modules`` and other
tool folders are skipped; symlinked folders are visited once; depth is bounded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from skilld.skills.model import Diagnostic
from skilld.skills.validate.reports import FileKind, FileReport

__all__ = ["find_files", "missing_report"]

_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".tox"})
_MAX_DEPTH = 32


def find_files(target: Path) -> Iterator[tuple[Path, FileKind, str | None, Path | None]]:
    if target.is_file():
        if target.name.lower() == "skill.md":
            yield target, "skill", target.parent.name, target.parent
        elif target.suffix.lower() == ".md":
            yield target, "command", target.stem, None
        return
    if not target.is_dir():
        return
    visited: set[str] = set()
    # each directory: (path, parts of its path relative to the target's parent, in a skill)
    stack: list[tuple[Path, tuple[str, ...], bool]] = [(target, (target.name,), False)]
    while stack:
        folder, parts, in_skill = stack.pop()
        real = os.path.realpath(folder)
        if real in visited or len(parts) > _MAX_DEPTH:
            continue
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        files = [e for e in entries if _is_file(e)]
        skill_files = [e for e in files if e.name.lower() == "skill.md"]
        if skill_files:
            exact = [e for e in skill_files if e.name == "SKILL.md"]
            chosen = (exact or skill_files)[0]
            yield Path(chosen.path), "skill", folder.name, folder
        elif not in_skill and "commands" in parts:
            below = parts[len(parts) - 1 - parts[::-1].index("commands") + 1 :]
            for entry in files:
                if entry.name.lower().endswith(".md"):
                    name = ":".join((*below, entry.name[:-3]))
                    yield Path(entry.path), "command", name, None
        children = [e for e in entries if e.name not in _SKIP_DIRS and _is_dir(e)]
        for entry in reversed(children):  # the stack pops them in name order
            stack.append((Path(entry.path), (*parts, entry.name), in_skill or bool(skill_files)))


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def missing_report(target: Path) -> FileReport:
    if not target.exists():
        message, fix = "path does not exist", "give the path of a skill folder or a SKILL.md"
    elif target.is_dir():
        message = "no SKILL.md found in this folder or below, and no commands folder"
        fix = "give a folder that holds <name>/SKILL.md, or a SKILL.md itself"
    else:
        message = "not a SKILL.md or a Markdown command file"
        fix = "give a SKILL.md, a command .md file or a folder of skills"
    return FileReport(
        target, "path", None, (Diagnostic("error", message, target, None, None, fix),)
    )
