"""Managed (enterprise) skills and commands, under ``<managed dir>/.claude``.

The managed directory is Claude Code's managed-settings directory (``/etc/claude-code``
on Linux), moved with ``SKILLD_MANAGED_DIR``. Its skills come first in precedence.
"""

from __future__ import annotations

from skilld.settings import Settings
from skilld.skills.model import Source
from skilld.skills.sources.base import Batch, skills_in_folder
from skilld.skills.sources.commands import load_commands

__all__ = ["managed_commands", "managed_skills"]


def managed_skills(settings: Settings) -> Batch:
    return skills_in_folder(settings.managed_dir / ".claude" / "skills", source=Source.MANAGED)


def managed_commands(settings: Settings) -> Batch:
    return load_commands(settings.managed_dir / ".claude" / "commands", source=Source.MANAGED)
