"""The rule grammar and the rule itself: ``Tool``, ``Tool(specifier)``, where it comes from.

The grammar is described in :mod:`skilld.permissions`; :func:`parse_rule` checks it and
names the rule (and its file) when it is malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from skilld.exceptions import PermissionRuleError

__all__ = [
    "ALIASES",
    "EDIT_TOOLS",
    "KNOWN_TOOLS",
    "PRECEDENCE",
    "READ_TOOLS",
    "SHELL_TOOLS",
    "PermissionBehavior",
    "PermissionRule",
    "RuleSource",
    "escape_specifier",
    "parse_rule",
]

PermissionBehavior = Literal["allow", "deny", "ask"]


class RuleSource(StrEnum):
    """Where a rule comes from, highest precedence first."""

    MANAGED = "managed"
    CALLER = "caller"
    LOCAL = "local"
    PROJECT = "project"
    USER = "user"
    SKILL = "skill"


PRECEDENCE = {source: rank for rank, source in enumerate(RuleSource)}

READ_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead"})
"""Tools ``Read(...)`` rules cover; they are allowed by default inside the working dirs."""
EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
"""Tools ``Edit(...)`` rules cover."""
SHELL_TOOLS = frozenset({"Bash", "PowerShell"})
# fmt: off
KNOWN_TOOLS = READ_TOOLS | EDIT_TOOLS | SHELL_TOOLS | {
    "Skill", "WebFetch", "WebSearch", "Agent", "TodoWrite", "BashOutput", "KillShell",
    "AskUserQuestion", "ExitPlanMode", "SlashCommand",
}
# fmt: on
"""Claude Code's built-in tools: a rule naming one in another case is an error (it would
match nothing), where an unknown name is taken as a tool of the host's."""
ALIASES = {"Task": "Agent", "KillBash": "KillShell"}
"""Old tool names Claude Code still accepts in rules, and the tools they mean."""
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_MCP_NAME = re.compile(r"mcp__[A-Za-z0-9_\-]+(?:__(?:[A-Za-z0-9_\-]+|\*))?")


# --------------------------------------------------------------------------- grammar


def parse_rule(text: str, *, origin: str | None = None) -> tuple[str, str | None]:
    """Split ``Tool(specifier)`` into the tool name and the specifier (None: every use).

    ``\\(`` and ``\\)`` inside the specifier stand for literal parentheses. Raises
    :class:`PermissionRuleError` naming the rule (and ``origin``) when it is malformed.
    """
    if not isinstance(text, str):
        raise PermissionRuleError(repr(text), "a rule must be a string", origin=origin)
    rule = text.strip()
    if not rule:
        raise PermissionRuleError(text, "empty rule", origin=origin)
    open_at = rule.find("(")
    if open_at < 0:
        if ")" in rule:
            raise PermissionRuleError(text, "')' without '('", origin=origin)
        tool, specifier = rule, None
    else:
        if not rule.endswith(")"):
            raise PermissionRuleError(
                text, "missing ')' at the end (write Tool(specifier))", origin=origin
            )
        tool = rule[:open_at].strip()
        inner = rule[open_at + 1 : -1]
        _check_parentheses(text, inner, origin)
        inner = inner.replace("\\(", "(").replace("\\)", ")")
        specifier = None if inner.strip() in ("", "*") else inner
    if not tool:
        raise PermissionRuleError(text, "missing tool name before '('", origin=origin)
    tool = ALIASES.get(tool, tool)
    if tool.startswith("mcp__"):
        if not _MCP_NAME.fullmatch(tool):
            raise PermissionRuleError(
                text, "MCP rules look like mcp__server or mcp__server__tool", origin=origin
            )
    elif not _TOOL_NAME.fullmatch(tool):
        raise PermissionRuleError(text, f"{tool!r} is not a tool name", origin=origin)
    elif tool not in KNOWN_TOOLS:
        for known in (*KNOWN_TOOLS, *ALIASES):
            if known.lower() == tool.lower():
                raise PermissionRuleError(
                    text, f"unknown tool {tool!r}: did you mean {known!r}?", origin=origin
                )
    if specifier is not None:
        _check_specifier(text, tool, specifier, origin)
    return tool, specifier


