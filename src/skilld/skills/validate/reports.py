"""What validation reports: per file, and for a whole run under one profile."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from skilld.skills.model import Diagnostic

__all__ = ["FileKind", "FileReport", "Profile", "ValidationReport"]


class Profile(StrEnum):
    """How strictly to check: the agentskills.io spec, Claude Code, or loading only."""

    SPEC = "spec"
    CLAUDE_CODE = "claude-code"
    LENIENT = "lenient"


FileKind = Literal["skill", "command", "path"]
Trail = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FileReport:
    """The findings for one file (``kind="path"``: a path that held no skill at all)."""

    path: Path
    kind: FileKind
    name: str | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> int:
        return sum(d.level == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.level == "warning" for d in self.diagnostics)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "name": self.name,
            "ok": self.ok,
            "diagnostics": [
                {
                    "level": d.level,
                    "message": d.message,
                    "line": d.line,
                    "field": d.field,
                    "fix": d.fix,
                }
                for d in self.diagnostics
            ],
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every file checked under one profile. ``ok`` is false when any error was found."""

    profile: Profile
    files: tuple[FileReport, ...]

    @property
    def errors(self) -> int:
        return sum(f.errors for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.warnings for f in self.files)

    @property
    def infos(self) -> int:
        return sum(d.level == "info" for f in self.files for d in f.diagnostics)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(d for f in self.files for d in f.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``skilld validate --json``."""
        return {
            "profile": self.profile.value,
            "files": [f.to_dict() for f in self.files],
            "summary": {
                "files": len(self.files),
                "skills": sum(f.kind == "skill" for f in self.files),
                "commands": sum(f.kind == "command" for f in self.files),
                "errors": self.errors,
                "warnings": self.warnings,
                "infos": self.infos,
                "ok": self.ok,
            },
        }
