"""Split a SKILL.md (or command ``.md``) into YAML metadata and a Markdown body.

Loading is lenient, as in Claude Code: YAML that cannot be parsed leaves the metadata
empty and adds a diagnostic naming the file and line; it never stops the skill (or any
other skill) from loading. Before giving up, these repairs are tried, in this order:

1. the unquoted-colon fallback of the agentskills.io client guide: a top-level value such
   as ``description: Use when: X`` or ``argument-hint: [x] | [y]`` is quoted and the
   document parsed again;
2. tabs used as indentation are expanded to spaces;
3. both.

YAML is read with the 1.2 core schema, as Claude Code's YAML 1.2 parser reads it:
``yes``, ``no``, ``on`` and ``off`` stay strings (the loader coerces them where a boolean
is wanted), ``2024-01-01`` stays a string, ``010`` is ten, and ``<<`` is an ordinary key.

The only exception :func:`parse_frontmatter` raises is :class:`SkillParseError`, for a
file too large to be a skill.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

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
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreSchemaLoader(_BaseLoader):  # type: ignore[misc]
    """A safe loader that resolves plain scalars with the YAML 1.2 core schema."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


def _int(text: str) -> int:
    text = text.replace("_", "")
    if text[:2] in ("0o", "0O"):
        return int(text[2:], 8)
    if text[:2] in ("0x", "0X"):
        return int(text[2:], 16)
    return int(text)  # "010" is ten in YAML 1.2, not eight


def _float(text: str) -> float:
    folded = text.lower()
    if folded.endswith(".inf"):
        return -math.inf if text[0] == "-" else math.inf
    if folded == ".nan":
        return math.nan
    return float(text.replace("_", ""))


# (name, pattern, first characters, constructor): the plain scalars of the 1.2 core
# schema, in the order they are tried ("12" is an int before it is a float).
_CORE_SCHEMA: tuple[tuple[str, re.Pattern[str], str, Callable[[str], Any]], ...] = (
    ("bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF", lambda t: t[0] in "tT"),
    ("int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), "-+0123456789", _int),
    (
        "float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+0123456789.",
        _float,
    ),
    ("null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN", lambda t: None),
)
for _name, _pattern, _first, _construct in _CORE_SCHEMA:
    _tag = f"tag:yaml.org,2002:{_name}"
    _CoreSchemaLoader.add_implicit_resolver(
        _tag, _pattern, [*_first, ""] if _name == "null" else list(_first)
    )
    if _name in ("int", "float"):
        _CoreSchemaLoader.add_constructor(
            _tag,
            lambda loader, node, _c=_construct: _c(str(loader.construct_scalar(node))),
        )
_Loader: Any = _CoreSchemaLoader
_RESOLVABLE_START = frozenset("tTfF-+0123456789.~nN")

_OPEN = re.compile(r"---[ \t]*\n")
_CLOSE = re.compile(r"^---[ \t]*$", re.MULTILINE)
_ALIAS = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\[\]{}]+")
_TOP_LEVEL_SCALAR = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]+(.+?)[ \t]*$")
_NEEDS_QUOTES = re.compile(r":\s|:$|\s#|[\[\]{}|>*&!%@`]")
_LINE_IN_MESSAGE = re.compile(r"line (\d+)")
_TRAILING_COMMENT = re.compile(r"[ \t]#.*$")
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:", re.MULTILINE)


@lru_cache(maxsize=256)
def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(key)}[ \t]*:", re.MULTILINE)


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
        found = _key_pattern(key).search(self.raw_frontmatter)
        if found is None:
            return None
        return self.raw_frontmatter.count("\n", 0, found.start()) + 2

    def line_of_path(self, trail: Sequence[str | int]) -> int | None:
        """The file line of a nested value: ``("hooks", "Stop", 0, "hooks")``.

        Composes the frontmatter again (only when a finding needs a line); stops at the
        deepest step it can find, and falls back to the top-level key's line.
        """
        if not trail:
            return None
        try:
            node = yaml.compose(self.raw_frontmatter, Loader=_Loader)
        except (yaml.YAMLError, ValueError, TypeError, RecursionError):
            node = None
        line: int | None = None
        for step in trail:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                        line, node = key_node.start_mark.line, value_node
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    break
                node = node.value[step]
                line = node.start_mark.line
            else:
                break
        if line is None:
            return self.line_of(str(trail[0]))
        return line + 2

    def raw_value(self, key: str) -> str | None:
        """The text written after ``key:`` on its line, without a trailing comment.

        Lets the loader keep what the author typed where YAML changed it:
        ``argument-hint: [file]`` is a list to YAML and ``name: 1.10`` the number 1.1.
        None when the key is absent or its value starts on the following lines.
        """
        found = _key_pattern(key).search(self.raw_frontmatter)
        if found is None:
            return None
        end = self.raw_frontmatter.find("\n", found.end())
        text = self.raw_frontmatter[found.end() : end if end >= 0 else None]
        text = _TRAILING_COMMENT.sub("", text).strip()
        return text or None


