"""allowed-tools and disallowed-tools entries are checked with the permission grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from skilld.exceptions import PermissionRuleError
from skilld.permissions import parse_rule
from skilld.skills.validate import validate_path
from tests.helpers import write_skill


def diagnostics(tmp_path: Path, frontmatter: str) -> list[tuple[str, str | None, str]]:
    path = write_skill(tmp_path, "s", "description: d\n" + frontmatter)
    (report,) = validate_path(path).files
    return [(d.level, d.field, d.message) for d in report.diagnostics]


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("Bash(:*)", "empty prefix before ':*'"),
        ("Bash(npm:* run)", "':*' is only allowed at the end (use * for a wildcard)"),
        ("WebFetch(example.com)", "WebFetch rules look like WebFetch(domain:example.com)"),
        ("Read(//)", "'//' is no path pattern (write Read for every path)"),
    ],
)
@pytest.mark.parametrize("key", ["allowed-tools", "disallowed-tools"])
def test_a_rule_the_permission_engine_rejects_is_an_error(
    tmp_path: Path, key: str, rule: str, reason: str
) -> None:
    with pytest.raises(PermissionRuleError) as caught:
        parse_rule(rule)
    assert caught.value.reason == reason
    assert diagnostics(tmp_path, f"{key}: [Read, '{rule}']") == [
        ("error", key, f"{rule!r} is not a valid permission rule: {reason}; it matches nothing")
    ]


def test_valid_rules_pass(tmp_path: Path) -> None:
    rules = "Read Bash(git add:*) Bash(npm run *) WebFetch(domain:*.example.com) mcp__github"
    assert diagnostics(tmp_path, f"allowed-tools: {rules} Skill(deploy:*) Task MyHostTool") == []


@pytest.mark.parametrize("tool", ["AskUserQuestion", "ExitPlanMode", "SlashCommand", "KillBash"])
def test_every_builtin_tool_name_is_case_checked(tmp_path: Path, tool: str) -> None:
    assert diagnostics(tmp_path, f"allowed-tools: {tool}") == []
    assert diagnostics(tmp_path, f"allowed-tools: {tool.lower()}") == [
        (
            "warning",
            "allowed-tools",
            f"{tool.lower()!r} matches no tool: tool names are case-sensitive",
        )
    ]
    with pytest.raises(PermissionRuleError, match="did you mean"):
        parse_rule(tool.lower())
