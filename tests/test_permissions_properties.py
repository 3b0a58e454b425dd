"""Properties of the permission rules that must hold for every input."""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from skilld.permissions import (
    PermissionEngine,
    PermissionRule,
    match_shell_pattern,
    split_shell_command,
)

ENGINE = PermissionEngine(
    [
        PermissionRule.parse("Bash(echo *)"),
        PermissionRule.parse("Bash(evil:*)", behavior="deny"),
    ],
    cwd="/p",
    home="/h",
)
OPERATORS = ["&&", "||", ";", "|", "&", "\n", "|&"]
word = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
plain = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-_."), min_size=1, max_size=12)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_splitting_never_raises(command: str) -> None:
    result = split_shell_command(command)
    assert result is None or all(isinstance(part, str) and part for part in result)


@settings(max_examples=300)
@given(st.lists(word, max_size=4))
def test_a_quoted_argument_is_one_argument(arguments: list[str]) -> None:
    command = "echo " + " ".join(shlex.quote(a) for a in arguments)
    assert split_shell_command(command) == [command.strip()]
    assert ENGINE.check_shell(command).behavior == "allow"


@settings(max_examples=200)
@given(st.sampled_from(OPERATORS), word)
def test_an_operator_always_starts_a_command_that_needs_its_own_rule(
    operator: str, argument: str
) -> None:
    command = f"echo {shlex.quote(argument)} {operator} evil {shlex.quote(argument)}"
    assert ENGINE.check_shell(command).behavior == "deny"
    allowed_only = PermissionEngine([PermissionRule.parse("Bash(echo *)")], cwd="/p", home="/h")
    assert allowed_only.check_shell(command).behavior == "ask"


@settings(max_examples=200)
@given(st.sampled_from(["$(evil)", "`evil`", '"$(evil)"', "<(evil)", "$(echo $(evil))"]))
def test_a_substitution_is_checked_as_a_command(substitution: str) -> None:
    assert ENGINE.check_shell(f"echo {substitution}").behavior == "deny"


@settings(max_examples=300)
@given(plain, st.text(max_size=30))
def test_a_trailing_space_star_is_a_word_boundary(prefix: str, rest: str) -> None:
    assert match_shell_pattern(f"{prefix} *", prefix)
    assert match_shell_pattern(f"{prefix} *", f"{prefix} {rest}")
    assert not match_shell_pattern(f"{prefix} *", f"{prefix}x{rest}")
    assert match_shell_pattern(f"{prefix}:*", f"{prefix} {rest}")
    assert not match_shell_pattern(f"{prefix}:*", f"{prefix}x{rest}")
