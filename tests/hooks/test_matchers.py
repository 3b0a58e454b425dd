"""Matcher semantics, as Claude Code: all, exact names, `|`/`,` lists, regex search."""

from __future__ import annotations

import re

import pytest

from skilld.hooks.matchers import compile_matcher


@pytest.mark.parametrize("pattern", [None, "", "*", "  "])
def test_empty_and_star_match_everything(pattern: str | None) -> None:
    matcher = compile_matcher(pattern)
    assert matcher.matches_all
    assert matcher.matches("Bash")
    assert matcher.matches("mcp__memory__store")


def test_a_plain_name_matches_exactly_and_case_sensitively() -> None:
    matcher = compile_matcher("Write")
    assert matcher.matches("Write")
    assert not matcher.matches("write")
    assert not matcher.matches("WriteFile")
    assert not matcher.matches("NotebookWrite")


@pytest.mark.parametrize("pattern", ["Write|Edit", "Write,Edit", "Write, Edit", "Write | Edit"])
def test_name_lists_with_pipe_or_comma(pattern: str) -> None:
    matcher = compile_matcher(pattern)
    assert matcher.names == frozenset({"Write", "Edit"})
    assert matcher.matches("Write")
    assert matcher.matches("Edit")
    assert not matcher.matches("Read")
    assert not matcher.matches("MultiEdit")  # a list is exact, not a substring search


def test_anything_else_is_a_regex_searched_in_the_value() -> None:
    mcp = compile_matcher("mcp__memory__.*")
    assert mcp.matches("mcp__memory__store")
    assert not mcp.matches("mcp__files__read")
    notebook = compile_matcher("Notebook.*")
    assert notebook.matches("NotebookEdit")
    anchored = compile_matcher("^Bash$")
    assert anchored.matches("Bash")
    assert not anchored.matches("BashOutput")
    # JavaScript RegExp.test semantics: a search, so an unanchored regex matches inside.
    assert compile_matcher("Edit.?").matches("MultiEdit")


def test_events_without_a_matcher_field_always_match() -> None:
    assert compile_matcher("Bash").matches(None)


def test_an_invalid_regex_raises() -> None:
    with pytest.raises(re.error):
        compile_matcher("Bash(")
