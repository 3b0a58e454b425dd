"""The skill model: one frozen :class:`Skill` per loaded skill, and its diagnostics."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Diagnostic",
    "DiagnosticLevel",
    "LoadedFrom",
    "Skill",
    "Source",
    "content_hash",
]

DiagnosticLevel = Literal["error", "warning", "info"]


class Source(StrEnum):
    """Where a skill comes from; the order of precedence is managed > user > project."""

    MANAGED = "managed"
    USER = "user"
    PROJECT = "project"
    ADD_DIR = "add-dir"
    PLUGIN = "plugin"
    PACKAGE = "package"
    BUNDLED = "bundled"
    MCP = "mcp"
    REMOTE = "remote"


class LoadedFrom(StrEnum):
    """How a skill was loaded: a skill folder, a legacy command file, a plugin..."""

    SKILLS = "skills"
    COMMANDS = "commands"
    PLUGIN = "plugin"
    PACKAGE = "package"
    BUNDLED = "bundled"
    MCP = "mcp"
    REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a skill file: what, where, and how to fix it."""

    level: DiagnosticLevel
    message: str
    path: Path | None = None
    line: int | None = None
    field: str | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "message": self.message,
            "path": str(self.path) if self.path is not None else None,
            "line": self.line,
            "field": self.field,
            "fix": self.fix,
        }

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "<skill>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        what = f"{self.field}: {self.message}" if self.field else self.message
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}: {self.level}: {what}{fix}"


# Folders never hashed as part of a skill's content.
_HASH_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", ".mypy_cache"})


def content_hash(target: Path) -> str:
    """sha256 over a file, or over every file of a folder (relative path + bytes).

    The digest depends on content and relative names only, never on where the folder
    lives or on timestamps, so two copies of a skill have the same version.
    """
    digest = hashlib.sha256()
    if target.is_file():
        digest.update(target.read_bytes())
        return "sha256:" + digest.hexdigest()
    files: list[tuple[str, str]] = []
    for root, dirs, names in os.walk(target, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _HASH_SKIP_DIRS)
        for name in names:
            full = os.path.join(root, name)
            files.append((os.path.relpath(full, target).replace(os.sep, "/"), full))
    for rel, full in sorted(files):
        try:
            data = Path(full).read_bytes()
        except OSError:
            continue  # a dangling link or an unreadable file does not make a version
        digest.update(rel.encode("utf-8", "surrogateescape"))
        digest.update(b"\0%d\0" % len(data))
        digest.update(data)
    return "sha256:" + digest.hexdigest()


class _VersionCache:
    """Holds :attr:`Skill.version` once computed, in a slot that is no dataclass field.

    Not a field, so it is no part of equality, ``repr``, ``dataclasses.replace`` or
    ``pickle`` (a copy computes its own), and code that reviews every field (the
    permission checks of :mod:`skilld.permissions.skills`) never sees it.
    """

    __slots__ = ("_version",)
    _version: str


@dataclass(frozen=True, eq=False, slots=True)
class Skill(_VersionCache):
    """A loaded skill: its frontmatter fields, already coerced, and where it came from.

    ``name`` is the command name a user types after ``/`` (the folder name for skills,
    ``plugin:skill`` for plugin skills, ``dir:name`` for namespaced commands);
    ``display_name`` is the frontmatter ``name`` when there is one.

    Slotted: a registry holds thousands, and an instance ``__dict__`` cost about a
    quarter of each one's memory. The lazily computed :attr:`version` lives in a private
    slot instead of a ``cached_property``'s dict entry.
    """

    name: str
    description: str
    body: str
    source: Source
    loaded_from: LoadedFrom
    path: Path | None = None
    directory: Path | None = None
    display_name: str | None = None
    description_from_body: bool = False
    when_to_use: str | None = None
    argument_hint: str | None = None
    arguments: tuple[str, ...] = ()
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    model: str | None = None
    effort: str | int | None = None
    context: Literal["inline", "fork"] = "inline"
    agent: str | None = None
    hooks: Mapping[str, Any] | None = None
    paths: tuple[str, ...] = ()
    shell: str | None = None
    disable_model_invocation: bool = False
    user_invocable: bool = True
    license: str | None = None
    compatibility: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    plugin: str | None = None
    plugin_root: Path | None = None
    frontmatter: Mapping[str, Any] = field(default_factory=dict)
    body_line: int = 1
    diagnostics: tuple[Diagnostic, ...] = ()
    fixed_version: str | None = field(default=None, repr=False)

    @property
    def model_invocable(self) -> bool:
        return not self.disable_model_invocation

    @property
    def conditional(self) -> bool:
        """A skill with ``paths`` stays hidden until a matching file is touched."""
        return bool(self.paths)

    @property
    def has_errors(self) -> bool:
        return any(d.level == "error" for d in self.diagnostics)

    @property
    def version(self) -> str:
        """Content hash of the skill folder (or command file); computed on first use."""
        try:
            return self._version
        except AttributeError:  # the slot is unset until the first call
            version = self._compute_version()
            object.__setattr__(self, "_version", version)  # a cache, not a field change
            return version

    def _compute_version(self) -> str:
        if self.fixed_version is not None:
            return self.fixed_version
        target = self.directory if self.loaded_from is not LoadedFrom.COMMANDS else self.path
        if target is not None and target.exists():
            return content_hash(target)
        try:
            blob = json.dumps([self.frontmatter, self.body], sort_keys=True, default=str)
        except (RecursionError, ValueError):
            # YAML accepts nesting deeper than json can write; the keys and body still
            # tell versions apart, and a skill without files has nothing else to hash.
            blob = json.dumps([sorted(self.frontmatter), self.body])
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()

    def __hash__(self) -> int:
        return hash((self.name, self.source, self.path))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skill):
            return NotImplemented
        return self is other or all(
            getattr(self, f.name) == getattr(other, f.name) for f in _SKILL_FIELDS
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``skilld list --json`` / ``skilld show --json``."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "when_to_use": self.when_to_use,
            "source": self.source.value,
            "loaded_from": self.loaded_from.value,
            "path": str(self.path) if self.path is not None else None,
            "directory": str(self.directory) if self.directory is not None else None,
            "version": self.version,
            "user_invocable": self.user_invocable,
            "model_invocable": self.model_invocable,
            "conditional": self.conditional,
            "paths": list(self.paths),
            "argument_hint": self.argument_hint,
            "arguments": list(self.arguments),
            "allowed_tools": list(self.allowed_tools),
            "disallowed_tools": list(self.disallowed_tools),
            "model": self.model,
            "effort": self.effort,
            "context": self.context,
            "agent": self.agent,
            "hooks": self.hooks,
            "shell": self.shell,
            "license": self.license,
            "compatibility": self.compatibility,
            "metadata": dict(self.metadata),
            "plugin": self.plugin,
            "diagnostics": [
                {"level": d.level, "message": d.message, "line": d.line, "field": d.field}
                for d in self.diagnostics
            ],
        }


_SKILL_FIELDS = fields(Skill)