def _check_parentheses(text: str, inner: str, origin: str | None) -> None:
    depth = 0
    index = 0
    while index < len(inner):
        char = inner[index]
        if char == "\\" and index + 1 < len(inner) and inner[index + 1] in "()":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise PermissionRuleError(
                    text, "unbalanced ')' in the specifier (escape it as \\))", origin=origin
                )
        index += 1
    if depth:
        raise PermissionRuleError(
            text, "unbalanced '(' in the specifier (escape it as \\()", origin=origin
        )


def _check_specifier(text: str, tool: str, specifier: str, origin: str | None) -> None:
    if tool in SHELL_TOOLS:
        if ":*" in specifier[:-2]:
            raise PermissionRuleError(
                text, "':*' is only allowed at the end (use * for a wildcard)", origin=origin
            )
        if specifier.endswith(":*") and not specifier[:-2].strip():
            raise PermissionRuleError(text, "empty prefix before ':*'", origin=origin)
    elif tool == "WebFetch":
        if not specifier.startswith("domain:") or not specifier[7:].strip():
            raise PermissionRuleError(
                text, "WebFetch rules look like WebFetch(domain:example.com)", origin=origin
            )
    elif tool == "Skill":
        name = specifier.removeprefix("/")
        if not name or any(c.isspace() for c in name.removesuffix(" *")):
            raise PermissionRuleError(
                text,
                "Skill rules look like Skill(name), Skill(name:*) or Skill(name *)",
                origin=origin,
            )
    elif tool in READ_TOOLS or tool in EDIT_TOOLS:
        if specifier.strip() != specifier:
            raise PermissionRuleError(
                text, "a path pattern cannot start or end with spaces", origin=origin
            )
        if specifier.strip("/") == "":
            raise PermissionRuleError(
                text,
                f"{specifier!r} is no path pattern (write {tool} for every path)",
                origin=origin,
            )


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class PermissionRule:
    """One rule as written, with where it came from.

    ``root`` is the folder ``/path`` file patterns are relative to (see the module doc);
    None means the engine's working directory.
    """

    tool: str
    specifier: str | None
    behavior: PermissionBehavior = "allow"
    source: RuleSource = RuleSource.CALLER
    origin: str | None = None
    root: str | None = None
    text: str = field(default="", compare=False)

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        behavior: PermissionBehavior = "allow",
        source: RuleSource = RuleSource.CALLER,
        origin: str | None = None,
        root: str | None = None,
    ) -> PermissionRule:
        """Parse ``text``; :class:`PermissionRuleError` names it (and ``origin``) if malformed."""
        tool, specifier = parse_rule(text, origin=origin)
        return cls(tool, specifier, behavior, source, origin, root, text.strip())

    def __str__(self) -> str:
        if self.text:
            return self.text
        return self.tool if self.specifier is None else f"{self.tool}({self.specifier})"

    @property
    def where(self) -> str:
        """Where the rule comes from, for messages: its file, or its source."""
        return self.origin or f"{self.source.value} rules"

    def covers_tool(self, tool: str) -> bool:
        """Whether this rule is about ``tool`` at all (before looking at the input)."""
        if self.tool == tool:
            return True
        if self.tool == "Read":
            return tool in READ_TOOLS
        if self.tool == "Edit":
            return tool in EDIT_TOOLS
        if self.tool.startswith("mcp__") and (
            self.tool.count("__") == 1 or self.tool.endswith("__*")
        ):
            return tool.startswith(self.tool.removesuffix("__*") + "__")
        return False


def escape_specifier(text: str) -> str:
    """``text`` with its parentheses escaped, to be written inside ``Tool(...)``."""
    return text.replace("(", "\\(").replace(")", "\\)")
