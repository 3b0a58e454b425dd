"""The rule grammar, Bash pattern matching and command splitting of skilld.permissions."""

from __future__ import annotations

import pytest

from skilld.exceptions import PermissionRuleError
from skilld.permissions import (
    PermissionRule,
    RuleSource,
    match_shell_pattern,
    parse_rule,
    split_shell_command,
)

# --------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bash", ("Bash", None)),
        ("Bash(*)", ("Bash", None)),
        ("Bash()", ("Bash", None)),
        ("  Read  ", ("Read", None)),
        ("Bash(npm run test:*)", ("Bash", "npm run test:*")),
        ("Bash(git * main)", ("Bash", "git * main")),
        ("Bash(echo \\(hi\\))", ("Bash", "echo (hi)")),
        ("Bash(echo (hi))", ("Bash", "echo (hi)")),
        ("Skill(deploy)", ("Skill", "deploy")),
        ("Skill(/deploy)", ("Skill", "/deploy")),
        ("Skill(review:*)", ("Skill", "review:*")),
        ("Skill(review *)", ("Skill", "review *")),
        ("Read(//etc/**)", ("Read", "//etc/**")),
        ("Edit(~/notes/*.md)", ("Edit", "~/notes/*.md")),
        ("WebFetch(domain:example.com)", ("WebFetch", "domain:example.com")),
        ("Task(reviewer)", ("Agent", "reviewer")),
        ("mcp__github", ("mcp__github", None)),
        ("mcp__github__*", ("mcp__github__*", None)),
        ("mcp__git-hub__create_issue", ("mcp__git-hub__create_issue", None)),
        ("MyCustomTool(anything)", ("MyCustomTool", "anything")),
    ],
)
def test_parse_rule(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty rule"),
        ("   ", "empty rule"),
        ("(ls)", "missing tool name before '('"),
        ("Bash(ls", "missing ')' at the end (write Tool(specifier))"),
        ("Bash(ls) extra", "missing ')' at the end (write Tool(specifier))"),
        ("Bash ls)", "')' without '('"),
        ("Bash(echo (hi)", "unbalanced '(' in the specifier (escape it as \\()"),
        ("Bash(echo hi))", "unbalanced ')' in the specifier (escape it as \\))"),
        ("Ba sh(ls)", "'Ba sh' is not a tool name"),
        ("bash(ls)", "unknown tool 'bash': did you mean 'Bash'?"),
        ("Bash(npm:*:x)", "':*' is only allowed at the end (use * for a wildcard)"),
        ("Bash(:*)", "empty prefix before ':*'"),
        ("WebFetch(example.com)", "WebFetch rules look like WebFetch(domain:example.com)"),
        ("WebFetch(domain:)", "WebFetch rules look like WebFetch(domain:example.com)"),
        ("Skill(my skill)", "Skill rules look like Skill(name), Skill(name:*) or Skill(name *)"),
        ("Skill(/)", "Skill rules look like Skill(name), Skill(name:*) or Skill(name *)"),
        ("Read( x)", "a path pattern cannot start or end with spaces"),
        ("Read(//)", "'//' is no path pattern (write Read for every path)"),
        ("mcp__", "MCP rules look like mcp__server or mcp__server__tool"),
        ("mcp__a b", "MCP rules look like mcp__server or mcp__server__tool"),
    ],
)
def test_malformed_rule_names_the_rule(text: str, reason: str) -> None:
    with pytest.raises(PermissionRuleError) as caught:
        parse_rule(text)
    assert caught.value.rule == text
    assert caught.value.reason == reason
    assert str(caught.value) == f"Invalid permission rule {text!r}: {reason}"


def test_malformed_rule_names_its_origin() -> None:
    with pytest.raises(PermissionRuleError) as caught:
        PermissionRule.parse("Bash(ls", origin="/p/.claude/settings.json")
    assert caught.value.origin == "/p/.claude/settings.json"
    assert str(caught.value) == (
        "Invalid permission rule 'Bash(ls' (in /p/.claude/settings.json): "
        "missing ')' at the end (write Tool(specifier))"
    )


def test_non_string_rule_is_malformed() -> None:
    with pytest.raises(PermissionRuleError, match="a rule must be a string"):
        parse_rule(42)  # type: ignore[arg-type]


def test_rule_keeps_its_text_source_and_origin() -> None:
    rule = PermissionRule.parse(
        " Bash(git *) ", behavior="deny", source=RuleSource.PROJECT, origin="settings.json"
    )
    assert (rule.tool, rule.specifier, rule.behavior) == ("Bash", "git *", "deny")
    assert (rule.source, rule.origin, str(rule), rule.where) == (
        RuleSource.PROJECT,
        "settings.json",
        "Bash(git *)",
        "settings.json",
    )
    assert PermissionRule("Read", None).where == "caller rules"
    assert str(PermissionRule("Bash", "ls")) == "Bash(ls)"


# --------------------------------------------------------------------------- Bash patterns


