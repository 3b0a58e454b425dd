"""Properties: argument values are never re-expanded and can never inject a command."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skilld.skills.expansion import ExpansionContext, expand_skill_sync, split_arguments
from skilld.skills.loader import skill_from_text
from skilld.skills.model import LoadedFrom, Source
from skilld.skills.shell import UnsafeValueError, quote_into, quote_states, reparsing_spans

# Text rich in everything the pipeline and the shell treat specially.
_SPECIAL = [
    "$ARGUMENTS",
    "$ARGUMENTS[0]",
    "$0",
    "$1",
    "$who",
    "${CLAUDE_SKILL_DIR}",
    "${CLAUDE_SESSION_ID}",
    "!`touch PWNED`",
    "```!",
    "\\",
    "\\$0",
    "'",
    '"',
    "`",
    "$(",
    ")",
    ";",
    "&&",
    "|",
    "\n",
    "EOF",
    "#",
    " ",
]
values = st.lists(
    st.one_of(st.sampled_from(_SPECIAL), st.text("abcxyz-_./ ", max_size=4)), max_size=8
).map("".join)

SKILL = skill_from_text(
    "---\narguments: who\n---\n<$who>|<$0>|<$ARGUMENTS[0]>\n",
    name="prop",
    source=Source.PROJECT,
    loaded_from=LoadedFrom.SKILLS,
    directory=Path("/sk"),
)
CONTEXT = ExpansionContext(session_id="SID", cwd=Path("/"), disable_shell=False)


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_argument_values_are_never_re_expanded(value: str) -> None:
    arguments = shlex.quote(value) if value else "''"
    text = expand_skill_sync(SKILL, arguments, context=CONTEXT).text
    assert text == f"Base directory for this skill: /sk\n\n<{value}>|<{value}>|<{value}>\n"


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_raw_arguments_are_never_re_expanded(value: str) -> None:
    skill = skill_from_text("[$ARGUMENTS]", name="raw", source=Source.PROJECT)
    assert expand_skill_sync(skill, value, context=CONTEXT).text == f"[{value}]"


@settings(max_examples=150, deadline=None)
@given(value=values)
def test_appended_arguments_are_never_re_expanded(value: str) -> None:
    skill = skill_from_text("Body.", name="raw", source=Source.PROJECT)
    text = expand_skill_sync(skill, value, context=CONTEXT).text
    assert text == ("Body." + (f"\n\nARGUMENTS: {value}" if value.strip() else ""))


_TEMPLATES = [
    "printf '%s' §",
    "printf '%s' \"§\"",
    "printf '%s' \"<§>\"",
    "printf '%s' '§'",
    "printf '%s' $'§'",
    "printf '%s' \"$(printf '%s' §)\"",
    "printf '%s' \"$(printf '%s' \"§\")\"",
    "printf '%s' `printf '%s' '§'`",
    "cat <<EOF\n§\nEOF",
    "cat <<'EOF'\n§\nEOF",
    "true # §",
    "echo $(( § ))",
    "[[ § == x ]] && echo y",
    'echo "${v:-§}"',
    "eval printf '%s' §",
    "sh -c \"printf '%s' §\"",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values, template=st.sampled_from(_TEMPLATES))
def test_no_value_can_inject_a_command(value: str, template: str, tmp_path: Path) -> None:
    at = template.index("§")
    plain = template.replace("§", "X")
    reparsed = any(start <= at < end for start, end in reparsing_spans(plain))
    try:
        quoted = quote_into(value, quote_states(plain)[at], reparsed=reparsed)
    except UnsafeValueError:
        return  # refused: nothing runs
    command = template[:at] + quoted + template[at + 1 :]
    subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, check=False)
    assert not (tmp_path / "PWNED").exists(), command


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
def test_no_argument_can_inject_through_an_expansion(value: str, tmp_path: Path) -> None:
    skill = skill_from_text(
        "---\nallowed-tools: Bash(printf:*)\narguments: who\n---\n"
        "A: !`printf '%s' $who`\nB: !`printf '%s' \"[$0]\"`\n",
        name="inject",
        source=Source.PROJECT,
    )
    context = ExpansionContext(cwd=tmp_path, disable_shell=False)
    arguments = shlex.quote(value) if value else "''"
    result = expand_skill_sync(skill, arguments, context=context)
    assert not (tmp_path / "PWNED").exists()
    assert result.text == f"A: {value.rstrip(chr(10))}\nB: [{value}]\n"


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab é'\"\\\t\n\r\x0b\u00a0\u3000#;$")), max_size=12)
)
def test_split_arguments_is_shell_style(text: str) -> None:
    try:
        expected = shlex.split(text)
    except ValueError:
        expected = text.split()  # unclosed quote: whitespace split, as Claude Code falls back
    if not text.strip():
        expected = []  # blank arguments (any Unicode space) are none, as in Claude Code
    assert split_arguments(text) == expected
