"""Bundled skills: skills that ship inside Python code, registered at import time.

A bundled skill may carry reference files (scripts, templates) as a map of relative
path to content. They are written to disk only when the skill is first used, into a
per-process directory with an unpredictable name (``mkdtemp``), folders ``0700`` and
files ``0600``, each file created with ``O_EXCL | O_NOFOLLOW`` so nothing planted in
advance (a file or a symlink) is ever written through. Absolute paths and paths with
``..`` are refused when the skill is registered. Threads using the skill for the first
time at once share one extraction; a failed extraction does not break the skill: it
works without its files and says so in a diagnostic.

Any local skill of the same name overrides a bundled one (the registry puts bundled
skills last).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from skilld.exceptions import BundledSkillError
from skilld.skills.loader import skill_from_text
from skilld.skills.model import Diagnostic, LoadedFrom, Skill, Source

__all__ = [
    "BundledSkill",
    "bundled_skill_directory",
    "bundled_skills",
    "get_bundled_skill",
    "prepare_bundled_skill",
    "register_bundled_skill",
    "unregister_bundled_skill",
]

logger = logging.getLogger(__name__)

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


def _check_relative(path: str) -> PurePosixPath:
    """A safe relative path, or :class:`BundledSkillError` naming the bad one."""
    if not path or "\0" in path:
        raise BundledSkillError(f"bundled file path {path!r} is empty or holds a NUL byte")
    windows = PureWindowsPath(path)
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        raise BundledSkillError(f"bundled file path {path!r} is absolute; use a relative path")
    if ".." in posix.parts:
        raise BundledSkillError(f"bundled file path {path!r} contains '..'")
    if not posix.parts or posix.parts == (".",):
        raise BundledSkillError(f"bundled file path {path!r} names no file")
    return posix


def _check_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise BundledSkillError(f"bundled skill name {name!r} cannot name a folder")
    return name


class _ExtractionRoot:
    """The per-process folder bundled files are written to, made on first need."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._pid = 0

    def get(self) -> Path:
        with self._lock:
            if self._path is None or self._pid != os.getpid():  # a forked child gets its own
                self._path = Path(tempfile.mkdtemp(prefix="skilld-bundled-"))  # mode 0700
                self._pid = os.getpid()
            return self._path

    def reset(self) -> None:
        with self._lock:
            self._path = None


_ROOT = _ExtractionRoot()


@dataclass(eq=False)
class BundledSkill:
    """A registered bundled skill: its :class:`Skill` and its not-yet-written files."""

    skill: Skill
    files: Mapping[PurePosixPath, bytes]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done: bool = field(default=False, repr=False)
    _directory: Path | None = field(default=None, repr=False)
    _error: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.skill.name

    @property
    def extraction_error(self) -> str | None:
        """Why the files could not be written, once an extraction has failed."""
        return self._error

    def extract(self) -> Path | None:
        """The folder holding the files, written on the first call; None if it failed.

        Concurrent first calls wait for one extraction and share its result; a failure
        is not retried (the skill keeps working without its files).
        """
        if self._done:
            return self._directory
        with self._lock:
            if not self._done:
                try:
                    self._directory = self._write()
                except (OSError, BundledSkillError) as exc:
                    self._error = str(exc)
                    logger.warning("bundled skill %s: files not extracted: %s", self.name, exc)
                self._done = True
        return self._directory

    def _write(self) -> Path:
        folder = _ROOT.get() / self.name
        os.mkdir(folder, 0o700)  # fails if anything already sits there
        for relative, data in self.files.items():
            target = folder
            for part in relative.parts[:-1]:
                target = target / part
                try:
                    os.mkdir(target, 0o700)
                except FileExistsError:
                    if target.is_symlink() or not target.is_dir():
                        raise BundledSkillError(f"{target} is not a plain folder") from None
            target = target / relative.parts[-1]
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_BINARY
            fd = os.open(target, flags, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        return folder


_REGISTRY: dict[str, BundledSkill] = {}
_REGISTRY_LOCK = threading.Lock()


def register_bundled_skill(
    name: str,
    content: str,
    *,
    files: Mapping[str, str | bytes] | None = None,
    **skill_fields: Any,
) -> Skill:
    """Register a skill shipped in code; returns the :class:`Skill` the registry will list.

    Args:
        name: the command name (``/name``).
        content: the SKILL.md text, frontmatter and body.
        files: reference files, relative path to text or bytes, written on first use.
        skill_fields: extra :class:`Skill` fields (``plugin``, ``plugin_root``...).

    Raises :class:`BundledSkillError` for a name or file path that is not safe. A second
    registration under the same name replaces the first.
    """
    _check_name(name)
    checked: dict[PurePosixPath, bytes] = {}
    for path, data in (files or {}).items():
        relative = _check_relative(path)
        if relative in checked:
            raise BundledSkillError(f"bundled file path {path!r} is given twice")
        checked[relative] = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    digest = hashlib.sha256(content.encode("utf-8"))
    for relative in sorted(checked):
        digest.update(b"\0" + str(relative).encode("utf-8") + b"\0" + checked[relative])
    skill = skill_from_text(
        content,
        name=name,
        source=Source.BUNDLED,
        loaded_from=LoadedFrom.BUNDLED,
        fixed_version="sha256:" + digest.hexdigest(),
        **skill_fields,
    )
    with _REGISTRY_LOCK:
        _REGISTRY[name] = BundledSkill(skill, checked)
    return skill


def unregister_bundled_skill(name: str) -> bool:
    """Forget a bundled skill; True if it was registered."""
    with _REGISTRY_LOCK:
        return _REGISTRY.pop(name, None) is not None


def bundled_skills() -> list[Skill]:
    """Every registered bundled skill, by name."""
    with _REGISTRY_LOCK:
        return [_REGISTRY[name].skill for name in sorted(_REGISTRY)]


def get_bundled_skill(name: str) -> BundledSkill | None:
    with _REGISTRY_LOCK:
        return _REGISTRY.get(name)


def bundled_skill_directory(name: str) -> Path | None:
    """The extracted folder of a bundled skill with files (extracting it now if needed)."""
    bundled = get_bundled_skill(name)
    if bundled is None or not bundled.files:
        return None
    return bundled.extract()


def prepare_bundled_skill(skill: Skill) -> Skill:
    """The skill ready to run: with ``directory`` set to its extracted files.

    Call it when a bundled skill is invoked. Other skills, and bundled skills without
    files, come back unchanged; when the extraction failed the skill comes back
    without a directory and with a warning diagnostic.
    """
    if skill.source is not Source.BUNDLED or skill.directory is not None:
        return skill
    bundled = get_bundled_skill(skill.name)
    if bundled is None or not bundled.files:
        return skill
    directory = bundled.extract()
    if directory is not None:
        return replace(skill, directory=directory)
    warning = Diagnostic(
        "warning",
        f"reference files could not be extracted ({bundled.extraction_error}); "
        "the skill runs without them",
    )
    return replace(skill, diagnostics=(*skill.diagnostics, warning))
