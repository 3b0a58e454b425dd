"""Check skill files against a profile, with a located diagnostic and a fix for each finding.

Three profiles, because the two standards disagree:

- ``spec``: the agentskills.io specification to the letter (only its six keys; ``name``
  lowercase, 1-64 characters and equal to its folder; ``description`` 1-1024;
  ``compatibility`` 1-500; ``metadata`` a map of strings);
- ``claude-code`` (the default): what Claude Code accepts: its keys and their types, the
  enumerations (``context``, ``effort``, ``shell``), the structure of ``hooks``, the
  ``allowed-tools`` and ``disallowed-tools`` entries as permission rules (the grammar of
  :mod:`skilld.permissions`); keys it ignores are warnings;
- ``lenient``: only what stops a skill from loading as written (unreadable file, broken
  YAML, frontmatter that is not a mapping).

Validation never changes what the loader does: loading stays lenient whatever the profile.

The checks live in one module per profile (:mod:`~skilld.skills.validate.spec`,
:mod:`~skilld.skills.validate.claude_code`, with :mod:`~skilld.skills.validate.hooks` for
the ``hooks`` key), :mod:`~skilld.skills.validate.discovery` finds the files a path names,
and :mod:`~skilld.skills.validate.reports` holds what a run reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import ParsedDocument, read_document
from skilld.skills.model import Diagnostic, LoadedFrom, Skill
from skilld.skills.validate.check import Check
from skilld.skills.validate.claude_code import CLAUDE_CODE_KEYS, check_claude_code
from skilld.skills.validate.discovery import find_files, missing_report
from skilld.skills.validate.hooks import HOOK_EVENTS
from skilld.skills.validate.reports import FileKind, FileReport, Profile, ValidationReport
from skilld.skills.validate.spec import SPEC_KEYS, check_spec

__all__ = [
    "CLAUDE_CODE_KEYS",
    "HOOK_EVENTS",
    "SPEC_KEYS",
    "FileReport",
    "Profile",
    "ValidationReport",
    "validate_document",
    "validate_path",
    "validate_paths",
    "validate_skill",
]


def validate_path(
    path: Path | str, profile: Profile | str = Profile.CLAUDE_CODE
) -> ValidationReport:
    """Validate a skill folder, a SKILL.md, a command ``.md``, or every skill in a tree.

    In a folder tree every ``SKILL.md`` (in any case) is a skill, and every other ``.md``
    below a folder named ``commands`` that is not part of a skill is a command file.
    """
    return validate_paths([path], profile)


def validate_paths(
    paths: Iterable[Path | str], profile: Profile | str = Profile.CLAUDE_CODE
) -> ValidationReport:
    """:func:`validate_path` over several paths; a file found twice is checked once."""
    profile = Profile(profile)
    reports: list[FileReport] = []
    seen: set[str] = set()
    for given in paths:
        target = Path(given)
        found = list(find_files(target))
        if not found:
            reports.append(missing_report(target))
            continue
        for file, kind, name, directory in found:
            key = os.path.realpath(file)
            if key in seen:
                continue
            seen.add(key)
            reports.append(_check_file(file, kind, name, directory, profile))
    return ValidationReport(profile, tuple(reports))


def validate_skill(skill: Skill, profile: Profile | str = Profile.CLAUDE_CODE) -> FileReport:
    """Validate a loaded skill, re-reading its file for line numbers when it has one."""
    profile = Profile(profile)
    kind: FileKind = "command" if skill.loaded_from is LoadedFrom.COMMANDS else "skill"
    if skill.path is not None and skill.path.is_file():
        return _check_file(skill.path, kind, skill.name, skill.directory, profile)
    assert kind != "path"
    # a skill registered from code: its parse diagnostics are the ones without a field
    document = ParsedDocument(
        skill.frontmatter,
        skill.body,
        bool(skill.frontmatter),
        skill.body_line,
        tuple(d for d in skill.diagnostics if d.field is None),
    )
    diagnostics = validate_document(
        document, path=skill.path, kind=kind, profile=profile, directory=skill.directory
    )
    return FileReport(skill.path or Path(skill.name), kind, skill.name, diagnostics)


def validate_document(
    document: ParsedDocument,
    *,
    path: Path | None,
    kind: Literal["skill", "command"] = "skill",
    profile: Profile | str = Profile.CLAUDE_CODE,
    directory: Path | None = None,
) -> tuple[Diagnostic, ...]:
    """Every finding about one parsed file under ``profile``, sorted by line."""
    profile = Profile(profile)
    check = Check(document, path)
    check.found.extend(document.diagnostics)
    broken = any(d.level == "error" for d in document.diagnostics)
    if profile is not Profile.LENIENT and not broken:
        if profile is Profile.SPEC and kind == "skill":
            check_spec(check, directory if directory is not None else _parent(path))
        else:
            if profile is Profile.SPEC:
                check.add(
                    "info",
                    None,
                    "command files are not part of the Agent Skills spec; "
                    "checked with the claude-code rules",
                    "make it a skill folder with a SKILL.md to follow the spec",
                    line=None,
                )
            check_claude_code(check, kind, directory if directory is not None else _parent(path))
    if profile is not Profile.LENIENT and kind == "skill" and path and path.name != "SKILL.md":
        check.add(
            "warning",
            None,
            f"the file is named {path.name!r}; Claude Code and the spec look for "
            "'SKILL.md' exactly, so on a case-sensitive file system it is not found",
            f"rename {path.name} to SKILL.md",
            line=None,
        )
    return tuple(sorted(check.found, key=lambda d: d.line or 0))


def _check_file(
    path: Path, kind: FileKind, name: str | None, directory: Path | None, profile: Profile
) -> FileReport:
    try:
        document = read_document(path)
    except SkillParseError as exc:
        diagnostic = Diagnostic(
            "error", exc.reason, path, exc.line, None, "make the file a readable UTF-8 text file"
        )
        return FileReport(path, kind, name, (diagnostic,))
    checked_kind: Literal["skill", "command"] = "command" if kind == "command" else "skill"
    diagnostics = validate_document(
        document, path=path, kind=checked_kind, profile=profile, directory=directory
    )
    return FileReport(path, kind, name, diagnostics)


def _parent(path: Path | None) -> Path | None:
    return path.parent if path is not None else None
