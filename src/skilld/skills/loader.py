"""Build a :class:`Skill` from a parsed document, coercing fields as Claude Code does.

Coercion is lenient: a value of the wrong type is dropped (or converted) with a
diagnostic, so a skill with one bad field still loads. Strict checking is the job of
:mod:`skilld.skills.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from skilld.skills.frontmatter import ParsedDocument, parse_frontmatter, read_document
from skilld.skills.model import Diagnostic, LoadedFrom, Skill, Source

__all__ = [
    "coerce_bool",
    "description_from_body",
    "load_skill_file",
    "skill_from_document",
    "skill_from_text",
    "split_paths",
    "split_tool_list",
]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
DESCRIPTION_FALLBACK_CHARS = 1024
"""A description taken from the body is cut to the spec's maximum length."""


def coerce_bool(value: Any) -> bool | None:
    """``true/false/yes/no/on/off/1/0`` in any case, YAML booleans and 0/1; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def split_tool_list(value: str) -> list[str]:
    """Split ``"Read, Bash(git add:*) Grep"`` on commas and spaces outside parentheses."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        if depth == 0 and (char == "," or char.isspace()):
            if current:
                items.append("".join(current))
                current = []
            continue
        current.append(char)
    if current:
        items.append("".join(current))
    return items


def split_paths(value: str) -> list[str]:
    """Split ``"src/**/*.{ts,tsx}, docs/*.md"`` into glob patterns, expanding braces.

    Commas and spaces separate patterns except inside braces, which are then expanded
    (``*.{ts,tsx}`` is ``*.ts`` and ``*.tsx``), as Claude Code reads ``paths``.
    """
    patterns: list[str] = []
    depth = 0
    current: list[str] = []
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        if depth == 0 and (char == "," or char.isspace()):
            if current:
                patterns.extend(_expand_braces("".join(current)))
                current = []
            continue
        current.append(char)
    if current:
        patterns.extend(_expand_braces("".join(current)))
    return patterns


_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")
_MAX_EXPANSIONS = 256


def _expand_braces(pattern: str) -> list[str]:
    """``a.{x,y}`` -> ``a.x``, ``a.y``; innermost first, bounded against brace bombs."""
    done: list[str] = []
    todo = [pattern]
    while todo:
        current = todo.pop()
        match = _BRACES.search(current)
        if match is None or len(done) + len(todo) >= _MAX_EXPANSIONS:
            done.append(current)
        else:
            head, tail = current[: match.start()], current[match.end() :]
            todo.extend(head + choice + tail for choice in reversed(match.group(1).split(",")))
    return done


