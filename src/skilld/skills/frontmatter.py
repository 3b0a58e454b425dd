"""Split a SKILL.md (or command ``.md``) into YAML metadata and a Markdown body.

Loading is lenient, as in Claude Code: YAML that cannot be parsed leaves the metadata
empty and adds a diagnostic naming the file and line; it never stops the skill (or any
other skill) from loading. Before giving up, two repairs are tried, in this order:

1. the unquoted-colon fallback of the agentskills.io client guide: a top-level value such
   as ``description: Use when: X`` or ``argument-hint: [x] | [y]`` is quoted and the
   document parsed again;
2. tabs used as indentation are expanded to spaces.

The only exception :func:`parse_frontmatter` raises is :class:`SkillParseError`, for a
file too large to be a skill.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from skilld.exceptions import SkillParseError
from skilld.skills.model import Diagnostic

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_FRONTMATTER_BYTES",
    "ParsedDocument",
    "parse_frontmatter",
    "read_document",
]

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A SKILL.md larger than this is refused: it is not a prompt anybody can load."""
MAX_FRONTMATTER_BYTES = 64 * 1024
"""Frontmatter larger than this is not parsed (empty metadata and a diagnostic)."""
MAX_YAML_ALIASES = 100
"""More aliases than this is treated as an alias bomb, as the `yaml` package of Node does."""

# libyaml is ~10x faster; the pure-Python loader behaves the same
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_OPEN = re.compile(r"---[ \t]*\n")
_CLOSE = re.compile(r"^---[ \t]*$", re.MULTILINE)
_ALIAS = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\[\]{}]+")
_TOP_LEVEL_SCALAR = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]+(.+?)[ \t]*$")
_NEEDS_QUOTES = re.compile(r":\s|:$|\s#|[\[\]{}|>*&!%@`]")
_LINE_IN_MESSAGE = re.compile(r"line (\d+)")


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """Metadata, body and what went wrong. ``body_line`` is the body's first line (1-based)."""

    metadata: Mapping[str, Any]
    body: str
    has_frontmatter: bool
    body_line: int
    diagnostics: tuple[Diagnostic, ...]
    raw_frontmatter: str = ""

    def line_of(self, key: str) -> int | None:
        """The file line of a top-level key (the frontmatter starts on line 2)."""
        pattern = re.compile(rf"^{re.escape(key)}[ \t]*:", re.MULTILINE)
        found = pattern.search(self.raw_frontmatter)
        if found is None:
            return None
        return self.raw_frontmatter.count("\n", 0, found.start()) + 2


