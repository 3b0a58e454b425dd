"""Check skill files against a profile, with a located diagnostic and a fix for each finding.

Three profiles, because the two standards disagree:

- ``spec``: the agentskills.io specification to the letter (only its six keys; ``name``
  lowercase, 1-64 characters and equal to its folder; ``description`` 1-1024;
  ``compatibility`` 1-500; ``metadata`` a map of strings);
- ``claude-code`` (the default): what Claude Code accepts: its keys and their types, the
  enumerations (``context``, ``effort``, ``shell``), the structure of ``hooks``; keys it
  ignores are warnings;
- ``lenient``: only what stops a skill from loading as written (unreadable file, broken
  YAML, frontmatter that is not a mapping).

Validation never changes what the loader does: loading stays lenient whatever the profile.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from skilld.exceptions import SkillParseError
from skilld.skills.frontmatter import ParsedDocument, read_document
from skilld.skills.loader import coerce_bool, description_from_body, split_paths, split_tool_list
from skilld.skills.model import Diagnostic, DiagnosticLevel, LoadedFrom, Skill

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


class Profile(StrEnum):
    """How strictly to check: the agentskills.io spec, Claude Code, or loading only."""

    SPEC = "spec"
    CLAUDE_CODE = "claude-code"
    LENIENT = "lenient"


FileKind = Literal["skill", "command", "path"]
_Trail = tuple[str | int, ...]

SPEC_KEYS = frozenset(
    {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
)
"""The only frontmatter keys of the agentskills.io specification."""

CLAUDE_CODE_KEYS = SPEC_KEYS | {
    "when_to_use",
    "argument-hint",
    "arguments",
    "disallowed-tools",
    "model",
    "effort",
    "context",
    "agent",
    "hooks",
    "paths",
    "shell",
    "disable-model-invocation",
    "user-invocable",
    "version",
}
"""Keys Claude Code reads from a SKILL.md or command file (``version`` is informative)."""

HOOK_EVENTS = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionRequest",
        "PermissionDenied",
        "UserPromptSubmit",
        "UserPromptExpansion",
        "Notification",
        "Stop",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "SessionStart",
        "SessionEnd",
        "Setup",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "Elicitation",
        "ElicitationResult",
        "ConfigChange",
        "InstructionsLoaded",
        "CwdChanged",
        "FileChanged",
        "WorktreeCreate",
        "WorktreeRemove",
    }
)
"""Every hook event name Claude Code accepts (case-sensitive)."""

# Events whose matcher is never consulted: every hook of theirs runs.
_EVENTS_WITHOUT_MATCHER = frozenset(
    {
        "UserPromptSubmit",
        "Stop",
        "TeammateIdle",
        "TaskCreated",
        "TaskCompleted",
        "WorktreeCreate",
        "WorktreeRemove",
        "CwdChanged",
    }
)
_HOOK_TYPES: dict[str, str] = {
    "command": "command",
    "prompt": "prompt",
    "agent": "prompt",
    "http": "url",
}
_HOOK_KEYS: dict[str, frozenset[str]] = {
    "command": frozenset({"type", "command", "timeout", "statusMessage", "once", "async", "shell"}),
    "prompt": frozenset({"type", "prompt", "model", "timeout", "statusMessage", "once"}),
    "agent": frozenset({"type", "prompt", "model", "timeout", "statusMessage", "once"}),
    "http": frozenset(
        {"type", "url", "headers", "allowedEnvVars", "timeout", "statusMessage", "once"}
    ),
}
_EFFORTS = ("low", "medium", "high", "max")
_CONTEXTS = ("inline", "fork")
_SHELLS = ("bash", "powershell")
_BUILTIN_TOOLS = (
    "Agent",
    "AskUserQuestion",
    "Bash",
    "BashOutput",
    "Edit",
    "ExitPlanMode",
    "Glob",
    "Grep",
    "KillShell",
    "LS",
    "MultiEdit",
    "NotebookEdit",
    "NotebookRead",
    "PowerShell",
    "Read",
    "Skill",
    "SlashCommand",
    "Task",
    "TodoWrite",
    "WebFetch",
    "WebSearch",
    "Write",
)
_TOOLS_BY_FOLDED_NAME = {tool.lower(): tool for tool in _BUILTIN_TOOLS}
_TOOL_ENTRY = re.compile(r"^[A-Za-z_][\w.-]*(?:\(.*\))?$", re.DOTALL)
# Keys people write for a Claude Code key, beyond what difflib finds.
_KEY_ALIASES = {
    "tools": "allowed-tools",
    "allowed_tools": "allowed-tools",
    "allowedTools": "allowed-tools",
    "disallowed_tools": "disallowed-tools",
    "globs": "paths",
    "when-to-use": "when_to_use",
    "whenToUse": "when_to_use",
    "argument_hint": "argument-hint",
    "user_invocable": "user-invocable",
    "disable_model_invocation": "disable-model-invocation",
}
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SPEC_NAME_MAX = 64
_SPEC_DESCRIPTION_MAX = 1024
_SPEC_COMPATIBILITY_MAX = 500
_SPEC_BODY_LINES = 500
_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".tox"})
_MAX_DEPTH = 32


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


# --------------------------------------------------------------------------- entry points


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
        found = list(_find_files(target))
        if not found:
            reports.append(_missing(target))
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
    check = _Check(document, path)
    check.found.extend(document.diagnostics)
    broken = any(d.level == "error" for d in document.diagnostics)
    if profile is not Profile.LENIENT and not broken:
        if profile is Profile.SPEC and kind == "skill":
            _check_spec(check, directory if directory is not None else _parent(path))
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
            _check_claude_code(check, kind, directory if directory is not None else _parent(path))
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


# --------------------------------------------------------------------------- finding files


def _find_files(target: Path) -> Iterator[tuple[Path, FileKind, str | None, Path | None]]:
    if target.is_file():
        if target.name.lower() == "skill.md":
            yield target, "skill", target.parent.name, target.parent
        elif target.suffix.lower() == ".md":
            yield target, "command", target.stem, None
        return
    if not target.is_dir():
        return
    visited: set[str] = set()
    # each directory: (path, parts of its path relative to the target's parent, in a skill)
    stack: list[tuple[Path, tuple[str, ...], bool]] = [(target, (target.name,), False)]
    while stack:
        folder, parts, in_skill = stack.pop()
        real = os.path.realpath(folder)
        if real in visited or len(parts) > _MAX_DEPTH:
            continue
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        files = [e for e in entries if _is_file(e)]
        skill_files = [e for e in files if e.name.lower() == "skill.md"]
        if skill_files:
            exact = [e for e in skill_files if e.name == "SKILL.md"]
            chosen = (exact or skill_files)[0]
            yield Path(chosen.path), "skill", folder.name, folder
        elif not in_skill and "commands" in parts:
            below = parts[len(parts) - 1 - parts[::-1].index("commands") + 1 :]
            for entry in files:
                if entry.name.lower().endswith(".md"):
                    name = ":".join((*below, entry.name[:-3]))
                    yield Path(entry.path), "command", name, None
        children = [e for e in entries if e.name not in _SKIP_DIRS and _is_dir(e)]
        for entry in reversed(children):  # the stack pops them in name order
            stack.append((Path(entry.path), (*parts, entry.name), in_skill or bool(skill_files)))


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _missing(target: Path) -> FileReport:
    if not target.exists():
        message, fix = "path does not exist", "give the path of a skill folder or a SKILL.md"
    elif target.is_dir():
        message = "no SKILL.md found in this folder or below, and no commands folder"
        fix = "give a folder that holds <name>/SKILL.md, or a SKILL.md itself"
    else:
        message = "not a SKILL.md or a Markdown command file"
        fix = "give a SKILL.md, a command .md file or a folder of skills"
    return FileReport(
        target, "path", None, (Diagnostic("error", message, target, None, None, fix),)
    )


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


# --------------------------------------------------------------------------- the checks


class _Check:
    """Collects diagnostics for one file, locating each at its key's line."""

    def __init__(self, document: ParsedDocument, path: Path | None) -> None:
        self.document = document
        self.meta: Mapping[str, Any] = document.metadata
        self.path = path
        self.found: list[Diagnostic] = []

    def add(
        self,
        level: DiagnosticLevel,
        key: str | None,
        message: str,
        fix: str,
        *,
        line: int | Literal[False] | None = False,
    ) -> None:
        """Record a finding; its line is ``key``'s unless ``line`` is given."""
        if line is False:
            line = self.document.line_of(key) if key is not None else None
        self.found.append(Diagnostic(level, message, self.path, line, key, fix))

    def text(self, key: str, *, strict: bool = False) -> str | None:
        """The value of ``key`` as text; a finding if it is anything else.

        Numbers count as text (Claude Code reads ``name: 123`` as "123") unless
        ``strict``: to the spec a YAML number is not a string.
        """
        value = self.meta.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        raw = self.document.raw_value(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and not strict:
            return raw or str(value)
        self.add(
            "error",
            key,
            f"must be text, not {_type_name(value)}",
            f'quote it: {key}: "{raw}"' if number and raw else f'write it as text: {key}: "..."',
        )
        return None

    def nested(
        self,
        level: DiagnosticLevel,
        trail: _Trail,
        message: str,
        fix: str,
        *,
        name: str | None = None,
    ) -> None:
        """A finding inside a structured value, at the line of ``trail``'s last step."""
        line = self.document.line_of_path(trail)
        self.add(level, str(trail[0]), f"{name or _dotted(trail)} {message}", fix, line=line)

    def name_list(self, key: str, split: Callable[[str], list[str]]) -> list[str] | None:
        """A string (split by ``split``) or a YAML list of names; a finding otherwise.

        Numbers count as names, as the loader reads them; anything else in the list is
        an error, found at the item's line.
        """
        value = self.meta.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return split(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, list):
            names: list[str] = []
            for i, item in enumerate(value):
                if isinstance(item, str):
                    names.append(item)
                elif isinstance(item, int | float) and not isinstance(item, bool):
                    names.append(str(item))
                else:
                    self.nested(
                        "error",
                        (key, i),
                        f"must be text, not {_type_name(item)}",
                        "quote each item, or write one comma-separated string",
                    )
            return names
        self.add(
            "error",
            key,
            f"must be a comma- or space-separated string or a YAML list, not {_type_name(value)}",
            f"write {key}: a, b  or a YAML list",
        )
        return None

    def boolean(self, key: str) -> bool | None:
        value = self.meta.get(key)
        if value is None:
            return None
        coerced = coerce_bool(value)
        if coerced is None:
            self.add(
                "error",
                key,
                f"must be a boolean, not {value!r}",
                f"write {key}: true  or  {key}: false",
            )
        return coerced

    def choice(self, key: str, choices: Sequence[str]) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        if value.strip().lower() not in choices:
            self.add(
                "error",
                key,
                f"{value!r} is not one of {', '.join(choices)}",
                f"write {key}: {_closest(value.strip().lower(), choices) or choices[0]}",
            )
            return None
        return value.strip().lower()


def _check_spec(check: _Check, directory: Path | None) -> None:
    document, meta = check.document, check.meta
    if not document.has_frontmatter:
        check.add(
            "error",
            None,
            "SKILL.md must start with YAML frontmatter holding name and description",
            "start the file with '---', 'name: ...', 'description: ...', '---'",
            line=1,
        )
        return
    folder = directory.name if directory is not None else None
    for key in meta:
        if key not in SPEC_KEYS:
            check.add(
                "error",
                key,
                f"{key!r} is not a field of the Agent Skills spec "
                f"(allowed: {', '.join(sorted(SPEC_KEYS))})",
                "remove it, or move it under metadata:",
            )

    if meta.get("name") is None:
        suggestion = folder if folder and _NAME.match(folder) else "my-skill"
        check.add(
            "error",
            "name",
            "is required",
            f"add 'name: {suggestion}'",
            line=check.document.line_of("name") or 2,
        )
    else:
        name = check.text("name", strict=True)
        if name is not None:
            _check_spec_name(check, name, folder)

    if meta.get("description") is None:
        check.add(
            "error",
            "description",
            "is required",
            "add 'description: <what the skill does and when to use it>'",
            line=check.document.line_of("description") or 2,
        )
    else:
        description = check.text("description", strict=True)
        if description is not None:
            _check_length(check, "description", description, _SPEC_DESCRIPTION_MAX)

    check.text("license", strict=True)
    if "compatibility" in meta:
        compatibility = check.text("compatibility", strict=True)
        if compatibility is not None:
            _check_length(check, "compatibility", compatibility, _SPEC_COMPATIBILITY_MAX)

    metadata = meta.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            check.add(
                "error",
                "metadata",
                f"must be a map of strings to strings, not {_type_name(metadata)}",
                "write metadata: with indented 'key: \"value\"' lines",
            )
        else:
            for key, value in metadata.items():
                if isinstance(value, str):
                    continue
                scalar = isinstance(value, bool | int | float)
                check.nested(
                    "error",
                    ("metadata", str(key)),
                    f"must be a string, not {_type_name(value)}",
                    f'quote it: {key}: "{_scalar_text(value)}"'
                    if scalar
                    else "write it as one string, or move it into the body",
                )

    tools = meta.get("allowed-tools")
    if tools is not None and not isinstance(tools, str):
        joined = " ".join(str(t) for t in tools) if isinstance(tools, list) else ""
        check.add(
            "error",
            "allowed-tools",
            f"must be a space-delimited string, not {_type_name(tools)}",
            f"write allowed-tools: {joined or 'Read Grep Bash(git:*)'}",
        )

    lines = len(document.body.splitlines())
    if lines > _SPEC_BODY_LINES:
        check.add(
            "info",
            None,
            f"the body is {lines} lines; the spec recommends under {_SPEC_BODY_LINES}",
            "move detail into reference files the body links to",
            line=document.body_line,
        )


def _check_spec_name(check: _Check, name: str, folder: str | None) -> None:
    if not name:
        check.add("error", "name", "must not be empty", f"write name: {folder or 'my-skill'}")
        return
    if len(name) > _SPEC_NAME_MAX:
        check.add(
            "error",
            "name",
            f"is {len(name)} characters; the limit is {_SPEC_NAME_MAX}",
            "shorten the name (and its folder)",
        )
    if not _NAME.match(name):
        reasons = []
        if name != name.lower():
            reasons.append("has capital letters")
        if name.startswith("-") or name.endswith("-"):
            reasons.append("starts or ends with '-'")
        if "--" in name:
            reasons.append("has '--'")
        if re.search(r"[^A-Za-z0-9-]", name):
            reasons.append("has characters other than a-z, 0-9 and '-'")
        check.add(
            "error",
            "name",
            f"{name!r} {' and '.join(reasons) or 'is not valid'}; "
            "the spec allows lowercase letters, digits and single hyphens",
            f"write name: {_slug(name)} (and rename the folder to match)",
        )
    if folder is not None and name != folder:
        check.add(
            "error",
            "name",
            f"{name!r} differs from its folder {folder!r}; the spec requires them equal",
            f"rename the folder to {name!r} or write name: {folder}"
            if _NAME.match(name)
            else f"write name: {folder}",
        )


def _check_length(check: _Check, key: str, value: str, limit: int) -> None:
    if not value.strip():
        check.add("error", key, "must not be empty", f"write a {key}, or remove the key")
    elif len(value) > limit:
        check.add(
            "error",
            key,
            f"is {len(value)} characters; the limit is {limit}",
            f"shorten it to {limit} characters or fewer",
        )


def _check_claude_code(check: _Check, kind: str, directory: Path | None) -> None:
    meta = check.meta
    for key in meta:
        if key not in CLAUDE_CODE_KEYS:
            suggestion = _KEY_ALIASES.get(key) or _closest(key, sorted(CLAUDE_CODE_KEYS))
            check.add(
                "warning",
                key,
                f"{key!r} is not a key Claude Code reads; it is ignored"
                + (f" (did you mean {suggestion!r}?)" if suggestion else ""),
                f"rename it to {suggestion}"
                if suggestion
                else "remove it, or move it under metadata:",
            )

    name = check.text("name")
    invoked_as = directory.name if kind == "skill" and directory is not None else None
    if name is not None and invoked_as is not None and name.strip() != invoked_as:
        check.add(
            "info",
            "name",
            f"the skill is invoked as /{invoked_as}; {name!r} is only its display name",
            f"write name: {invoked_as}, or rename the folder to {name}",
        )

    description = check.text("description")
    wrong_type = meta.get("description") is not None and description is None
    if not wrong_type and (description is None or not description.strip()):
        fallback = description_from_body(check.document.body)
        check.add(
            # a command file without frontmatter is an accepted form; a skill without a
            # description is one the model can hardly choose
            "info" if kind == "command" else "warning",
            "description",
            "no description; the model decides when to use a skill from it"
            + (
                f", and the body's first paragraph stands in: {_shorten(fallback)!r}"
                if fallback
                else ", and the body has no paragraph to stand in"
            ),
            "add 'description: <what it does and when to use it>'",
            line=check.document.line_of("description") or 2,
        )
    elif description is not None and len(description) > _SPEC_DESCRIPTION_MAX:
        check.add(
            "warning",
            "description",
            f"is {len(description)} characters; clients following the spec reject more "
            f"than {_SPEC_DESCRIPTION_MAX}",
            "shorten it and move detail into the body",
        )

    check.text("when_to_use")
    _check_argument_hint(check)
    _check_arguments(check)
    for key in ("allowed-tools", "disallowed-tools"):
        _check_tools(check, key)
    check.text("model")
    _check_effort(check)

    context = check.choice("context", _CONTEXTS)
    raw_context = meta.get("context")
    if context is not None and isinstance(raw_context, str) and raw_context != context:
        check.add(
            "warning",
            "context",
            f"Claude Code only recognises {context!r} in lowercase; {raw_context!r} "
            "runs inline there",
            f"write context: {context}",
        )
    agent = check.text("agent")
    if agent is not None and context != "fork":
        check.add(
            "warning",
            "agent",
            "is only used when the skill runs in a sub-agent; without 'context: fork' "
            "it is ignored",
            "add 'context: fork', or remove agent",
        )

    if "hooks" in meta:
        _check_hooks(check, meta["hooks"])
    _check_paths(check)
    check.choice("shell", _SHELLS)
    model_invocation_off = check.boolean("disable-model-invocation")
    user_invocable = check.boolean("user-invocable")
    if model_invocation_off is True and user_invocable is False:
        check.add(
            "warning",
            "user-invocable",
            "with disable-model-invocation: true nobody can invoke this skill",
            "set user-invocable: true or disable-model-invocation: false",
        )
    check.text("license")
    compatibility = check.text("compatibility")
    if compatibility is not None and len(compatibility) > _SPEC_COMPATIBILITY_MAX:
        check.add(
            "warning",
            "compatibility",
            f"is {len(compatibility)} characters; the spec allows {_SPEC_COMPATIBILITY_MAX}",
            "shorten it",
        )
    metadata = meta.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        check.add(
            "error",
            "metadata",
            f"must be a map of keys to values, not {_type_name(metadata)}",
            "write metadata: with indented 'key: value' lines",
        )
    check.text("version")


def _check_argument_hint(check: _Check) -> None:
    value = check.meta.get("argument-hint")
    if isinstance(value, list | dict):
        raw = check.document.raw_value("argument-hint") or ""
        check.add(
            "warning",
            "argument-hint",
            f"YAML reads {raw or 'this value'} as a {_type_name(value)}, not text; "
            "skilld shows it as written, other clients may not",
            f"quote it: argument-hint: {_quoted(raw)}" if raw else "quote the value",
        )
    elif value is not None:
        check.text("argument-hint")


def _check_arguments(check: _Check) -> None:
    names = check.name_list("arguments", lambda v: [w for w in re.split(r"[\s,]+", v) if w])
    if not names:
        return
    numeric = [n for n in names if n.isdigit()]
    if numeric:
        check.add(
            "warning",
            "arguments",
            f"numeric names ({', '.join(numeric)}) are ignored: $0, $1... are positional already",
            "use names that start with a letter",
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        check.add(
            "warning",
            "arguments",
            f"{', '.join(duplicates)} named more than once",
            "name each argument once",
        )


def _check_tools(check: _Check, key: str) -> None:
    tools = check.name_list(key, split_tool_list)
    for tool in tools or ():
        if not _TOOL_ENTRY.match(tool) or tool.count("(") != tool.count(")"):
            check.add(
                "error",
                key,
                f"{tool!r} is not a tool rule (Tool or Tool(specifier))",
                "write a tool name, optionally with a balanced (specifier), e.g. Bash(git add:*)",
            )
            continue
        base = tool.split("(", 1)[0]
        known = _TOOLS_BY_FOLDED_NAME.get(base.lower())
        if known is not None and known != base:
            check.add(
                "warning",
                key,
                f"{base!r} matches no tool: tool names are case-sensitive",
                f"write {known}{tool[len(base) :]}",
            )


def _check_effort(check: _Check) -> None:
    value = check.meta.get("effort")
    if value is None:
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            check.add("error", "effort", f"{value} is not a positive number", "write effort: high")
        return
    text = check.text("effort")
    if text is None:
        return
    folded = text.strip().lower()
    if folded.isdigit() and int(folded) > 0:
        return
    if folded not in _EFFORTS:
        check.add(
            "error",
            "effort",
            f"{text!r} is not one of {', '.join(_EFFORTS)} or a positive integer",
            f"write effort: {_closest(folded, _EFFORTS) or 'high'}",
        )


def _check_paths(check: _Check) -> None:
    patterns = check.name_list("paths", split_paths)
    if patterns is None:
        return
    if not patterns:
        check.add("warning", "paths", "is empty", "list glob patterns, or remove paths")
    for pattern in patterns:
        if pattern.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", pattern):
            check.add(
                "warning",
                "paths",
                f"{pattern!r} is absolute; patterns are matched relative to the project, "
                "so it never matches",
                "write the pattern relative to the project root",
            )
        elif ".." in pattern.replace("\\", "/").split("/"):
            check.add(
                "warning",
                "paths",
                f"{pattern!r} reaches outside the project with '..'; it never matches",
                "write the pattern relative to the project root, without '..'",
            )


_HOOKS_FORMAT = (
    "see the hooks format: EVENT: [{matcher: ..., hooks: [{type: command, command: ...}]}]"
)


def _check_hooks(check: _Check, hooks: Any) -> None:
    """``hooks`` as Claude Code defines them: event -> [{matcher?, hooks: [handler]}]."""
    if not isinstance(hooks, Mapping):
        check.add(
            "error",
            "hooks",
            f"must be a map of event names, not {_type_name(hooks)}",
            _HOOKS_FORMAT,
        )
        return
    for event, matchers in hooks.items():
        trail: _Trail = ("hooks", str(event))
        if event not in HOOK_EVENTS:
            suggestion = _closest(str(event), sorted(HOOK_EVENTS))
            check.nested(
                "error",
                trail,
                "is not a hook event; Claude Code drops the skill's hooks",
                f"write {suggestion}" if suggestion else "use an event name such as PreToolUse",
            )
            continue
        if not isinstance(matchers, list):
            check.nested(
                "error",
                trail,
                f"must be a list of matcher entries, not {_type_name(matchers)}",
                _HOOKS_FORMAT,
            )
            continue
        for i, entry in enumerate(matchers):
            _check_matcher_entry(check, str(event), (*trail, i), entry)


def _check_matcher_entry(check: _Check, event: str, trail: _Trail, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        check.nested("error", trail, f"must be a map, not {_type_name(entry)}", _HOOKS_FORMAT)
        return
    for key in entry:
        if key not in ("matcher", "hooks"):
            check.nested(
                "warning",
                (*trail, str(key)),
                "is not a key of a matcher entry; it is ignored",
                "a matcher entry holds only matcher and hooks",
            )
    matcher = entry.get("matcher")
    if matcher is not None:
        if not isinstance(matcher, str):
            check.nested(
                "error",
                (*trail, "matcher"),
                f"must be text, not {_type_name(matcher)}",
                'quote it: matcher: "Bash"',
            )
        elif event in _EVENTS_WITHOUT_MATCHER and matcher not in ("", "*"):
            check.nested(
                "warning",
                (*trail, "matcher"),
                f"is ignored: {event} hooks take no matcher, every hook runs",
                "remove the matcher",
            )
    handlers = entry.get("hooks")
    if not isinstance(handlers, list) or not handlers:
        check.nested(
            "error",
            (*trail, "hooks") if handlers is not None else trail,
            "must be a non-empty list of hooks"
            + ("" if handlers is None else f", not {_type_name(handlers)}"),
            "add hooks: [{type: command, command: ...}]",
            name=f"{_dotted(trail)}.hooks",
        )
        return
    for j, handler in enumerate(handlers):
        _check_handler(check, (*trail, "hooks", j), handler)


def _check_handler(check: _Check, trail: _Trail, handler: Any) -> None:
    if not isinstance(handler, Mapping):
        check.nested("error", trail, f"must be a map, not {_type_name(handler)}", _HOOKS_FORMAT)
        return
    kind = handler.get("type")
    if kind not in _HOOK_TYPES:
        check.nested(
            "error",
            (*trail, "type") if "type" in handler else trail,
            f"is {kind!r}; it must be one of {', '.join(_HOOK_TYPES)}",
            "write type: command",
            name=f"{_dotted(trail)}.type",
        )
        return
    required = _HOOK_TYPES[kind]
    value = handler.get(required)
    if not isinstance(value, str) or not value.strip():
        check.nested(
            "error",
            trail,
            f"is a hook of type {kind}, which needs {required}",
            f"add {required}: ...",
        )
    for key in handler:
        if key not in _HOOK_KEYS[kind]:
            check.nested(
                "warning",
                (*trail, str(key)),
                f"is not a key of a hook of type {kind}; it is ignored",
                f"a hook of type {kind} takes {', '.join(sorted(_HOOK_KEYS[kind]))}",
            )
    timeout = handler.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        check.nested(
            "error",
            (*trail, "timeout"),
            f"must be a positive number of seconds, not {timeout!r}",
            "write timeout: 30",
        )
    for flag in ("once", "async"):
        if flag in handler and not isinstance(handler[flag], bool):
            check.nested(
                "error",
                (*trail, flag),
                f"must be true or false, not {handler[flag]!r}",
                f"write {flag}: true",
            )
    for text_key in ("statusMessage", "model", "shell"):
        if text_key in handler and not isinstance(handler[text_key], str):
            check.nested(
                "error",
                (*trail, text_key),
                f"must be text, not {_type_name(handler[text_key])}",
                f'quote it: {text_key}: "..."',
            )


# --------------------------------------------------------------------------- small helpers


def _dotted(trail: _Trail) -> str:
    """("hooks", "Stop", 0, "hooks", 1) -> "hooks.Stop[0].hooks[1]"."""
    text = ""
    for step in trail:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return type(value).__name__


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace('"', '\\"')


def _quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:_SPEC_NAME_MAX].rstrip("-") or "my-skill"


def _shorten(text: str | None, limit: int = 60) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
