"""What every source hands the registry: skills with their canonical paths, and findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import MAX_FILE_BYTES, parse_frontmatter
from skilld.skills.loader import skill_from_document
from skilld.skills.model import Diagnostic, LoadedFrom, Skill, Source
from skilld.skills.sources.scan import FoundSkill

_FIRST_READ = 64 * 1024

__all__ = ["Batch", "Loaded", "read_skill", "skills_from_found", "skills_in_folder"]


@dataclass(frozen=True, slots=True)
class Loaded:
    """A loaded skill and the key it is deduplicated on (its file's canonical path).

    ``qualify`` tells where a skill sits when two skills of one tree share a name
    (``apps/web`` in ``apps/web:deploy``); the registry calls it only on a clash.
    """

    skill: Skill
    real: str | None
    qualify: Callable[[], str] | None = None


@dataclass(slots=True)
class Batch:
    """The output of one source: skills in precedence order, plus what went wrong."""

    loaded: list[Loaded] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def extend(self, other: Batch) -> None:
        self.loaded.extend(other.loaded)
        self.diagnostics.extend(other.diagnostics)


def read_skill(
    path: str,
    *,
    name: str,
    source: Source,
    loaded_from: LoadedFrom,
    directory: Path | None,
    plugin: str | None = None,
    plugin_root: Path | None = None,
    file: Path | None = None,
) -> Skill:
    """Read and build one skill; raises :class:`SkillParseError` if the file is unreadable.

    One ``open`` and one bounded ``read`` per file (no ``stat``): this is the hot path
    of a cold load.
    """
    file = file if file is not None else Path(path)
    try:
        with open(path, "rb") as handle:
            # a small first read: asking for MAX_FILE_BYTES at once allocates that much
            data = handle.read(_FIRST_READ)
            if len(data) == _FIRST_READ:
                data += handle.read(MAX_FILE_BYTES + 1 - _FIRST_READ)
    except OSError as exc:
        raise SkillParseError(f"cannot read file: {exc.strerror or exc}", path=file) from exc
    document = parse_frontmatter(data, path=file)
    return skill_from_document(
        document,
        name=name,
        source=source,
        loaded_from=loaded_from,
        path=file,
        directory=directory,
        plugin=plugin,
        plugin_root=plugin_root,
    )


def skills_from_found(
    found: Iterable[FoundSkill],
    *,
    source: Source,
    loaded_from: LoadedFrom = LoadedFrom.SKILLS,
    naming: Callable[[str], str] | None = None,
    qualify: Callable[[FoundSkill], str] | None = None,
    plugin: str | None = None,
    plugin_root: Path | None = None,
) -> Batch:
    """Load every found skill file; an unreadable one is skipped with an error diagnostic.

    The command name is the skill folder's name, passed through ``naming`` (plugins
    prefix it with ``plugin:``).
    """
    batch = Batch()
    for item in found:
        file = Path(item.file)
        folder = file.parent
        name = folder.name
        if naming is not None:
            name = naming(name)
        try:
            skill = read_skill(
                item.file,
                name=name,
                source=source,
                loaded_from=loaded_from,
                directory=folder,
                plugin=plugin,
                plugin_root=plugin_root,
                file=file,
            )
        except SkillParseError as exc:
            batch.diagnostics.append(
                Diagnostic(
                    "error",
                    f"skill not loaded: {exc.reason}",
                    exc.path,
                    exc.line,
                    fix="fix or remove the file; the other skills loaded",
                )
            )
            continue
        where = partial(qualify, item) if qualify is not None else None
        batch.loaded.append(Loaded(skill, item.real, where))
    return batch


def skills_in_folder(folder: str | Path, *, source: Source) -> Batch:
    """The skills of one Claude Code skills folder (``<folder>/<name>/SKILL.md``)."""
    from skilld.skills.sources.scan import scan_skills_folder

    batch = Batch()
    found = scan_skills_folder(folder, batch.diagnostics)
    batch.extend(skills_from_found(found, source=source))
    return batch
