"""Decisions of the PermissionEngine: tool uses, shell commands, skills."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from skilld.exceptions import PermissionRuleError
from skilld.permissions import (
    SAFE_SKILL_FIELDS,
    PermissionBehavior,
    PermissionDecision,
    PermissionEngine,
    PermissionRequest,
    PermissionRule,
    RuleSource,
    ShellPermissionChecker,
    skill_unsafe_fields,
)
from skilld.skills.loader import skill_from_text
from skilld.skills.model import LoadedFrom, Skill, Source

PROJECT = "/work/proj"
HOME = "/home/ada"


def rule(
    text: str,
    behavior: PermissionBehavior = "allow",
    source: RuleSource = RuleSource.PROJECT,
    origin: str | None = None,
    root: str | None = None,
) -> PermissionRule:
    return PermissionRule.parse(text, behavior=behavior, source=source, origin=origin, root=root)


def engine(*rules: PermissionRule, **kwargs: object) -> PermissionEngine:
    return PermissionEngine(rules, cwd=PROJECT, home=HOME, **kwargs)  # type: ignore[arg-type]


def skill(frontmatter: str = "description: Says hello.", name: str = "hello") -> Skill:
    return skill_from_text(
        f"---\n{frontmatter}\n---\nHello.\n",
        name=name,
        source=Source.PROJECT,
        loaded_from=LoadedFrom.SKILLS,
    )


# --------------------------------------------------------------------------- shell


def test_allow_rule_allows_and_names_itself() -> None:
    decision = engine(rule("Bash(git *)", origin="/work/proj/.claude/settings.json")).check_shell(
        "git status"
    )
    assert decision == PermissionDecision(
        "allow",
        "Bash command 'git status' is allowed by the rule Bash(git *) "
        "(/work/proj/.claude/settings.json)",
        "Bash(git *)",
        "/work/proj/.claude/settings.json",
    )
    assert decision.allowed


def test_no_rule_asks_and_suggests_the_exact_command() -> None:
    decision = engine().check_shell("make build")
    assert decision == PermissionDecision(
        "ask",
        "Bash command 'make build' needs permission; the rule Bash(make build) in "
        "permissions.allow (or the skill's allowed-tools) would allow it",
        suggestions=("Bash(make build)",),
    )


def test_compound_command_needs_every_part_allowed() -> None:
    rules = engine(rule("Bash(git *)"))
    decision = rules.check_shell("git status && rm -rf build")
    assert decision.behavior == "ask"
    assert decision.suggestions == ("Bash(rm -rf build)",)
    assert rules.check_shell("git add . && git commit -m x").behavior == "allow"


def test_prefix_rule_does_not_reach_through_operators() -> None:
    rules = engine(rule("Bash(safe-cmd:*)"))
    for command in (
        "safe-cmd && other-cmd",
        "safe-cmd; other-cmd",
        "safe-cmd | other-cmd",
        "safe-cmd || other-cmd",
        "safe-cmd & other-cmd",
        "safe-cmd\nother-cmd",
        "safe-cmd $(other-cmd)",
        "safe-cmd `other-cmd`",
        'safe-cmd "$(other-cmd)"',
        "safe-cmd <(other-cmd)",
    ):
        decision = rules.check_shell(command)
        assert decision.behavior == "ask", command
        assert decision.suggestions == ("Bash(other-cmd)",), command
    assert rules.check_shell("safe-cmd 'a && b'").behavior == "allow"


def test_parts_may_be_allowed_by_different_rules() -> None:
    decision = engine(
        rule("Bash(git log *)", origin="a.json"), rule("Bash(head *)", origin="b.json")
    ).check_shell("git log --oneline | head -5")
    assert decision.behavior == "allow"
    assert decision.message == (
        "Bash command 'git log --oneline | head -5' is allowed by the rules "
        "Bash(git log *), Bash(head *) (a.json, b.json)"
    )


def test_deny_anywhere_beats_allow() -> None:
    rules = engine(
        rule("Bash", source=RuleSource.MANAGED),
        rule("Bash(rm *)", "deny", RuleSource.USER, origin="/home/ada/.claude/settings.json"),
    )
    decision = rules.check_shell("ls && rm -rf /")
    assert decision == PermissionDecision(
        "deny",
        "Bash command 'ls && rm -rf /' is denied by the rule Bash(rm *) "
        "(/home/ada/.claude/settings.json)",
        "Bash(rm *)",
        "/home/ada/.claude/settings.json",
    )
    assert rules.check_shell("ls").behavior == "allow"


def test_deny_sees_through_assignments_and_wrappers() -> None:
    rules = engine(rule("Bash"), rule("Bash(rm:*)", "deny"))
    for command in (
        "FOO=1 rm -rf x",
        "timeout 5 rm x",
        "nohup nice rm x",
        "echo $(rm x)",
        "rm x 2>&1",
        "(rm x)",
    ):
        assert rules.check_shell(command).behavior == "deny", command


def test_unsafe_assignment_blocks_allow_rules() -> None:
    rules = engine(rule("Bash(ls *)"))
    assert rules.check_shell("NODE_ENV=test ls").behavior == "allow"
    decision = rules.check_shell("LD_PRELOAD=/x.so ls")
    assert decision.behavior == "ask"
    assert decision.suggestions == ("Bash(LD_PRELOAD=/x.so ls)",)


def test_harmless_redirections_are_dropped_for_exact_rules() -> None:
    rules = engine(rule("Bash(npm test)"))
    assert rules.check_shell("npm test 2>&1").behavior == "allow"
    assert rules.check_shell("npm test >/dev/null").behavior == "allow"
    assert rules.check_shell("npm test > out.txt").behavior == "ask"


def test_ask_rule_beats_allow_rule() -> None:
    rules = engine(rule("Bash(git *)", source=RuleSource.MANAGED), rule("Bash(git push:*)", "ask"))
    decision = rules.check_shell("git push origin main")
    assert decision == PermissionDecision(
        "ask",
        "Bash command 'git push origin main' needs confirmation: the rule Bash(git push:*) "
        "(project rules) asks first",
        "Bash(git push:*)",
    )
    assert rules.check_shell("git pull").behavior == "allow"


def test_exact_rule_for_a_whole_compound_line() -> None:
    rules = engine(rule("Bash(npm ci && npm test)"))
    assert rules.check_shell("npm ci && npm test").behavior == "allow"
    assert rules.check_shell("npm ci && npm test && curl x").behavior == "ask"


def test_tool_wide_rules() -> None:
    assert engine(rule("Bash")).check_shell("anything at all; rm -rf /").behavior == "allow"
    assert engine(rule("Bash(*)")).check_shell("case x in a) b;; esac").behavior == "allow"
    assert engine(rule("Bash", "deny")).check_shell("ls").behavior == "deny"


def test_unanalysable_command_is_never_allowed_by_a_pattern() -> None:
    decision = engine(rule("Bash(echo *)")).check_shell("echo 'unterminated")
    assert decision == PermissionDecision(
        "ask",
        'Bash command "echo \'unterminated" cannot be analysed (case, function definitions '
        "or unterminated quotes), so no pattern rule can allow it",
        suggestions=("Bash(echo 'unterminated)",),
    )


def test_empty_command_runs_nothing() -> None:
    assert engine().check_shell("   # nothing").behavior == "allow"


def test_extra_allow_counts_only_for_the_call() -> None:
    rules = engine()
    decision = rules.check_shell("git status", extra_allow=["Bash(git status:*)"])
    assert decision == PermissionDecision(
        "allow",
        "Bash command 'git status' is allowed by the rule Bash(git status:*) "
        "(the skill's allowed-tools)",
        "Bash(git status:*)",
        "the skill's allowed-tools",
    )
    assert rules.check_shell("git status").behavior == "ask"


def test_extra_allow_never_beats_a_deny() -> None:
    rules = engine(rule("Bash(curl *)", "deny", RuleSource.MANAGED))
    assert rules.check_shell("curl x", extra_allow=["Bash"]).behavior == "deny"


def test_malformed_extra_allow_raises() -> None:
    with pytest.raises(PermissionRuleError, match="the skill's allowed-tools"):
        engine().check_shell("ls", extra_allow=["Bash(ls"])


def test_check_tool_bash_is_check_shell() -> None:
    rules = engine(rule("Bash(ls *)"))
    assert rules.check_tool("Bash", {"command": "ls -l"}) == rules.check_shell("ls -l")


def test_engine_satisfies_the_shell_checker_protocol() -> None:
    checker: ShellPermissionChecker = engine(rule("Bash(date)"))
    decision = checker.check_shell("date", extra_allow=())
    assert (decision.behavior, decision.message) == (
        "allow",
        "Bash command 'date' is allowed by the rule Bash(date) (project rules)",
    )


def test_powershell_rules_are_separate() -> None:
    rules = engine(rule("PowerShell(Get-Date)"))
    assert rules.check_shell("Get-Date", tool="PowerShell").behavior == "allow"
    assert rules.check_shell("Get-Date").behavior == "ask"


# --------------------------------------------------------------------------- precedence


def test_rules_are_sorted_by_precedence() -> None:
    sources = [
        RuleSource.USER,
        RuleSource.SKILL,
        RuleSource.LOCAL,
        RuleSource.MANAGED,
        RuleSource.PROJECT,
        RuleSource.CALLER,
    ]
    rules = engine(*(rule("Bash", source=s) for s in sources)).rules
    assert [r.source.value for r in rules] == [
        "managed",
        "caller",
        "local",
        "project",
        "user",
        "skill",
    ]


def test_highest_source_names_the_decision() -> None:
    rules = engine(
        rule("Bash(ls)", source=RuleSource.USER, origin="user.json"),
        rule("Bash(ls)", source=RuleSource.MANAGED, origin="managed.json"),
        rule("Bash(ls)", source=RuleSource.LOCAL, origin="local.json"),
    )
    assert rules.check_shell("ls").origin == "managed.json"


def test_managed_ask_cannot_be_loosened() -> None:
    rules = engine(
        rule("Bash(deploy *)", "ask", RuleSource.MANAGED),
        rule("Bash(deploy *)", source=RuleSource.CALLER),
    )
    assert rules.check_shell("deploy prod").behavior == "ask"
    assert rules.check_shell("deploy prod", extra_allow=["Bash"]).behavior == "ask"


def test_managed_only_ignores_every_other_rule() -> None:
    rules = engine(
        rule("Bash(ls)", source=RuleSource.MANAGED),
        rule("Bash(git *)", source=RuleSource.CALLER),
        managed_only=True,
    )
    assert [r.source for r in rules.rules] == [RuleSource.MANAGED]
    assert rules.check_shell("git status").behavior == "ask"
    assert rules.check_shell("git status", extra_allow=["Bash(git *)"]).behavior == "ask"
    assert rules.check_shell("ls").behavior == "allow"


def test_with_rules_returns_a_new_engine() -> None:
    base = engine()
    grown = base.with_rules([rule("Bash(ls)")])
    assert base.check_shell("ls").behavior == "ask"
    assert grown.check_shell("ls").behavior == "allow"
    assert (grown.cwd, grown.home) == (PROJECT, HOME)
    assert repr(grown) == "PermissionEngine(1 rules, cwd='/work/proj')"


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("pattern", "root", "path", "expected"),
    [
        ("//etc/**", None, "/etc/passwd", True),
        ("//etc/**", None, "/var/etc/x", False),
        ("~/secrets/**", None, "/home/ada/secrets/key", True),
        ("~/secrets/**", None, "/work/proj/secrets/key", False),
        ("/src/**/*.ts", "/work/proj", "/work/proj/src/a/b.ts", True),
        ("/src/**/*.ts", "/work/proj", "/work/proj/lib/src/b.ts", False),
        ("/notes.md", "/home/ada/.claude", "/home/ada/.claude/notes.md", True),
        ("/notes.md", "/home/ada/.claude", "/work/proj/notes.md", False),
        ("/notes.md", None, "/work/proj/notes.md", True),
        ("*.env", None, "/work/proj/.env", True),  # gitignore: * may be empty
        ("*.env", None, "/work/proj/prod.env", True),
        ("*.env", None, "/work/proj/deep/dir/prod.env", True),
        ("*.env", None, "/elsewhere/prod.env", False),
        (".env", None, "/work/proj/sub/.env", True),
        ("./.env", None, "/work/proj/.env", True),
        ("./.env", None, "/work/proj/sub/.env", False),
        ("secrets/", None, "/work/proj/secrets/a/b", True),
        ("src/*.py", None, "/work/proj/src/a.py", True),
        ("src/*.py", None, "/work/proj/src/sub/a.py", False),
        ("src/*.py", None, "/work/proj/x/src/a.py", False),
    ],
)
def test_read_path_patterns(pattern: str, root: str | None, path: str, expected: bool) -> None:
    rules = engine(rule(f"Read({pattern})", "deny", root=root))
    decision = rules.check_tool("Read", {"file_path": path})
    assert (decision.behavior == "deny") is expected


def test_relative_and_home_paths_in_tool_input() -> None:
    rules = engine(rule("Read(~/private/**)", "deny"), rule("Edit(/build/**)", "deny"))
    assert rules.check_tool("Read", {"file_path": "~/private/a"}).behavior == "deny"
    assert rules.check_tool("Edit", {"file_path": "build/out.js"}).behavior == "deny"
    assert rules.check_tool("Edit", {"file_path": "src/../build/out.js"}).behavior == "deny"
    assert rules.check_tool("Edit", {"file_path": "src/out.js"}).behavior == "ask"


def test_read_rules_cover_the_read_only_tools() -> None:
    rules = engine(rule("Read(/secrets/**)", "deny"))
    for tool, key in (("Read", "file_path"), ("Grep", "path"), ("Glob", "path"), ("LS", "path")):
        decision = rules.check_tool(tool, {key: "/work/proj/secrets/x"})
        assert decision.behavior == "deny", tool
    assert rules.check_tool("Edit", {"file_path": "/work/proj/secrets/x"}).behavior == "ask"


def test_edit_rules_cover_every_writing_tool_and_write_rules_only_write() -> None:
    rules = engine(rule("Edit(/docs/**)"), rule("Write(/out/**)"))
    for tool in ("Edit", "Write", "MultiEdit"):
        assert rules.check_tool(tool, {"file_path": "/work/proj/docs/a.md"}).behavior == "allow"
    assert (
        rules.check_tool("NotebookEdit", {"notebook_path": "/work/proj/docs/a.ipynb"}).behavior
        == "allow"
    )
    assert rules.check_tool("Write", {"file_path": "/work/proj/out/a"}).behavior == "allow"
    assert rules.check_tool("Edit", {"file_path": "/work/proj/out/a"}).behavior == "ask"


def test_edit_allow_implies_read_allow() -> None:
    rules = engine(rule("Edit(//data/**)"))
    decision = rules.check_tool("Read", {"file_path": "/data/x.csv"})
    assert (decision.behavior, decision.rule) == ("allow", "Edit(//data/**)")
    assert engine().check_tool("Read", {"file_path": "/data/x.csv"}).behavior == "ask"


def test_read_only_tools_default_to_allow_inside_the_working_dirs() -> None:
    rules = engine(additional_dirs=["/shared/lib"])
    assert rules.check_tool("Read", {"file_path": "src/a.py"}).behavior == "allow"
    assert rules.check_tool("Grep", {"pattern": "x"}).behavior == "allow"
    assert rules.check_tool("Read", {"file_path": "/shared/lib/a.py"}).behavior == "allow"
    decision = rules.check_tool("Read", {"file_path": "/work/project2/a.py"})
    assert decision == PermissionDecision(
        "ask",
        "Read of /work/project2/a.py needs permission; the rule Read(//work/project2/a.py) "
        "in permissions.allow would allow it",
        suggestions=("Read(//work/project2/a.py)",),
    )
    assert rules.check_tool("Write", {"file_path": "src/a.py"}).suggestions == ("Edit(./src/a.py)",)


def test_read_deny_beats_the_default_allow() -> None:
    rules = engine(rule("Read(.env)", "deny"))
    assert rules.check_tool("Read", {"file_path": ".env"}).behavior == "deny"


# --------------------------------------------------------------------------- other tools


def test_webfetch_domain_rules() -> None:
    rules = engine(rule("WebFetch(domain:example.com)"), rule("WebFetch(domain:*.docs.io)"))
    assert rules.check_tool("WebFetch", {"url": "https://example.com/a"}).behavior == "allow"
    assert rules.check_tool("WebFetch", {"url": "https://EXAMPLE.com/a"}).behavior == "allow"
    assert rules.check_tool("WebFetch", {"url": "https://evil-example.com"}).behavior == "ask"
    assert rules.check_tool("WebFetch", {"url": "https://api.docs.io/x"}).behavior == "allow"
    assert rules.check_tool("WebFetch", {"url": "https://docs.io.evil.net"}).behavior == "ask"
    assert rules.check_tool("WebFetch", {"url": "https://x.io"}).suggestions == (
        "WebFetch(domain:x.io)",
    )


def test_mcp_rules() -> None:
    rules = engine(rule("mcp__github"), rule("mcp__jira__*"), rule("mcp__slack__post"))
    assert rules.check_tool("mcp__github__create_issue", {}).behavior == "allow"
    assert rules.check_tool("mcp__jira__search", {}).behavior == "allow"
    assert rules.check_tool("mcp__slack__post", {}).behavior == "allow"
    assert rules.check_tool("mcp__slack__read", {}).behavior == "ask"
    assert rules.check_tool("mcp__githubber__x", {}).behavior == "ask"


def test_agent_rules_and_the_task_alias() -> None:
    rules = engine(rule("Task(reviewer)"))
    assert rules.check_tool("Agent", {"subagent_type": "reviewer"}).behavior == "allow"
    assert rules.check_tool("Task", {"subagent_type": "reviewer"}).behavior == "allow"
    assert rules.check_tool("Agent", {"subagent_type": "coder"}).behavior == "ask"


def test_unknown_tool_specifier_matches_nothing() -> None:
    rules = engine(rule("MyTool(x)"), rule("OtherTool"))
    assert rules.check_tool("MyTool", {"x": "x"}).behavior == "ask"
    assert rules.check_tool("OtherTool", {}).behavior == "allow"


# --------------------------------------------------------------------------- skills


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("Skill(deploy)", "deploy", True),
        ("Skill(/deploy)", "deploy", True),
        ("Skill(deploy)", "deploy-prod", False),
        ("Skill(deploy:*)", "deploy-prod", True),
        ("Skill(deploy:*)", "deploy", True),
        ("Skill(deploy *)", "deploy-prod", True),
        ("Skill(deploy:*)", "redeploy", False),
        ("Skill(tools:*)", "tools:lint", True),
        ("Skill(*-review)", "code-review", True),
        ("Skill(*-review)", "code-reviewer", False),
        ("Skill", "anything", True),
    ],
)
def test_skill_rule_matching(text: str, name: str, expected: bool) -> None:
    decision = engine(rule(text, "deny")).check_skill(skill(name=name))
    assert (decision.behavior == "deny") is expected


def test_skill_with_only_safe_properties_is_allowed() -> None:
    decision = engine().check_skill(
        skill(
            "description: d\nmodel: opus\neffort: high\ncontext: fork\nagent: x\n"
            "argument-hint: '[x]'\narguments: a b\npaths: src/**\nwhen_to_use: w\n"
            "disable-model-invocation: true\nlicense: MIT\nmetadata: {a: 1}\nunknown-key: 1\n"
            "disallowed-tools: Bash\nshell: bash"
        )
    )
    assert decision == PermissionDecision("allow", "Skill hello sets only safe properties")


@pytest.mark.parametrize(
    ("frontmatter", "reasons"),
    [
        ("allowed-tools: Bash(git *)", "allowed-tools"),
        ("hooks:\n  PreToolUse: []", "hooks"),
        ("shell: powershell", "a shell"),
        ("allowed-tools: Read\nhooks:\n  Stop: []", "allowed-tools, hooks"),
    ],
)
def test_unsafe_skill_without_callback_is_denied_with_the_rule_to_allow_it(
    frontmatter: str, reasons: str
) -> None:
    decision = engine().check_skill(skill(frontmatter, name="deploy"))
    assert decision == PermissionDecision(
        "deny",
        f"Skill deploy needs permission because it declares {reasons}; add the rule "
        "Skill(deploy) to permissions.allow (or pass --allow 'Skill(deploy)') to allow it",
        suggestions=("Skill(deploy)", "Skill(deploy:*)"),
    )


def test_empty_hooks_and_tool_lists_are_safe() -> None:
    assert skill_unsafe_fields(skill("hooks: {}\nallowed-tools: []")) == ()


def test_allow_rule_allows_an_unsafe_skill() -> None:
    decision = engine(rule("Skill(deploy)", origin="s.json")).check_skill(
        skill("allowed-tools: Bash", name="deploy")
    )
    assert decision == PermissionDecision(
        "allow",
        "Skill deploy is allowed by the rule Skill(deploy) (s.json)",
        "Skill(deploy)",
        "s.json",
    )


def test_deny_rule_beats_safe_properties_and_allow_rules() -> None:
    rules = engine(
        rule("Skill(hello)", source=RuleSource.MANAGED),
        rule("Skill(hel:*)", "deny", RuleSource.USER, origin="u.json"),
    )
    assert rules.check_skill(skill()) == PermissionDecision(
        "deny", "Skill hello is denied by the rule Skill(hel:*) (u.json)", "Skill(hel:*)", "u.json"
    )


def test_callback_decides_an_unsafe_skill() -> None:
    seen: list[PermissionRequest] = []

    def ask(request: PermissionRequest) -> bool:
        seen.append(request)
        return request.skill is not None and request.skill.name == "deploy"

    rules = engine()
    unsafe = skill("allowed-tools: Bash", name="deploy")
    assert rules.check_skill(unsafe, ask=ask) == PermissionDecision(
        "allow", "Skill deploy was allowed when asked"
    )
    assert rules.check_skill(skill("allowed-tools: Bash", name="other"), ask=ask) == (
        PermissionDecision("deny", "Skill other was denied when asked")
    )
    assert seen[0] == PermissionRequest(
        "Skill",
        {"skill": "deploy"},
        "Skill deploy needs permission because it declares allowed-tools",
        ("Skill(deploy)", "Skill(deploy:*)"),
        None,
        unsafe,
    )


def test_callback_may_answer_with_a_decision() -> None:
    custom = PermissionDecision("deny", "not on Fridays")
    assert engine().check_skill(skill("hooks: {Stop: []}"), ask=lambda _: custom) is custom


def test_callback_is_not_called_for_safe_or_ruled_skills() -> None:
    def ask(request: PermissionRequest) -> bool:
        raise AssertionError("asked")

    assert engine().check_skill(skill(), ask=ask).behavior == "allow"
    assert engine(rule("Skill", "deny")).check_skill(skill(), ask=ask).behavior == "deny"


def test_ask_rule_asks_even_for_a_safe_skill() -> None:
    rules = engine(rule("Skill(hello)", "ask", origin="p.json"))
    decision = rules.check_skill(skill())
    assert decision == PermissionDecision(
        "deny",
        "Skill hello needs confirmation: the rule Skill(hello) (p.json) asks before it runs; "
        "remove that ask rule or add an allow rule the host can confirm",
        "Skill(hello)",
        "p.json",
        ("Skill(hello)", "Skill(hello:*)"),
    )
    assert rules.check_skill(skill(), ask=lambda request: True).behavior == "allow"


def test_check_tool_for_skill_uses_rules_only() -> None:
    rules = engine(rule("Skill(a)"))
    assert rules.check_tool("Skill", {"skill": "a"}).behavior == "allow"
    assert rules.check_tool("Skill", {"skill": "b"}).suggestions == ("Skill(b)",)


def test_a_new_skill_field_needs_a_decision() -> None:
    @dataclass(frozen=True, eq=False)
    class FutureSkill(Skill):
        webhook: str | None = None
        retries: int = 0

    base = skill()
    fields = {name: getattr(base, name) for name in Skill.__dataclass_fields__}
    assert skill_unsafe_fields(FutureSkill(**fields)) == ()
    future = FutureSkill(**fields, webhook="https://x", retries=2)
    assert skill_unsafe_fields(future) == ("webhook", "retries")
    assert engine().check_skill(future).behavior == "deny"


def test_every_skill_field_is_reviewed() -> None:
    # A new Skill field must be added to SAFE_SKILL_FIELDS or to this list on purpose.
    needs_decision = {"allowed_tools", "hooks", "shell"}
    assert set(Skill.__dataclass_fields__) == SAFE_SKILL_FIELDS | needs_decision


def test_engine_defaults_use_the_process_directory() -> None:
    rules = PermissionEngine()
    assert rules.cwd == str(Path.cwd())
    assert rules.home == str(Path.home())


def test_quoting_does_not_hide_a_command_from_a_deny_rule() -> None:
    rules = engine(rule("Bash"), rule("Bash(rm -rf *)", "deny"), rule("Bash(git push:*)", "ask"))
    for command in ('r"m" -rf /', "'rm' '-rf' /", "\\rm -rf /", "ls; 'rm' -rf x"):
        assert rules.check_shell(command).behavior == "deny", command
    assert rules.check_shell("g'i't push").behavior == "ask"
    assert rules.check_shell("echo 'rm -rf /'").behavior == "allow"
