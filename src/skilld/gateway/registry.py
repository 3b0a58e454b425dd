"""The skills a gateway knows: any object with ``skills()`` and ``get(name)``.

:class:`~skilld.skills.registry.SkillRegistry` is the usual one; the protocol keeps the
gateway from depending on how skills are found.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Protocol

from skilld.exceptions import SkillNotFoundError
from skilld.skills.model import Skill

__all__ = ["SkillCatalog", "find_skill"]


class SkillCatalog(Protocol):
    def skills(self) -> Sequence[Skill]: ...

    def get(self, name: str) -> Skill | None: ...


def find_skill(catalog: SkillCatalog, name: str) -> Skill:
    """The skill called ``name``, or :class:`SkillNotFoundError` with the closest names."""
    skill = catalog.get(name)
    if skill is None:
        names = [s.name for s in catalog.skills()]
        raise SkillNotFoundError(name, difflib.get_close_matches(name, names, n=3, cutoff=0.6))
    return skill
