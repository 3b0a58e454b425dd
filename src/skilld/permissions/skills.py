"""What makes a skill need a permission decision, and how ``Skill(...)`` rules match."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sized
from functools import lru_cache
from typing import Any

from skilld.permissions.rules import PermissionRule, RuleSource
from skilld.skills.model import Skill

__all__ = [
    "FIELD_LABELS",
    "SAFE_SKILL_FIELDS",
    "match_skill",
    "skill_allow_rule",
    "skill_unsafe_fields",
]

# fmt: off
SAFE_SKILL_FIELDS = frozenset({
    "name", "description", "body", "source", "loaded_from", "path", "directory",
    "display_name", "description_from_body", "when_to_use", "argument_hint", "arguments",
    "disallowed_tools", "model", "effort", "context", "agent", "paths",
    "disable_model_invocation", "user_invocable", "license", "compatibility", "metadata",
    "plugin", "plugin_root", "frontmatter", "body_line", "diagnostics", "fixed_version",
})
# fmt: on
"""Skill fields that never need a permission decision (Claude Code's SAFE_SKILL_PROPERTIES
for skilld's model). An allowlist: a field added to :class:`Skill` later needs a decision
until it is reviewed and listed here. ``disallowed_tools`` only takes tools away."""


def skill_unsafe_fields(skill: Skill) -> tuple[str, ...]:
    """Fields of ``skill`` outside the whitelist that hold something other than their default."""
    unsafe: list[str] = []
    for item in dataclasses.fields(skill):
        if item.name in SAFE_SKILL_FIELDS:
            continue
        value = getattr(skill, item.name)
        if item.default is not dataclasses.MISSING:
            default: Any = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        else:
            default = dataclasses.MISSING
        if value is None or value == default:
            continue
        if item.name == "shell" and value == "bash":
            continue  # the default shell, written out
        if isinstance(value, Sized) and not isinstance(value, str) and len(value) == 0:
            continue
        unsafe.append(item.name)
    return tuple(unsafe)


def match_skill(spec: str, name: str) -> bool:
    pattern = spec.removeprefix("/")
    if pattern == name:
        return True
    for suffix in (":*", " *"):
        if pattern.endswith(suffix) and "*" not in pattern[: -len(suffix)]:
            return name.startswith(pattern[: -len(suffix)])
    if "*" in pattern:
        regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
        return re.fullmatch(regex, name) is not None
    return False


@lru_cache(maxsize=1024)
def skill_allow_rule(text: str) -> PermissionRule:
    return PermissionRule.parse(
        text, behavior="allow", source=RuleSource.SKILL, origin="the skill's allowed-tools"
    )


FIELD_LABELS = {
    "allowed_tools": "allowed-tools",
    "hooks": "hooks",
    "shell": "a shell",
}
