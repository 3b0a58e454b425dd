"""``--add-dir`` roots: every skill folder found anywhere below the root.

Claude Code reads ``<dir>/.claude/skills`` of an added directory; skilld searches the
whole tree (bounded, git-ignore aware, see :mod:`skilld.skills.sources.scan`), which
covers that layout and the ones real repositories use (``skills/``,
``plugins/*/skills/``, dot-folders, skills inside skills). ``<dir>/.claude/commands``
holds legacy commands as in a project.

Two skills of one root with the same folder name both load: the registry keeps the
first plain and qualifies the next with where it sits (``plugins/b:deploy``).
"""

from __future__ import annotations

import os
from pathlib import Path

from skilld.settings import Settings
from skilld.skills.model import Diagnostic, Source
from skilld.skills.sources.base import Batch, skills_from_found
from skilld.skills.sources.commands import load_commands
from skilld.skills.sources.scan import FoundSkill, ScanLimits, scan_tree

__all__ = ["add_dir_commands", "add_dir_skills", "qualifier_for"]

_CONTAINER_SUFFIXES = ("/.claude/skills", "/.agents/skills", "/skills")


def qualifier_for(container: str, root: str) -> str:
    """Where a skill sits, for telling apart two skills of one name: ``apps/web``."""
    rel = os.path.relpath(container, root).replace(os.sep, "/")
    rel = "" if rel == "." else rel
    for suffix in _CONTAINER_SUFFIXES:
        if ("/" + rel).endswith(suffix):
            rel = ("/" + rel)[: -len(suffix)].lstrip("/")
            break
    return rel or os.path.basename(os.path.abspath(root))


def add_dir_skills(root: Path, settings: Settings) -> Batch:
    batch = Batch()
    if not root.is_dir():
        batch.diagnostics.append(
            Diagnostic(
                "warning",
                "added directory does not exist or is not a folder",
                root,
                fix="check the --add-dir path",
            )
        )
        return batch
    limits = ScanLimits(settings.scan_max_depth, settings.scan_max_dirs)
    found = scan_tree(root, limits, batch.diagnostics)
    base = os.path.abspath(root)

    def qualify(item: FoundSkill) -> str:
        return qualifier_for(item.container, base)

    batch.extend(skills_from_found(found, source=Source.ADD_DIR, qualify=qualify))
    return batch


def add_dir_commands(root: Path) -> Batch:
    return load_commands(root / ".claude" / "commands", source=Source.ADD_DIR)
