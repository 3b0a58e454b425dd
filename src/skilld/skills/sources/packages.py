"""Skills shipped in Python packages, declared under the entry-point group ``skilld.skills``.

A distribution declares, in its ``pyproject.toml``::

    [project.entry-points."skilld.skills"]
    my-tools = "my_package"            # the package folder (or its skills/ subfolder)
    more = "my_package.skills:ROOT"    # a path, or a function returning path(s)

The object an entry point loads may be a module (its folder, or that folder's
``skills/`` subfolder when there is one), a path (``str`` or ``os.PathLike``), a
function returning either, or a list of them. Each path is a skill folder (holding
``SKILL.md``) or a folder of skill folders. A broken entry point is reported and
skipped. Package skills rank after every local skill and command.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from skilld.skills.model import Diagnostic, LoadedFrom, Source
from skilld.skills.sources.base import Batch, skills_from_found
from skilld.skills.sources.scan import SKILL_FILE, FoundSkill, scan_skills_folder

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["ENTRY_POINT_GROUP", "package_skills"]

ENTRY_POINT_GROUP = "skilld.skills"


def _paths_of(value: object, depth: int = 0) -> list[Path]:
    if isinstance(value, ModuleType):
        files = getattr(value, "__path__", None)
        folder = Path(next(iter(files))) if files else Path(value.__file__ or ".").parent
        return [folder / "skills" if (folder / "skills").is_dir() else folder]
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    if callable(value) and depth == 0:
        return _paths_of(value(), depth + 1)
    if isinstance(value, Iterable) and not isinstance(value, bytes) and depth <= 1:
        return [p for item in value for p in _paths_of(item, 2)]
    raise TypeError(f"expected a module, a path or a list of paths, got {type(value).__name__}")


def _entry_point_paths(entry: EntryPoint, diagnostics: list[Diagnostic]) -> list[Path]:
    try:
        return _paths_of(entry.load())
    except Exception as exc:  # a third-party import may raise anything
        diagnostics.append(
            Diagnostic(
                "warning",
                f"entry point {entry.name} = {entry.value} could not be loaded: "
                f"{type(exc).__name__}: {exc}",
                field=ENTRY_POINT_GROUP,
                fix="fix or uninstall the package that declares it",
            )
        )
        return []


def package_skills() -> Batch:
    from importlib.metadata import entry_points  # ~15 ms to import: only when asked

    batch = Batch()
    found: list[FoundSkill] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        for path in _entry_point_paths(entry, batch.diagnostics):
            if (path / SKILL_FILE).is_file():
                real = os.path.realpath(path / SKILL_FILE)
                found.append(FoundSkill(str(path / SKILL_FILE), real, str(path.parent)))
            elif path.is_dir():
                found.extend(scan_skills_folder(path, batch.diagnostics))
            else:
                batch.diagnostics.append(
                    Diagnostic(
                        "warning",
                        f"entry point {entry.name} names a folder that does not exist",
                        path,
                        field=ENTRY_POINT_GROUP,
                    )
                )
    batch.extend(skills_from_found(found, source=Source.PACKAGE, loaded_from=LoadedFrom.PACKAGE))
    return batch
