"""The Markdown-aware scan: what runs (prose, ```! blocks) and what is documentation."""

from __future__ import annotations

import pytest

from skilld.skills.markdown import find_shell_patterns, may_contain_shell


def commands(body: str) -> list[tuple[str, bool]]:
    return [(p.command, p.block) for p in find_shell_patterns(body)]


def spans(body: str) -> list[str]:
    return [body[p.start : p.end] for p in find_shell_patterns(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!`a`", [("a", False)]),
        ("x !`a` y !`b`", [("a", False), ("b", False)]),
        ("line\n!`a`", [("a", False)]),
        ("tab\t!`a`", [("a", False)]),
        ("# Heading !`a`", [("a", False)]),
        ("- item !`a`", [("a", False)]),
        ("> quote !`a`", [("a", False)]),
        ("1. step:\n    !`a`", [("a", False)]),  # list continuation, not a code block
        ("<div>\n!`a`\n</div>", [("a", False)]),
        ("!`a | b && c`", [("a | b && c", False)]),
    ],
)
def test_prose_patterns_run(body: str, expected: list[tuple[str, bool]]) -> None:
    assert commands(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "KEY=!`a`",
        "(!`a`)",
        "x!`a`",
        "\\!`a`",
        "!``a``",
        "!` `x",
        "```!\n\n```",
        "`!`a``",
        "``!`a` ``",
        "```` !`a` ````",
        "```\n!`a`\n```",
        "```bash\n!`a`\n```",
        "~~~\n!`a`\n~~~",
        "~~~~ text\n!`a`\n~~~~",
        "    !`a`",
        "\t!`a`",
        "```\n```!\na\n```",  # a ```! line inside an ordinary fence is its content
        "````\n```!\na\n```\n````",
        "~~~!\na\n~~~",  # only backtick fences run
        "```!\nnever closed",
        "```! bash\na\n```",
        "!`unclosed",
        "!",
    ],
)
def test_documentation_never_runs(body: str) -> None:
    assert commands(body) == []


def test_fenced_bang_block() -> None:
    body = "Before\n```!\necho a\necho b\n```\nAfter"
    assert commands(body) == [("echo a\necho b", True)]
    assert spans(body) == ["```!\necho a\necho b\n```"]


def test_fenced_bang_block_longer_fence_and_trailing_spaces() -> None:
    body = "````!  \necho ```\n````\n"
    assert commands(body) == [("echo ```", True)]
    assert spans(body) == ["````!  \necho ```\n````"]


def test_bang_block_in_a_list_item_loses_its_indentation() -> None:
    body = "- step\n\n  ```!\n  echo a\n    echo b\n  ```\n"
    assert commands(body) == [("echo a\n  echo b", True)]


def test_code_span_over_two_lines_is_documentation() -> None:
    assert commands("see `x\n!`a`` here") == []


def test_escaped_backtick_does_not_open_a_span() -> None:
    # \` is a literal backtick, so the next backtick opens the command's span.
    assert commands("a \\` b !`c`") == [("c", False)]


def test_inline_pattern_positions() -> None:
    body = "ab !`cmd` cd"
    (pattern,) = find_shell_patterns(body)
    assert (pattern.start, pattern.end, pattern.command_start) == (3, 9, 5)


def test_quick_check() -> None:
    assert not may_contain_shell("no shell here `code`")
    assert may_contain_shell("x !`y`")
    assert may_contain_shell("```!\n")
    assert find_shell_patterns("plain") == ()
