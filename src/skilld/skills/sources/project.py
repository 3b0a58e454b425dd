"""Project skills: ``.claude/skills`` and ``.agents/skills`` from the working directory up.

The walk goes from the working directory to its repository root (the nearest folder
holding ``.git``). Outside a repository it goes up to, but not into, the home folder
(whose ``.claude`` holds the *user* skills) or the file-system root. Nearer folders
come first, so a skill in ``repo/app`` shadows one of the same name in ``repo``.
"""

from __future__ import annotations

import os
from pathlib import Path

from skilld.settings import Settings
from skilld.skills.model import Source
from skilld.skills.sources.base import Batch, skills_in_folder
from skilld.skills.sources.commands import load_commands

__all__ = ["PROJECT_SKILL_FOLDERS", "project_commands", "project_dirs", "project_skills"]

PROJECT_SKILL_FOLDERS = (".claude/skills", ".agents/skills")


def project_dirs(cwd: Path, settings: Settings) -> list[Path]:
    """The working directory and its parents whose skills count, nearest first."""
    home = os.path.abspath(settings.home)
    current = os.path.abspath(cwd)
    dirs: list[Path] = []
    while True:
        if current == home:
            break
        dirs.append(Path(current))
        if os.path.lexists(os.path.join(current, ".git")):
            break
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return dirs


def project_skills(cwd: Path, settings: Settings) -> Batch:
    batch = Batch()
    for folder in project_dirs(cwd, settings):
        for relative in PROJECT_SKILL_FOLDERS:
            batch.extend(skills_in_folder(folder / relative, source=Source.PROJECT))
    return batch


def project_commands(cwd: Path, settings: Settings) -> Batch:
    batch = Batch()
    for folder in project_dirs(cwd, settings):
        batch.extend(load_commands(folder / ".claude" / "commands", source=Source.PROJECT))
    return batch