@pytest.mark.parametrize(
    ("pattern", "command", "expected"),
    [
        # exact
        ("npm run build", "npm run build", True),
        ("npm run build", "npm run build --watch", False),
        ("npm run build", "npm run buil", False),
        # legacy prefix: word boundary
        ("npm run test:*", "npm run test", True),
        ("npm run test:*", "npm run test --coverage", True),
        ("npm run test:*", "npm run test:unit", False),
        ("npm run test:*", "npm run tests", False),
        ("ls:*", "lsof", False),
        ("ls:*", "ls", True),
        # wildcard with a trailing ' *': word boundary, the rest optional
        ("ls *", "ls", True),
        ("ls *", "ls -la", True),
        ("ls *", "lsof", False),
        ("ls *", "ls-foo", False),
        # no space: plain prefix
        ("ls*", "lsof", True),
        ("ls*", "ls", True),
        ("ls*", "ls -la", True),
        # stars anywhere
        ("git * main", "git checkout main", True),
        ("git * main", "git merge --ff main", True),
        ("git * main", "git main", False),
        ("* --version", "node --version", True),
        ("* --version", "node --help", False),
        # two stars: the last is not optional
        ("* run *", "npm run build", True),
        ("* run *", "npm run", False),
        # the wildcard spans newlines (heredocs)
        ("python *", "python -c 'a\nb'", True),
        # escapes: with no unescaped star the rule is exact, and compared as written
        ("echo \\*", "echo \\*", True),
        ("echo \\*", "echo *", False),
        ("echo \\* *", "echo *", True),
        ("echo \\* *", "echo * x", True),
        ("echo \\* *", "echo x", False),
        ("echo a\\\\*", "echo a\\xyz", True),
        # regex metacharacters are literal
        ("grep a.b *", "grep axb f", False),
        ("grep a.b *", "grep a.b f", True),
        ("echo $HOME", "echo $HOME", True),
        ("echo [x]", "echo x", False),
    ],
)
def test_match_shell_pattern(pattern: str, command: str, expected: bool) -> None:
    assert match_shell_pattern(pattern, command) is expected


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git status", ["git status"]),
        ("  git status  ", ["git status"]),
        ("git status && rm -rf /", ["git status", "rm -rf /"]),
        ("a || b; c | d & e |& f", ["a", "b", "c", "d", "e", "f"]),
        ("a\nb", ["a", "b"]),
        ("(cd x && make) || true", ["cd x", "make", "true"]),
        ("{ a; b; }", ["a", "b"]),
        ("echo 'a && b; c'", ["echo 'a && b; c'"]),
        ('echo "a && b"', ['echo "a && b"']),
        ("echo a\\;b", ["echo a\\;b"]),
        ("echo $(date)", ["date", "echo $(date)"]),
        ("echo `whoami`", ["whoami", "echo `whoami`"]),
        ('echo "$(rm -rf x)"', ["rm -rf x", 'echo "$(rm -rf x)"']),
        ("echo '$(rm -rf x)'", ["echo '$(rm -rf x)'"]),
        ("echo $(a $(b))", ["b", "a $(b)", "echo $(a $(b))"]),
        ("diff <(ls a) <(ls b)", ["ls a", "ls b", "diff <(ls a) <(ls b)"]),
        ("echo $((1 + 2))", ["echo $((1 + 2))"]),
        ("npm test 2>&1", ["npm test"]),
        ("npm test > /dev/null 2>&1", ["npm test"]),
        ("npm test &>/dev/null", ["npm test"]),
        ("npm test > out.txt", ["npm test > out.txt"]),
        ("echo a >| f", ["echo a >| f"]),
        ("timeout 30 npm test", ["npm test"]),
        ("timeout -s KILL --kill-after 5 30 npm test", ["npm test"]),
        ("nice -n 5 nohup time make", ["make"]),
        ("stdbuf -o L grep x", ["grep x"]),
        ("NODE_ENV=test npm test", ["npm test"]),
        ("PATH=/evil:$PATH ls", ["PATH=/evil:$PATH ls"]),
        ("NODE_ENV=test", []),
        ("if [ -f x ]; then echo a; else echo b; fi", ["[ -f x ]", "echo a", "echo b"]),
        ("for f in $(ls); do echo $f; done", ["ls", "echo $f"]),
        ("while read l; do echo $l; done", ["read l", "echo $l"]),
        ("echo done", ["echo done"]),
        ("ls # && rm -rf /", ["ls"]),
        ("echo a#b", ["echo a#b"]),
        ("cat <<EOF\nrm -rf /\nEOF\nls", ["cat <<EOF", "ls"]),
        ("cat <<'END' | wc -l\n$(rm)\nEND", ["cat <<'END'", "wc -l"]),
        ("cat <<-EOF\n\tx\n\tEOF\nls", ["cat <<-EOF", "ls"]),
        ("echo a \\\n  b", ["echo a   b"]),
        ("", []),
        ("# only a comment", []),
    ],
)
def test_split_shell_command(command: str, expected: list[str]) -> None:
    assert split_shell_command(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "echo 'unterminated",
        'echo "unterminated',
        "echo $(unterminated",
        "echo `unterminated",
        "case $x in a) b;; esac",
        "function f { rm -rf /; }",
        "select x in a b; do echo; done",
        "cat <<",
    ],
)
def test_unanalysable_commands(command: str) -> None:
    assert split_shell_command(command) is None


def test_deeply_nested_substitution_is_unanalysable() -> None:
    command = "echo " + "$(" * 40 + "x" + ")" * 40
    assert split_shell_command(command) is None
