"""One file's checks in progress: the parsed document, its findings, and small helpers
that turn a value into a located diagnostic with a fix."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from skilld.skills.frontmatter import ParsedDocument
from skilld.skills.loader import coerce_bool
from skilld.skills.model import Diagnostic, DiagnosticLevel

__all__ = [
    "Check",
    "Trail",
    "closest",
    "dotted",
    "quoted",
    "scalar_text",
    "shorten",
    "type_name",
]

Trail = tuple[str | int, ...]
"""Where a value sits inside a structured key: ("hooks", "Stop", 0, "hooks", 1)."""


class Check:
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
            f"must be text, not {type_name(value)}",
            f'quote it: {key}: "{raw}"' if number and raw else f'write it as text: {key}: "..."',
        )
        return None

    def nested(
        self,
        level: DiagnosticLevel,
        trail: Trail,
        message: str,
        fix: str,
        *,
        name: str | None = None,
    ) -> None:
        """A finding inside a structured value, at the line of ``trail``'s last step."""
        line = self.document.line_of_path(trail)
        self.add(level, str(trail[0]), f"{name or dotted(trail)} {message}", fix, line=line)

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
                        f"must be text, not {type_name(item)}",
                        "quote each item, or write one comma-separated string",
                    )
            return names
        self.add(
            "error",
            key,
            f"must be a comma- or space-separated string or a YAML list, not {type_name(value)}",
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
                f"write {key}: {closest(value.strip().lower(), choices) or choices[0]}",
            )
            return None
        return value.strip().lower()


def dotted(trail: Trail) -> str:
    """("hooks", "Stop", 0, "hooks", 1) -> "hooks.Stop[0].hooks[1]"."""
    text = ""
    for step in trail:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def type_name(value: Any) -> str:
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


def scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace('"', '\\"')


def quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


def closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def shorten(text: str | None, limit: int = 60) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
