"""Inline shell in expansions: running, permissions, policy, failures, injection, corpus."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from skilld.exceptions import ShellCommandDenied, ShellCommandError
from skilld.permissions import PermissionEngine, PermissionRule
from skilld.skills import expansion
from skilld.skills.expansion import (
    SHELL_DISABLED_NOTICE,
    ExpansionContext,
    expand_skill,
    expand_skill_sync,
)
from skilld.skills.loader import load_skill_file, skill_from_text
from skilld.skills.model import LoadedFrom, Skill, Source
from skilld.skills.shell import ResolvedShell
from tests.helpers import CORPUS


@dataclass
class Decision:
    behavior: str
    message: str = ""


@dataclass
class Recorder:
    """A permission checker that records every command and answers ``behavior``."""

    behavior: str = "allow"
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)

    def check_shell(
        self, command: str, *, extra_allow: Sequence[str], tool: str = "Bash"
    ) -> Decision:
        self.tools.append(tool)
        self.calls.append((command, tuple(extra_allow)))
        return Decision(self.behavior, f"recorder says {self.behavior}")


def make(
    body: str,
    frontmatter: str = "allowed-tools: Bash",
    *,
    source: Source = Source.PROJECT,
    name: str = "demo",
) -> Skill:
    return skill_from_text(
        f"---\n{frontmatter}\n---\n{body}",
        name=name,
        source=source,
        loaded_from=LoadedFrom.COMMANDS,
    )


def ctx(tmp_path: Path, **kwargs: Any) -> ExpansionContext:
    kwargs.setdefault("disable_shell", False)
    return ExpansionContext(session_id="s", cwd=tmp_path, **kwargs)


# --------------------------------------------------------------------------- running


def test_inline_command_output_replaces_the_pattern(tmp_path: Path) -> None:
    skill = make("Dir: !`pwd`\nSum: !`echo $((1+2))` done")
    result = expand_skill_sync(skill, context=ctx(tmp_path))
    assert result.text == f"Dir: {tmp_path}\nSum: 3 done"
    assert [r.command for r in result.shell_commands] == ["pwd", "echo $((1+2))"]
    assert [r.exit_code for r in result.shell_commands] == [0, 0]
    assert all(r.duration > 0 for r in result.shell_commands)


def test_fenced_bang_block_runs_as_a_script(tmp_path: Path) -> None:
    skill = make("Before\n```!\nx=4\necho $((x*2))\necho err >&2\n```\nAfter")
    result = expand_skill_sync(skill, context=ctx(tmp_path))
    assert result.text == "Before\n8\nerr\nAfter"
    assert result.shell_commands[0].pattern == "```!\nx=4\necho $((x*2))\necho err >&2\n```"


def test_key_equals_pattern_stays_literal(tmp_path: Path) -> None:
    skill = make("KEY=!`echo no` and (!`echo no`) but !`echo yes`")
    result = expand_skill_sync(skill, context=ctx(tmp_path))
    assert result.text == "KEY=!`echo no` and (!`echo no`) but yes"


def test_documentation_never_runs(tmp_path: Path) -> None:
    body = (
        "Inline `!`touch A`` span, ``!`touch B` `` too.\n\n"
        "```\n!`touch C`\n```\n\n"
        "~~~markdown\n!`touch D`\n~~~\n\n"
        "````md\n```!\ntouch E\n```\n````\n\n"
        "    !`touch F`\n\n"
        "```!\ntouch G\n"  # unclosed: never runs
    )
    recorder = Recorder()
    result = expand_skill_sync(make(body), context=ctx(tmp_path, permissions=recorder))
    assert result.text == body
    assert recorder.calls == []
    assert list(tmp_path.iterdir()) == []


def test_exit_one_of_grep_is_an_answer(tmp_path: Path) -> None:
    skill = make("Found: !`grep nothing /dev/null`.")
    result = expand_skill_sync(skill, context=ctx(tmp_path))
    assert result.text == "Found: ."
    assert result.shell_commands[0].exit_code == 1


def test_failing_command_aborts_with_pattern_and_output(tmp_path: Path) -> None:
    skill = make("A !`echo fine`\nB !`echo broken >&2; exit 3`")
    with pytest.raises(ShellCommandError) as caught:
        expand_skill_sync(skill, context=ctx(tmp_path))
    error = caught.value
    assert error.pattern == "!`echo broken >&2; exit 3`"
    assert error.exit_code == 3
    assert error.output == "broken"
    assert "exit code 3" in str(error)
    assert "broken" in str(error)


def test_timeout_aborts(tmp_path: Path) -> None:
    skill = make("!`echo partial; sleep 30`")
    with pytest.raises(ShellCommandError) as caught:
        expand_skill_sync(skill, context=ctx(tmp_path, shell_timeout=0.3))
    assert "timed out after 0.3s" in str(caught.value)
    assert caught.value.output == "partial"


def test_output_cap_saves_the_rest(tmp_path: Path) -> None:
    skill = make("Out: !`seq 1 5000`")
    context = ctx(tmp_path, output_cap=100, preview_chars=4, overflow_dir=tmp_path / "o")
    result = expand_skill_sync(skill, context=context)
    record = result.shell_commands[0]
    assert record.truncated
    assert record.overflow_path is not None
    assert result.text == (
        f"Out: 1\n2\n\n... [output truncated: {record.overflow_path.stat().st_size} bytes "
        f"in total; full output saved to {record.overflow_path}]"
    )


async def test_async_expansion_runs_commands(tmp_path: Path) -> None:
    result = await expand_skill(make("!`echo async`"), context=ctx(tmp_path))
    assert result.text == "async"


async def test_sync_expansion_inside_a_running_loop(tmp_path: Path) -> None:
    result = expand_skill_sync(make("!`echo from-sync`"), context=ctx(tmp_path))
    assert result.text == "from-sync"


def test_escaped_placeholder_in_a_command_reaches_the_shell_escaped(tmp_path: Path) -> None:
    result = expand_skill_sync(make(r"!`echo \$1`"), "a b", context=ctx(tmp_path))
    assert result.text.startswith("$1")


# --------------------------------------------------------------------------- permissions


def test_default_policy_allows_what_allowed_tools_cover(tmp_path: Path) -> None:
    skill = make("!`echo hi`", "allowed-tools: Bash(echo:*)")
    assert expand_skill_sync(skill, context=ctx(tmp_path)).text == "hi"


def test_default_policy_denies_the_rest_and_names_a_rule(tmp_path: Path) -> None:
    skill = make("!`touch made`", "allowed-tools: Bash(echo:*)")
    with pytest.raises(ShellCommandDenied) as caught:
        expand_skill_sync(skill, context=ctx(tmp_path))
    assert caught.value.command == "touch made"
    assert caught.value.pattern == "!`touch made`"
    assert "Bash(touch made)" in str(caught.value)
    assert not (tmp_path / "made").exists()


def test_compound_command_needs_every_part_allowed(tmp_path: Path) -> None:
    skill = make("!`echo hi; touch made`", "allowed-tools: Bash(echo:*)")
    with pytest.raises(ShellCommandDenied):
        expand_skill_sync(skill, context=ctx(tmp_path))
    assert not (tmp_path / "made").exists()


def test_every_command_is_checked_before_any_runs(tmp_path: Path) -> None:
    skill = make("!`touch first`\n!`rm -rf second`", "allowed-tools: Bash(touch:*)")
    with pytest.raises(ShellCommandDenied):
        expand_skill_sync(skill, context=ctx(tmp_path))
    assert not (tmp_path / "first").exists()


def test_checker_gets_the_skill_allowed_tools(tmp_path: Path) -> None:
    recorder = Recorder()
    skill = skill_from_text(
        "---\nallowed-tools: Read Bash(${CLAUDE_SKILL_DIR}/run.sh:*)\n---\n!`echo x`",
        name="demo",
        source=Source.PROJECT,
        directory=Path("/sk"),
    )
    expand_skill_sync(skill, context=ctx(tmp_path, permissions=recorder))
    assert recorder.calls == [("echo x", ("Read", "Bash(/sk/run.sh:*)"))]


def test_powershell_skills_are_checked_and_quoted_as_powershell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pwsh = ResolvedShell("powershell", ("pwsh", "-NoProfile", "-Command"))
    monkeypatch.setattr(expansion, "resolve_shell", lambda requested: pwsh)
    recorder = Recorder("deny")
    skill = make('!`Write-Output $0 "[$1]"`', "shell: powershell")
    with pytest.raises(ShellCommandDenied):
        expand_skill_sync(skill, "\"it's\" '$x'", context=ctx(tmp_path, permissions=recorder))
    assert recorder.tools == ["PowerShell"]
    assert recorder.calls[0][0] == "Write-Output 'it''s' \"[`$x]\""


@pytest.mark.parametrize("behavior", ["deny", "ask"])
def test_anything_but_allow_aborts(behavior: str, tmp_path: Path) -> None:
    recorder = Recorder(behavior)
    with pytest.raises(ShellCommandDenied) as caught:
        expand_skill_sync(make("!`touch x`"), context=ctx(tmp_path, permissions=recorder))
    assert f"recorder says {behavior}" in str(caught.value)
    assert not (tmp_path / "x").exists()


def test_a_caller_deny_beats_the_skill_allow(tmp_path: Path) -> None:
    engine = PermissionEngine(
        [PermissionRule.parse("Bash(touch:*)", behavior="deny")], cwd=tmp_path
    )
    skill = make("!`touch x`", "allowed-tools: Bash(touch:*)")
    with pytest.raises(ShellCommandDenied, match="denied"):
        expand_skill_sync(skill, context=ctx(tmp_path, permissions=engine))


# --------------------------------------------------------------------------- policy


def test_disable_shell_policy_replaces_every_command(tmp_path: Path) -> None:
    recorder = Recorder()
    skill = make("A !`touch x`\n```!\ntouch y\n```\nB")
    context = ExpansionContext(cwd=tmp_path, disable_shell=True, permissions=recorder)
    result = expand_skill_sync(skill, context=context)
    assert result.text == f"A {SHELL_DISABLED_NOTICE}\n{SHELL_DISABLED_NOTICE}\nB"
    assert recorder.calls == []
    assert result.shell_commands == ()


def test_disable_shell_policy_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLD_DISABLE_SHELL", "1")
    result = expand_skill_sync(make("!`touch x`"), context=ExpansionContext(cwd=tmp_path))
    assert result.text == SHELL_DISABLED_NOTICE


@pytest.mark.parametrize("source", [Source.MANAGED, Source.BUNDLED])
def test_managed_and_bundled_skills_are_exempt(source: Source, tmp_path: Path) -> None:
    skill = make("!`echo ran`", source=source)
    context = ExpansionContext(cwd=tmp_path, disable_shell=True)
    assert expand_skill_sync(skill, context=context).text == "ran"


def test_mcp_skills_never_run_shell(tmp_path: Path) -> None:
    recorder = Recorder()
    body = "Run !`touch x` now\n```!\ntouch y\n```"
    skill = make(body, source=Source.MCP)
    result = expand_skill_sync(skill, context=ctx(tmp_path, permissions=recorder))
    assert result.text == body
    assert recorder.calls == []
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize(
    "command",
    [
        "printf '%s' $ARGUMENTS",
        "printf '%s' $0",
        'printf "%s" "$0"',
        "printf '%s' '$0'",
        "printf '%s' $target",
        'printf "%s" "[$ARGUMENTS[0]]"',
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "x; touch PWNED",
        "$(touch PWNED)",
        "`touch PWNED`",
        "' ; touch PWNED ; '",
        '" ; touch PWNED ; "',
        "x && touch PWNED || touch PWNED",
        "x\ntouch PWNED",
    ],
)
def test_arguments_cannot_inject_a_command(command: str, value: str, tmp_path: Path) -> None:
    skill = make(f"Out: !`{command}`", "allowed-tools: Bash(printf:*)\narguments: target")
    quoted = "'" + value.replace("'", "'\"'\"'") + "'"  # one shell word
    result = expand_skill_sync(skill, quoted, context=ctx(tmp_path))
    assert not (tmp_path / "PWNED").exists()
    shown = result.text.removeprefix("Out: ").strip("[]")
    expected = quoted if "ARGUMENTS" in command and "[" not in command else value
    assert shown in (expected, expected.rstrip("\n"))


def test_deploy_example_runs_one_command(tmp_path: Path) -> None:
    skill = make("Deploying: !`echo deploying $ARGUMENTS`", "allowed-tools: Bash(echo:*)")
    result = expand_skill_sync(skill, "x; touch PWNED", context=ctx(tmp_path))
    assert result.text == "Deploying: deploying x; touch PWNED"
    assert result.shell_commands[0].command == "echo deploying 'x; touch PWNED'"
    assert not (tmp_path / "PWNED").exists()


def test_arithmetic_injection_is_refused(tmp_path: Path) -> None:
    skill = make("!`[[ $0 -gt 5 ]] && echo big || echo small`")
    assert expand_skill_sync(skill, "9", context=ctx(tmp_path)).text == "big"
    with pytest.raises(ShellCommandDenied, match=r"\[\[ \]\] test") as caught:
        expand_skill_sync(skill, "'a[$(touch PWNED)]'", context=ctx(tmp_path))
    assert caught.value.command == "[[ $0 -gt 5 ]] && echo big || echo small"
    assert not (tmp_path / "PWNED").exists()


def test_eval_gets_only_plain_words(tmp_path: Path) -> None:
    skill = make("!`eval echo $0`")
    assert expand_skill_sync(skill, "v1.2", context=ctx(tmp_path)).text == "v1.2"
    with pytest.raises(ShellCommandDenied, match="plain word"):
        expand_skill_sync(skill, "'x; touch PWNED'", context=ctx(tmp_path))
    assert not (tmp_path / "PWNED").exists()


def test_argument_values_never_become_commands(tmp_path: Path) -> None:
    recorder = Recorder()
    skill = make("$ARGUMENTS and $0\n")
    result = expand_skill_sync(
        skill, "'!`touch PWNED`' ```!", context=ctx(tmp_path, permissions=recorder)
    )
    assert result.text == "'!`touch PWNED`' ```! and !`touch PWNED`\n"
    assert recorder.calls == []


# --------------------------------------------------------------------------- corpus

# Claude Code's own patterns, to show the corpus really holds what it would run.
_CLAUDE_CODE_INLINE = re.compile(r"(?<!\S)!`([^`]+)`")
_CLAUDE_CODE_BLOCK = re.compile(r"```!\s*\n?([\s\S]*?)\n?```")
COMMAND_DEVELOPMENT = (
    CORPUS
    / "skills/anthropics__claude-plugins-official/plugins/plugin-dev/skills/command-development"
)


@pytest.fixture
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Fail loudly if anything tries to start a process."""
    started: list[tuple[Any, ...]] = []

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        started.append(args)
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refuse)
    monkeypatch.setattr(asyncio, "create_subprocess_shell", refuse)
    return started


