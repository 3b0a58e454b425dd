"""Find the inline shell commands of a skill body, reading it as Markdown.

Claude Code finds `` !`cmd` `` with a regular expression over the raw text, so the
examples a skill shows inside code blocks run too (users keep filing security bugs about
it). skilld reads the body's Markdown structure first:

* `` !`cmd` `` runs only in prose (a paragraph, heading or HTML block), at the start of a
  line or after whitespace, written with single backticks; ``KEY=!`cmd` `` stays literal;
* a fenced block whose info string is exactly ``!`` (```` ```! ````) runs as a script;
* a blank command (`` !` ` ``, an empty block) is not a command and stays as written;
* everything inside any other fenced block (```` ``` ```` or ``~~~``, any length, any
  info string), an indented code block or an inline code span is documentation and never
  runs.

Block structure comes from markdown-it-py (CommonMark: list indentation, lazy lines,
unclosed fences); code spans are found here, per prose block, because markdown-it does
not report their source positions. An unclosed ```` ```! ```` fence does not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ShellPattern", "find_shell_patterns", "may_contain_shell"]


@dataclass(frozen=True, slots=True)
class ShellPattern:
    """One command to run: where its pattern sits in the body, and the command itself.

    ``start:end`` is the span of the whole pattern (`` !`cmd` `` or the fenced block,
    fences included), replaced by the command's output. ``command_start`` is where
    ``command`` begins in the body for an inline pattern; for a block, ``command`` is
    the block's content with its container indentation removed.
    """

    start: int
    end: int
    command: str
    block: bool
    command_start: int | None = None


_PROSE_BLOCKS = frozenset({"paragraph_open", "heading_open", "html_block"})
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def may_contain_shell(body: str) -> bool:
    """A quick test: can ``body`` hold a shell pattern at all? (No Markdown parse.)"""
    return "!`" in body or "```!" in body


@lru_cache(maxsize=2048)
def find_shell_patterns(body: str) -> tuple[ShellPattern, ...]:
    """Every shell pattern of ``body`` that would run, in order of appearance."""
    if not may_contain_shell(body):
        return ()
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(body)
    offsets = _line_offsets(body)
    found: list[ShellPattern] = []
    for token in tokens:
        if token.map is None:
            continue
        first, last = token.map
        if token.type == "fence":
            pattern = _shell_block(body, token, offsets, first, last)
            if pattern is not None:
                found.append(pattern)
        elif token.type in _PROSE_BLOCKS:
            found.extend(_inline_patterns(body, offsets[first], offsets[last]))
    found.sort(key=lambda p: p.start)
    return tuple(found)


def _line_offsets(body: str) -> list[int]:
    offsets = [0]
    for match in re.finditer("\n", body):
        offsets.append(match.end())
    offsets.append(len(body))  # a map may end one past the last line
    return offsets


def _shell_block(
    body: str, token: Any, offsets: list[int], first: int, last: int
) -> ShellPattern | None:
    markup: str = token.markup
    if not markup.startswith("`") or token.info.strip() != "!":
        return None
    if last - first < 2:
        return None  # an opening fence and nothing else: unclosed
    closing = body[offsets[last - 1] : offsets[last]].strip()
    if not (closing.startswith(markup) and set(closing) == {"`"}):
        return None  # unclosed: CommonMark runs it to the end; we do not run it
    end = offsets[last]
    if end > 0 and body[end - 1] == "\n":
        end -= 1
    content: str = token.content
    if not content.strip():
        return None  # nothing to run: the block stays as written
    return ShellPattern(start=offsets[first], end=end, command=content.rstrip("\n"), block=True)


def _inline_patterns(body: str, start: int, end: int) -> list[ShellPattern]:
    """`` !`cmd` `` patterns in one prose block ``body[start:end]``."""
    found: list[ShellPattern] = []
    i = start
    while i < end:
        char = body[i]
        if char == "\\" and i + 1 < end and body[i + 1] in _ESCAPABLE:
            i += 2
            continue
        if char != "`":
            i += 1
            continue
        run = _run_length(body, i, end)
        close = _closing_run(body, i + run, end, run)
        if close is None:
            i += run  # no closing run: the backticks are literal text
            continue
        if run == 1 and i > start and body[i - 1] == "!" and body[i + 1 : close].strip():
            bang = i - 1
            if bang == start or body[bang - 1].isspace():
                found.append(
                    ShellPattern(
                        start=bang,
                        end=close + 1,
                        command=body[i + 1 : close],
                        block=False,
                        command_start=i + 1,
                    )
                )
        i = close + run
    return found


def _run_length(body: str, i: int, end: int) -> int:
    j = i
    while j < end and body[j] == "`":
        j += 1
    return j - i


def _closing_run(body: str, i: int, end: int, length: int) -> int | None:
    """Start of the next backtick run of exactly ``length`` (backslashes do not escape)."""
    while i < end:
        i = body.find("`", i, end)
        if i < 0:
            return None
        run = _run_length(body, i, end)
        if run == length:
            return i
        i += run
    return None