def _split_words(value: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", value) if word]


def description_from_body(body: str) -> str | None:
    """The first paragraph of the body, as one line (headings only if nothing else)."""
    heading: str | None = None
    paragraph: list[str] = []
    in_fence = False
    for raw in body.split("\n"):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            if paragraph:
                break
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not line:
            if paragraph:
                break
            continue
        if line.startswith("#"):
            if paragraph:
                break
            heading = heading or line.lstrip("#").strip() or None
            continue
        paragraph.append(line)
    text = " ".join(paragraph) if paragraph else heading
    if not text:
        return None
    if len(text) > DESCRIPTION_FALLBACK_CHARS:
        text = text[: DESCRIPTION_FALLBACK_CHARS - 3].rstrip() + "..."
    return text


class _Fields:
    """Reads frontmatter values, recording a diagnostic for each one it must drop."""

    def __init__(self, document: ParsedDocument, path: Path | None):
        self.document = document
        self.metadata = document.metadata
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def warn(self, key: str, message: str, fix: str) -> None:
        line = self.document.line_of(key)
        self.diagnostics.append(Diagnostic("warning", message, self.path, line, key, fix))

    def text(self, key: str) -> str | None:
        value = self.metadata.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            # keep what the author typed: "name: 1.10" is the text 1.10, not 1.1
            return self.document.raw_value(key) or str(value).lower()
        self.warn(key, f"expected text, got {type(value).__name__}; ignored", "write a string")
        return None

    def hint(self, key: str) -> str | None:
        """``argument-hint: [file]`` is a YAML list; the author meant the text ``[file]``."""
        value = self.metadata.get(key)
        if isinstance(value, list | dict):
            raw = self.document.raw_value(key)
            if raw is not None:
                return raw
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return " ".join(f"[{v}]" for v in value)
        return self.text(key)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.metadata.get(key)
        if value is None:
            return default
        coerced = coerce_bool(value)
        if coerced is None:
            self.warn(
                key,
                f"expected a boolean, got {value!r}; using {str(default).lower()}",
                "write true or false",
            )
            return default
        return coerced

    def names(
        self,
        key: str,
        split: Callable[[str], list[str]],
        item: Callable[[str], list[str]] = lambda text: [text.strip()],
    ) -> tuple[str, ...]:
        """A string cut by ``split``, or a YAML list whose items ``item`` reads."""
        value = self.metadata.get(key)
        if value is None:
            return ()
        parts: list[str]
        if isinstance(value, str):
            parts = split(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            parts = [str(value)]
        elif isinstance(value, list | tuple):
            parts = []
            for entry in value:
                if isinstance(entry, str | int | float) and not isinstance(entry, bool):
                    parts.extend(item(str(entry)))
                else:
                    self.warn(key, f"list item {entry!r} is not text; ignored", "list names only")
        else:
            self.warn(
                key,
                f"expected a list or a string, got {type(value).__name__}; ignored",
                "write a comma-separated string or a YAML list",
            )
            return ()
        return tuple(p for p in parts if p)


def skill_from_document(
    document: ParsedDocument,
    *,
    name: str,
    source: Source,
    loaded_from: LoadedFrom,
    path: Path | None = None,
    directory: Path | None = None,
    plugin: str | None = None,
    plugin_root: Path | None = None,
    fixed_version: str | None = None,
) -> Skill:
    """Coerce a parsed document's metadata into a :class:`Skill` named ``name``."""
    meta = document.metadata
    fields = _Fields(document, path)

    description = fields.text("description")
    from_body = False
    if description is None or not description.strip():
        description = description_from_body(document.body) or ""
        from_body = True
    else:
        description = description.strip()

    all_arguments = fields.names("arguments", _split_words)
    arguments = tuple(a for a in all_arguments if not a.isdigit())
    if len(arguments) != len(all_arguments):
        fields.warn(
            "arguments",
            "numeric argument names are ignored ($0, $1... are positional already)",
            "use names that start with a letter",
        )

    model = fields.text("model")
    if model is not None and model.strip().lower() in ("inherit", ""):
        model = None

    effort: str | int | None = None
    raw_effort = meta.get("effort")
    if isinstance(raw_effort, int) and not isinstance(raw_effort, bool):
        effort = raw_effort
    elif raw_effort is not None:
        effort_text = fields.text("effort")
        if effort_text is not None:
            effort = int(effort_text) if effort_text.isdigit() else effort_text.strip().lower()

    context_text = (fields.text("context") or "inline").strip().lower()
    if context_text not in ("inline", "fork"):
        fields.warn(
            "context", f"unknown context {context_text!r}; running inline", "use fork or inline"
        )
        context_text = "inline"

    hooks = meta.get("hooks")
    if hooks is not None and not isinstance(hooks, Mapping):
        fields.warn("hooks", "hooks must be a mapping of event names; ignored", "see the docs")
        hooks = None

    metadata = meta.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, Mapping):
        fields.warn("metadata", "metadata must be a mapping; ignored", "write key: value pairs")
        metadata = {}

    paths = tuple(
        p.removesuffix("/**") or "**" for p in fields.names("paths", split_paths, _expand_braces)
    )
    if paths and all(p == "**" for p in paths):
        paths = ()  # matches everything: not conditional at all

    shell = fields.text("shell")
    return Skill(
        name=name,
        description=description,
        body=document.body,
        source=source,
        loaded_from=loaded_from,
        path=path,
        directory=directory,
        display_name=fields.text("name"),
        description_from_body=from_body,
        when_to_use=fields.text("when_to_use"),
        argument_hint=fields.hint("argument-hint"),
        arguments=arguments,
        allowed_tools=fields.names("allowed-tools", split_tool_list),
        disallowed_tools=fields.names("disallowed-tools", split_tool_list),
        model=model,
        effort=effort,
        context="fork" if context_text == "fork" else "inline",
        agent=fields.text("agent"),
        hooks=hooks,
        paths=paths,
        shell=shell.strip().lower() if shell else None,
        disable_model_invocation=fields.boolean("disable-model-invocation", False),
        user_invocable=fields.boolean("user-invocable", True),
        license=fields.text("license"),
        compatibility=fields.text("compatibility"),
        metadata=metadata,
        plugin=plugin,
        plugin_root=plugin_root,
        frontmatter=meta,
        body_line=document.body_line,
        diagnostics=document.diagnostics + tuple(fields.diagnostics),
        fixed_version=fixed_version,
    )


def skill_from_text(
    text: str | bytes,
    *,
    name: str,
    source: Source = Source.BUNDLED,
    loaded_from: LoadedFrom = LoadedFrom.BUNDLED,
    path: Path | None = None,
    directory: Path | None = None,
    **kwargs: Any,
) -> Skill:
    """Parse ``text`` as a SKILL.md and build the skill (for bundled and remote skills)."""
    document = parse_frontmatter(text, path=path)
    return skill_from_document(
        document,
        name=name,
        source=source,
        loaded_from=loaded_from,
        path=path,
        directory=directory,
        **kwargs,
    )


def load_skill_file(
    path: Path,
    *,
    name: str | None = None,
    source: Source,
    loaded_from: LoadedFrom = LoadedFrom.SKILLS,
    directory: Path | None = None,
    plugin: str | None = None,
    plugin_root: Path | None = None,
) -> Skill:
    """Load one SKILL.md or command file.

    For a skill the name defaults to its folder's name and the folder is its base
    directory; for a command the name defaults to the file stem and there is no base
    directory. Raises :class:`SkillParseError` only when the file cannot be read.
    """
    document = read_document(path)
    if loaded_from is LoadedFrom.COMMANDS:
        default_name = path.stem
    else:
        directory = directory if directory is not None else path.parent
        default_name = directory.name
    return skill_from_document(
        document,
        name=name or default_name,
        source=source,
        loaded_from=loaded_from,
        path=path,
        directory=directory if loaded_from is not LoadedFrom.COMMANDS else None,
        plugin=plugin,
        plugin_root=plugin_root,
    )
