"""The ``spec`` profile: the agentskills.io specification to the letter."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from skilld.skills.validate.check import Check, scalar_text, type_name

__all__ = [
    "SPEC_COMPATIBILITY_MAX",
    "SPEC_DESCRIPTION_MAX",
    "SPEC_KEYS",
    "SPEC_NAME_MAX",
    "check_spec",
]

SPEC_KEYS = frozenset(
    {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
)
"""The only frontmatter keys of the agentskills.io specification."""

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SPEC_NAME_MAX = 64
SPEC_DESCRIPTION_MAX = 1024
SPEC_COMPATIBILITY_MAX = 500
_SPEC_BODY_LINES = 500


def check_spec(check: Check, directory: Path | None) -> None:
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
            _check_length(check, "description", description, SPEC_DESCRIPTION_MAX)

    check.text("license", strict=True)
    if "compatibility" in meta:
        compatibility = check.text("compatibility", strict=True)
        if compatibility is not None:
            _check_length(check, "compatibility", compatibility, SPEC_COMPATIBILITY_MAX)

    metadata = meta.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            check.add(
                "error",
                "metadata",
                f"must be a map of strings to strings, not {type_name(metadata)}",
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
                    f"must be a string, not {type_name(value)}",
                    f'quote it: {key}: "{scalar_text(value)}"'
                    if scalar
                    else "write it as one string, or move it into the body",
                )

    tools = meta.get("allowed-tools")
    if tools is not None and not isinstance(tools, str):
        joined = " ".join(str(t) for t in tools) if isinstance(tools, list) else ""
        check.add(
            "error",
            "allowed-tools",
            f"must be a space-delimited string, not {type_name(tools)}",
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


def _check_spec_name(check: Check, name: str, folder: str | None) -> None:
    if not name:
        check.add("error", "name", "must not be empty", f"write name: {folder or 'my-skill'}")
        return
    if len(name) > SPEC_NAME_MAX:
        check.add(
            "error",
            "name",
            f"is {len(name)} characters; the limit is {SPEC_NAME_MAX}",
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


def _check_length(check: Check, key: str, value: str, limit: int) -> None:
    if not value.strip():
        check.add("error", key, "must not be empty", f"write a {key}, or remove the key")
    elif len(value) > limit:
        check.add(
            "error",
            key,
            f"is {len(value)} characters; the limit is {limit}",
            f"shorten it to {limit} characters or fewer",
        )


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:SPEC_NAME_MAX].rstrip("-") or "my-skill"