def read_document(path: Path) -> ParsedDocument:
    """Read and parse a skill file. Raises :class:`SkillParseError` if it cannot be read."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # one read, no stat: loading is I/O bound
    except OSError as exc:
        raise SkillParseError(f"cannot read file: {exc.strerror or exc}", path=path) from exc
    if len(data) > MAX_FILE_BYTES:
        raise SkillParseError(f"file is over the limit of {MAX_FILE_BYTES} bytes", path=path)
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
    metadata = _parse_simple(raw)
    if metadata is None:
        metadata = _parse_yaml(raw, path, diagnostics)
        if metadata:
            _report_duplicate_keys(raw, metadata, path, diagnostics)
    return ParsedDocument(metadata, body, True, body_line, tuple(diagnostics), raw)


def _report_duplicate_keys(
    raw: str, metadata: Mapping[str, Any], path: Path | None, diagnostics: list[Diagnostic]
) -> None:
    """PyYAML keeps the last of two equal keys; stricter parsers refuse the document."""
    keys = _TOP_LEVEL_KEY.findall(raw)
    if len(keys) <= len(metadata):
        return
    seen: set[str] = set()
    for match in _TOP_LEVEL_KEY.finditer(raw):
        key = match.group(1)
        if key in seen:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    f"{key!r} appears more than once; the last value is used, and stricter "
                    "YAML parsers reject the whole frontmatter",
                    path,
                    line=raw.count("\n", 0, match.start()) + 2,
                    field=key,
                    fix=f"keep one {key!r} line",
                )
            )
        seen.add(key)


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
    for attempt, repair in _attempts(raw):
        try:
            value = _load(attempt)
        except yaml.YAMLError as exc:
            first_error = first_error or exc
            continue
        if repair:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    f"frontmatter is not valid YAML ({_describe(first_error)}); "
                    f"it was read after {repair}",
                    path,
                    line=_error_line(first_error),
                    fix=_REPAIR_FIXES[repair],
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


def _parse_simple(raw: str) -> dict[str, Any] | None:
    """The common shape without YAML: ``key: plain or simply quoted value`` lines, and
    one level of such lines under a ``key:`` (``metadata:``). None for anything else.

    A YAML parse costs ~70 µs; this costs a few, and most real frontmatter is this
    shape. It returns exactly what the YAML parse would (a property test holds it to
    that), so anything it is not sure of goes to YAML.
    """
    if len(raw) > _SIMPLE_MAX_CHARS or _NOT_PLAIN_TEXT.search(raw):
        return None
    result: dict[str, Any] = {}
    nested: dict[str, Any] | None = None
    indent = ""
    for line in raw.split("\n"):
        if not line or line.isspace():
            continue
        if line[0] == " ":
            if nested is None:
                return None
            if not indent:
                indent = line[: len(line) - len(line.lstrip(" "))]
            if not line.startswith(indent) or line[len(indent)] in " \t":
                return None
            entry = _SIMPLE_LINE.match(line, len(indent))
            if entry is None:
                return None
            value = _simple_scalar(entry.group(2))
            if value is _NOT_SIMPLE or value is None:
                return None
            nested[entry.group(1)] = value
            continue
        if nested is not None and not nested:
            return None  # "key:" with nothing below is null; leave the edge cases to YAML
        nested, indent = None, ""
        entry = _SIMPLE_LINE.match(line)
        if entry is None:
            return None
        key, text = entry.groups()
        if key in result:
            return None  # YAML's path reports the duplicate
        if not text:
            nested = result[key] = {}
            continue
        value = _simple_scalar(text)
        if value is _NOT_SIMPLE:
            return None
        result[key] = value
    if nested is not None and not nested:
        return None
    return result


_SIMPLE_MAX_CHARS = 16 * 1024
_SIMPLE_LINE = re.compile(r"([A-Za-z_][\w-]*):(?:[ ]+(.*?))?[ ]*$")
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_UNSAFE = re.compile(r": |\s#|:$|\t")
_NOT_SIMPLE = object()
# what YAML refuses (control characters) or reads as a line break (NEL, LS, PS)
_NOT_PLAIN_TEXT = re.compile(
    "[^\x09\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _simple_scalar(text: str | None) -> Any:
    """What YAML 1.2 core makes of ``text``, or ``_NOT_SIMPLE`` when unsure."""
    if not text:
        return _NOT_SIMPLE
    first = text[0]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            return _NOT_SIMPLE
        return inner.replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner
    if first in _PLAIN_START or _PLAIN_UNSAFE.search(text):
        return _NOT_SIMPLE
    if first in _RESOLVABLE_START:
        for _name, pattern, _first, construct in _CORE_SCHEMA:
            if pattern.match(text):
                try:
                    return construct(text)
                except ValueError:  # an integer of 5,000 digits: YAML reports it
                    return _NOT_SIMPLE
    return text


def _load(text: str) -> Any:
    """``yaml.load`` whose only exception is :class:`yaml.YAMLError`."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, RecursionError, OverflowError, MemoryError) as exc:
        # PyYAML raises these on a few pathological inputs: an !!int tag on text, an
        # integer of 5,000 digits, a flow collection nested a thousand deep
        raise yaml.YAMLError(f"{type(exc).__name__}: {exc}") from exc


_QUOTING = "quoting values"
_TABS = "replacing tab indentation"
_BOTH = "replacing tab indentation and quoting values"
_REPAIR_FIXES = {
    _QUOTING: "quote values that contain ': ', ' #', '[', '|' or other YAML symbols",
    _TABS: "indent with spaces: YAML does not allow tabs",
    _BOTH: "indent with spaces and quote values that contain YAML symbols",
}


def _attempts(raw: str) -> Iterator[tuple[str, str]]:
    """The frontmatter as written, then each repair that changes something (and its name)."""
    yield raw, ""
    quoted = _quote_unsafe_values(raw)
    if quoted is not None:
        yield quoted, _QUOTING
    expanded = _expand_tabs(raw)
    if expanded is not None:
        yield expanded, _TABS
        both = _quote_unsafe_values(expanded)
        if both is not None:
            yield both, _BOTH


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
                _load(value)
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


def _describe(error: yaml.YAMLError | None) -> str:
    if error is None:
        return "unknown error"
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    if problem:
        return f"{context}, {problem}" if context else str(problem)
    return str(error).splitlines()[0] if str(error) else type(error).__name__