@pytest.mark.corpus
def test_command_development_runs_none_of_its_examples(
    tmp_path: Path, no_subprocess: list[tuple[Any, ...]]
) -> None:
    skill = load_skill_file(COMMAND_DEVELOPMENT / "SKILL.md", source=Source.PLUGIN)
    would_run = _CLAUDE_CODE_INLINE.findall(skill.body)
    assert len(would_run) >= 10  # Claude Code would run every one of these
    recorder = Recorder()
    result = expand_skill_sync(skill, "123 staging", context=ctx(tmp_path, permissions=recorder))
    assert recorder.calls == []
    assert no_subprocess == []
    assert result.shell_commands == ()
    assert "!`gh pr view staging`" in result.text  # $1 is substituted, but nothing ran
    assert list(tmp_path.iterdir()) == []


@pytest.mark.corpus
def test_no_corpus_skill_runs_anything(
    tmp_path: Path, no_subprocess: list[tuple[Any, ...]]
) -> None:
    recorder = Recorder()
    files = [
        p for p in CORPUS.rglob("*.md") if p.name.upper() == "SKILL.MD" or "commands" in p.parts
    ]
    assert len(files) > 100
    for path in files:
        skill = load_skill_file(
            path,
            source=Source.PROJECT,
            loaded_from=LoadedFrom.SKILLS
            if path.name.upper() == "SKILL.MD"
            else LoadedFrom.COMMANDS,
        )
        result = expand_skill_sync(skill, "a b", context=ctx(tmp_path, permissions=recorder))
        assert result.shell_commands == (), path
    assert recorder.calls == []
    assert no_subprocess == []


@pytest.mark.corpus
def test_corpus_reference_files_run_nothing(no_subprocess: list[tuple[Any, ...]]) -> None:
    """The reference documents of command-development are full of examples too."""
    recorder = Recorder()
    total = 0
    for path in sorted((COMMAND_DEVELOPMENT / "references").glob("*.md")):
        body = path.read_text(encoding="utf-8")
        total += len(_CLAUDE_CODE_INLINE.findall(body)) + len(_CLAUDE_CODE_BLOCK.findall(body))
        skill = make(body, name=path.stem)
        expand_skill_sync(
            skill, context=ExpansionContext(permissions=recorder, disable_shell=False)
        )
    assert total > 50
    assert recorder.calls == []
