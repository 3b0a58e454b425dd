"""Substitution rules of the expansion pipeline, each with its exact output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skilld.skills import expansion
from skilld.skills.expansion import (
    Expansion,
    ExpansionContext,
    expand_skill,
    expand_skill_sync,
    split_arguments,
)
from skilld.skills.loader import skill_from_text
from skilld.skills.model import LoadedFrom, Skill, Source

DIR = Path("/skills/demo")
CTX = ExpansionContext(session_id="sess-1", cwd=Path("/work/proj"))


def make(
    body: str,
    frontmatter: str = "",
    *,
    directory: Path | None = None,
    source: Source = Source.PROJECT,
    **kwargs: Any,
) -> Skill:
    text = f"---\n{frontmatter}\n---\n{body}" if frontmatter else body
    loaded_from = LoadedFrom.SKILLS if directory is not None else LoadedFrom.COMMANDS
    return skill_from_text(
        text, name="demo", source=source, loaded_from=loaded_from, directory=directory, **kwargs
    )


def expand(skill: Skill, arguments: str = "", context: ExpansionContext = CTX) -> str:
    return expand_skill_sync(skill, arguments, context=context).text


# --------------------------------------------------------------------------- prefix


def test_base_directory_prefix_for_a_skill_with_a_folder() -> None:
    assert expand(make("Do it.", directory=DIR)) == (
        "Base directory for this skill: /skills/demo\n\nDo it."
    )


def test_no_prefix_for_a_command_file() -> None:
    assert expand(make("Do it.")) == "Do it."


# --------------------------------------------------------------------------- arguments


def test_named_arguments_by_position() -> None:
    skill = make("Migrate $component from $from to $to.", "arguments: [component, from, to]")
    assert expand(skill, "SearchBar React Vue") == "Migrate SearchBar from React to Vue."


def test_named_argument_missing_value_is_empty() -> None:
    skill = make("[$a][$b]", "arguments: a b")
    assert expand(skill, "one") == "[one][]"


def test_named_argument_not_a_prefix_of_a_longer_word() -> None:
    skill = make("$name $names $name_x $name[0] $name-", "arguments: name")
    assert expand(skill, "N") == "N $names $name_x $name[0] N-"


def test_longest_declared_name_wins() -> None:
    skill = make("$old-name / $old", "arguments: [old, old-name]")
    assert expand(skill, "a b") == "b / a"


@pytest.mark.parametrize("name", ["a.b", "x+", "(g)", "c|d", "st*r", "q?"])
def test_names_with_regex_metacharacters(name: str) -> None:
    skill = make(f"<${name}> <$ab>", f"arguments: ['{name}']")
    assert expand(skill, "V") == "<V> <$ab>"


def test_indexed_arguments_zero_based_shell_split() -> None:
    skill = make("0=$ARGUMENTS[0] 1=$ARGUMENTS[1] $0|$1")
    assert expand(skill, '"hello world" second') == "0=hello world 1=second hello world|second"


def test_single_quotes_split_too() -> None:
    assert expand(make("$0|$1"), "'a b' c") == "a b|c"


def test_missing_index_stays_literal() -> None:
    skill = make("$0 $1 $ARGUMENTS[2] $7")
    assert expand(skill, "only") == "only $1 $ARGUMENTS[2] $7"


def test_arguments_raw_string() -> None:
    assert expand(make("All: $ARGUMENTS."), '"quoted" raw  text') == 'All: "quoted" raw  text.'


def test_arguments_followed_by_word_characters_still_substituted() -> None:
    # Claude Code's $ARGUMENTS has no word boundary; $ARGUMENTSX is the value then X.
    assert expand(make("[$ARGUMENTSX]"), "v") == "[vX]"


def test_arguments_empty_string() -> None:
    assert expand(make("Fix $ARGUMENTS now.")) == "Fix  now."


def test_append_when_no_placeholder() -> None:
    assert expand(make("Body."), "a b") == "Body.\n\nARGUMENTS: a b"


def test_append_after_prefix_and_body() -> None:
    assert expand(make("Body.", directory=DIR), "x") == (
        "Base directory for this skill: /skills/demo\n\nBody.\n\nARGUMENTS: x"
    )


def test_no_append_without_arguments() -> None:
    assert expand(make("Body."), "") == "Body."
    assert expand(make("Body."), "   ") == "Body."


@pytest.mark.parametrize(
    "body",
    ["Use $0.", "Use $ARGUMENTS[0].", "Use $ARGUMENTS.", "Use $who."],
)
def test_any_substituted_argument_placeholder_prevents_the_append(body: str) -> None:
    skill = make(body, "arguments: who")
    assert expand(skill, "v") == "Use v."


def test_placeholders_left_literal_do_not_count() -> None:
    # $3 has no value, so nothing was substituted and the arguments are appended.
    assert expand(make("Costs $3.00."), "x") == "Costs $3.00.\n\nARGUMENTS: x"


def test_variables_do_not_count_as_argument_placeholders() -> None:
    skill = make("In ${CLAUDE_SKILL_DIR}.", directory=DIR)
    assert expand(skill, "x").endswith("In /skills/demo.\n\nARGUMENTS: x")


def test_escaped_placeholder_keeps_the_literal() -> None:
    assert expand(make(r"\$1 and \$ARGUMENTS and \${CLAUDE_SESSION_ID}"), "a b") == (
        "$1 and $ARGUMENTS and ${CLAUDE_SESSION_ID}\n\nARGUMENTS: a b"
    )


def test_only_a_single_backslash_escapes() -> None:
    assert expand(make(r"\\$0 \\\$0 \$0"), "v") == r"\\v \\\v $0"


def test_argument_values_are_never_re_expanded() -> None:
    skill = make("[$0] [$1] [$ARGUMENTS]", "arguments: who")
    value = "'$ARGUMENTS $1 ${CLAUDE_SESSION_ID} $who' x"
    assert expand(skill, value) == (f"[$ARGUMENTS $1 ${{CLAUDE_SESSION_ID}} $who] [x] [{value}]")


def test_unbalanced_quotes_split_on_whitespace() -> None:
    assert split_arguments('it"s here') == ['it"s', "here"]
    assert expand(make("$0|$1"), "don't stop") == "don't|stop"


def test_split_arguments() -> None:
    assert split_arguments("") == []
    assert split_arguments('a "b c" d') == ["a", "b c", "d"]


# --------------------------------------------------------------------------- variables


def test_skill_dir_and_session_id() -> None:
    skill = make("${CLAUDE_SKILL_DIR}/run.sh in ${CLAUDE_SESSION_ID}", directory=DIR)
    assert expand(skill).endswith("\n\n/skills/demo/run.sh in sess-1")


def test_skill_dir_stays_literal_without_a_folder() -> None:
    assert expand(make("${CLAUDE_SKILL_DIR}/x")) == "${CLAUDE_SKILL_DIR}/x"


def test_skill_dir_forward_slashes_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expansion, "_WINDOWS", True)
    skill = make("${CLAUDE_SKILL_DIR}", directory=Path("C:\\Users\\me\\skills\\demo"))
    assert expand(skill).endswith("\n\nC:/Users/me/skills/demo")


def test_project_dir_defaults_to_cwd_then_explicit() -> None:
    assert expand(make("${CLAUDE_PROJECT_DIR}")) == "/work/proj"
    ctx = ExpansionContext(session_id="s", cwd=Path("/a"), project_dir=Path("/b"))
    assert expand(make("${CLAUDE_PROJECT_DIR}"), context=ctx) == "/b"


def test_effort_from_context_then_skill() -> None:
    skill = make("effort=${CLAUDE_EFFORT}", "effort: high")
    assert expand(skill) == "effort=high"
    assert expand(skill, context=ExpansionContext(effort="low")) == "effort=low"
    assert expand(make("effort=${CLAUDE_EFFORT}")) == "effort="


def test_session_id_defaults_to_a_fresh_uuid() -> None:
    first = expand(make("${CLAUDE_SESSION_ID}"), context=ExpansionContext())
    second = expand(make("${CLAUDE_SESSION_ID}"), context=ExpansionContext())
    assert len(first) == 36
    assert first != second


def test_plugin_variables(tmp_path: Path) -> None:
    root = tmp_path / "plug"
    skill = make(
        "${CLAUDE_PLUGIN_ROOT}|${CLAUDE_PLUGIN_DATA}",
        directory=root / "skills" / "demo",
        source=Source.PLUGIN,
        plugin="my-plugin",
        plugin_root=root,
    )
    ctx = ExpansionContext(session_id="s", plugin_data_dir=tmp_path / "data")
    assert expand(skill, context=ctx).endswith(f"\n\n{root}|{tmp_path / 'data'}")


def test_plugin_data_default_under_home(isolated_env: Path) -> None:
    skill = make("${CLAUDE_PLUGIN_DATA}", source=Source.PLUGIN, plugin="p@market")
    assert expand(skill) == str(isolated_env / ".claude" / "plugins" / "data" / "p-market")


def test_plugin_variables_literal_outside_plugins() -> None:
    body = "${CLAUDE_PLUGIN_ROOT} ${CLAUDE_PLUGIN_DATA}"
    assert expand(make(body)) == body


def test_unknown_variables_untouched() -> None:
    body = "${HOME} $HOME ${CLAUDE_UNKNOWN} $$ $"
    assert expand(make(body)) == body


# --------------------------------------------------------------------------- result


def test_expansion_declares_what_the_skill_declares() -> None:
    skill = make(
        "Body",
        "allowed-tools: Read, Bash(${CLAUDE_SKILL_DIR}/scripts/run.sh:*),"
        " Grep(${CLAUDE_SKILL_DIR})\n"
        "model: claude-opus-4\neffort: high\ncontext: fork\nagent: Explore\n"
        "hooks:\n  PreToolUse: []",
        directory=DIR,
    )
    result = expand_skill_sync(skill, context=CTX)
    assert result.allowed_tools == (
        "Read",
        "Bash(/skills/demo/scripts/run.sh:*)",
        "Grep(${CLAUDE_SKILL_DIR})",
    )
    assert (result.model, result.effort, result.context, result.agent) == (
        "claude-opus-4",
        "high",
        "fork",
        "Explore",
    )
    assert result.hooks == {"PreToolUse": []}
    assert result.shell_commands == ()
    data = result.to_dict()
    assert data["content"] == [{"type": "text", "text": result.text}]
    assert data["name"] == "demo"


def test_text_joins_blocks() -> None:
    result = Expansion(name="x", blocks=(expansion.TextBlock("a"), expansion.TextBlock("b")))
    assert result.text == "ab"


async def test_async_and_sync_agree() -> None:
    skill = make("$0 ${CLAUDE_SESSION_ID}", directory=DIR)
    assert (await expand_skill(skill, "v", context=CTX)).text == expand(skill, "v")


# --------------------------------------------------------------------------- corpus


def test_dollar_amounts_and_shell_positionals_in_corpus_bodies_survive() -> None:
    body = "Price: $5.00 per seat.\n\n```bash\nawk '{print $1}' file\n```\n"
    # One argument: $5 and $1 have no value and stay as written; the argument is appended.
    assert expand(make(body), "x") == body + "\n\nARGUMENTS: x"
