"""Personal skills: ``~/.claude/skills`` then ``~/.agents/skills``; commands in ``~/.claude``.

``~`` is :attr:`Settings.home` (``SKILLD_HOME``), so tests never read a real home.
"""

from __future__ import annotations

from skilld.settings import Settings
from skilld.skills.model import Source
from skilld.skills.sources.base import Batch, skills_in_folder
from skilld.skills.sources.commands import load_commands

__all__ = ["user_commands", "user_skills"]


def user_skills(settings: Settings) -> Batch:
    batch = skills_in_folder(settings.home / ".claude" / "skills", source=Source.USER)
    batch.extend(skills_in_folder(settings.home / ".agents" / "skills", source=Source.USER))
    return batch


def user_commands(settings: Settings) -> Batch:
    return load_commands(settings.home / ".claude" / "commands", source=Source.USER)
