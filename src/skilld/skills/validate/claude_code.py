"""The ``claude-code`` profile: the keys Claude Code reads, their types and enumerations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from skilld.exceptions import PermissionRuleError
from skilld.permissions.rules import ALIASES, KNOWN_TOOLS, parse_rule
from skilld.skills.loader import description_from_body, split_paths, split_tool_list
from skilld.skills.validate.check import Check, closest, quoted, shorten, type_name
from skilld.skills.validate.hooks import check_hooks
from skilld.skills.validate.spec import SPEC_COMPATIBILITY_MAX, SPEC_DESCRIPTION_MAX, SPEC_KEYS

__all__ = ["CLAUDE_CODE_KEYS", "check_claude_code"]

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


_EFFORTS = ("low", "medium", "high", "max")
_CONTEXTS = ("inline", "fork")
_SHELLS = ("bash", "powershell")
_TOOLS_BY_FOLDED_NAME = {tool.lower(): tool for tool in (*KNOWN_TOOLS, *ALIASES)}
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


def check_claude_code(check: Check, kind: str, directory: Path | None) -> None:
    meta = check.meta
    for key in meta:
        if key not in CLAUDE_CODE_KEYS:
            suggestion = _KEY_ALIASES.get(key) or closest(key, sorted(CLAUDE_CODE_KEYS))
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
                f", and the body's first paragraph stands in: {shorten(fallback)!r}"
                if fallback
                else ", and the body has no paragraph to stand in"
            ),
            "add 'description: <what it does and when to use it>'",
            line=check.document.line_of("description") or 2,
        )
    elif description is not None and len(description) > SPEC_DESCRIPTION_MAX:
        check.add(
            "warning",
            "description",
            f"is {len(description)} characters; clients following the spec reject more "
            f"than {SPEC_DESCRIPTION_MAX}",
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
        check_hooks(check, meta["hooks"])
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
    if compatibility is not None and len(compatibility) > SPEC_COMPATIBILITY_MAX:
        check.add(
            "warning",
            "compatibility",
            f"is {len(compatibility)} characters; the spec allows {SPEC_COMPATIBILITY_MAX}",
            "shorten it",
        )
    metadata = meta.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        check.add(
            "error",
            "metadata",
            f"must be a map of keys to values, not {type_name(metadata)}",
            "write metadata: with indented 'key: value' lines",
        )
    check.text("version")


def _check_argument_hint(check: Check) -> None:
    value = check.meta.get("argument-hint")
    if isinstance(value, list | dict):
        raw = check.document.raw_value("argument-hint") or ""
        check.add(
            "warning",
            "argument-hint",
            f"YAML reads {raw or 'this value'} as a {type_name(value)}, not text; "
            "skilld shows it as written, other clients may not",
            f"quote it: argument-hint: {quoted(raw)}" if raw else "quote the value",
        )
    elif value is not None:
        check.text("argument-hint")


def _check_arguments(check: Check) -> None:
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


def _check_tools(check: Check, key: str) -> None:
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
            continue
        try:
            parse_rule(tool)
        except PermissionRuleError as error:
            # skilld's permission engine ignores such a rule: it allows (or removes) nothing
            check.add(
                "error",
                key,
                f"{tool!r} is not a valid permission rule: {error.reason}; it matches nothing",
                "write Tool or Tool(specifier) as Claude Code's permission rules do, "
                "e.g. Bash(git add:*), Read(./docs/**), WebFetch(domain:example.com)",
            )


def _check_effort(check: Check) -> None:
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
            f"write effort: {closest(folded, _EFFORTS) or 'high'}",
        )


def _check_paths(check: Check) -> None:
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