def read_document(path: Path) -> ParsedDocument:
    """Read and parse a skill file. Raises :class:`SkillParseError` if it cannot be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SkillParseError(f"file is {size} bytes, the limit is {MAX_FILE_BYTES}", path=path)
        data = path.read_bytes()
    except OSError as exc:
        raise SkillParseError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    return parse_frontmatter(data, path=path)


def parse_frontmatter(source: str | bytes, *, path: Path | None = None) -> ParsedDocument:
    """Split ``source`` into metadata and body; never raises on malformed content."""
    diagnostics: list[Diagnostic] = []
    if isinstance(source, bytes):
        if len(source) > MAX_FILE_BYTES:
            raise SkillParseError(
                f"file is {len(source)} bytes, the limit is {MAX_FILE_BYTES}", path=path
            )
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = source.decode("utf-8", errors="replace")
            diagnostics.append(
                Diagnostic(
                    "warning",
                    f"not valid UTF-8 at byte {exc.start}; invalid bytes replaced",
                    path,
                    line=source.count(b"\n", 0, exc.start) + 1,
                    fix="save the file as UTF-8",
                )
            )
    else:
        if len(source) > MAX_FILE_BYTES:
            raise SkillParseError(
                f"file is {len(source)} characters, the limit is {MAX_FILE_BYTES}", path=path
            )
        text = source
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")

    opening = _OPEN.match(text)
    if opening is None:
        return ParsedDocument({}, text, False, 1, tuple(diagnostics))
    closing = _CLOSE.search(text, opening.end())
    if closing is None:
        diagnostics.append(
            Diagnostic(
                "warning",
                "frontmatter opened with '---' is never closed; the whole file is the body",
                path,
                line=1,
                fix="end the frontmatter with a line holding only '---'",
            )
        )
        return ParsedDocument({}, text, False, 1, tuple(diagnostics))

    raw = text[opening.end() : closing.start()]
    body_start = closing.end() + 1 if closing.end() < len(text) else closing.end()
    body = text[body_start:]
    body_line = text.count("\n", 0, body_start) + 1
    metadata = _parse_yaml(raw, path, diagnostics)
    return ParsedDocument(metadata, body, True, body_line, tuple(diagnostics), raw)


def _parse_yaml(raw: str, path: Path | None, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_FRONTMATTER_BYTES:
        diagnostics.append(
            Diagnostic(
                "error",
                f"frontmatter is larger than {MAX_FRONTMATTER_BYTES} bytes and was not parsed",
                path,
                line=2,
                fix="move long text into the body or a reference file",
            )
        )
        return {}
    if len(_ALIAS.findall(raw)) > MAX_YAML_ALIASES:
        diagnostics.append(
            Diagnostic(
                "error",
                f"frontmatter uses more than {MAX_YAML_ALIASES} YAML aliases and was not parsed",
                path,
                line=2,
                fix="write the values out instead of using anchors and aliases",
            )
        )
        return {}

    first_error: yaml.YAMLError | None = None
    for attempt in (raw, _quote_unsafe_values(raw), _expand_tabs(raw)):
        if attempt is None:
            continue
        try:
            value = yaml.load(attempt, Loader=_Loader)
        except yaml.YAMLError as exc:
            first_error = first_error or exc
            continue
        except (ValueError, TypeError, RecursionError, OverflowError) as exc:
            # libyaml/PyYAML raise these on a few pathological inputs (huge ints, deep nesting)
            first_error = first_error or yaml.YAMLError(str(exc))
            continue
        if attempt is not raw:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "frontmatter is not valid YAML; it was read after quoting values",
                    path,
                    line=_error_line(first_error),
                    fix="quote values that contain ': ', '#', '[' or other YAML symbols",
                )
            )
        if value is None:
            return {}
        if not isinstance(value, dict):
            diagnostics.append(
                Diagnostic(
                    "error",
                    f"frontmatter must be a mapping of keys to values, not {type(value).__name__}",
                    path,
                    line=2,
                    fix="write the frontmatter as 'key: value' lines",
                )
            )
            return {}
        return {str(k): v for k, v in value.items()}

    assert first_error is not None
    diagnostics.append(
        Diagnostic(
            "error",
            f"frontmatter is not valid YAML ({_describe(first_error)}); metadata ignored",
            path,
            line=_error_line(first_error),
            fix="fix the YAML syntax, quoting values that contain special characters",
        )
    )
    return {}


def _quote_unsafe_values(raw: str) -> str | None:
    """Quote top-level ``key: value`` scalars holding YAML symbols; None if nothing changed."""
    changed = False
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        match = _TOP_LEVEL_SCALAR.match(line)
        if match is None:
            continue
        key, value = match.groups()
        if value[0] in "\"'" or value in ("|", ">", "|-", ">-", "|+", ">+"):
            continue
        if not _NEEDS_QUOTES.search(value):
            continue
        # a value that is a valid flow collection on its own ([a, b]) is left alone
        if value[0] in "[{":
            try:
                yaml.load(value, Loader=_Loader)
                continue
            except yaml.YAMLError:
                pass
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        lines[i] = f'{key}: "{escaped}"'
        changed = True
    return "\n".join(lines) if changed else None


def _expand_tabs(raw: str) -> str | None:
    if "\t" not in raw:
        return None
    out = []
    for line in raw.split("\n"):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        out.append(indent.replace("\t", "  ") + stripped)
    return "\n".join(out)


def _error_line(error: yaml.YAMLError | None) -> int | None:
    """The file line of a YAML error: the frontmatter starts on line 2."""
    mark = getattr(error, "problem_mark", None)
    if mark is None or "end of stream" in str(getattr(error, "problem", "")):
        # an unterminated construct: point at where it starts, not at the end of the YAML
        mark = getattr(error, "context_mark", None) or mark
    if mark is not None:
        return int(mark.line) + 2
    found = _LINE_IN_MESSAGE.search(str(error)) if error is not None else None
    return int(found.group(1)) + 1 if found else 2


def _describe(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    if problem:
        return f"{context}, {problem}" if context else str(problem)
    return str(error).splitlines()[0] if str(error) else type(error).__name__
