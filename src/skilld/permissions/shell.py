"""Shell command lines cut into the simple commands that Bash rules are matched against.

Compound commands, subshells and substitutions are split; redirections to ``/dev/null``,
harmless wrappers (``timeout``, ``nice``...) and harmless variable assignments are dropped
for allow rules (deny and ask rules also see the command without its assignments and its
quoting). What cannot be analysed raises :class:`Unanalysable` (the module doc of
:mod:`skilld.permissions` lists the cases).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "SAFE_ENV_VARS",
    "SimpleCommand",
    "Unanalysable",
    "dequoted",
    "simple_commands",
    "split_shell_command",
]

_OPERATORS = ("&&", "||", "|&", ";;", "|", ";", "&", "\n")
_KEYWORDS = frozenset(
    {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until"}
)
_UNANALYSABLE = frozenset({"case", "esac", "function", "select", "coproc"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_REDIRECT = re.compile(r"(\d*|&)(>>|>\||>&|<&|>|<)(.*)", re.DOTALL)
# fmt: off
SAFE_ENV_VARS = frozenset({
    "NODE_ENV", "RUST_LOG", "RUST_BACKTRACE", "GOOS", "GOARCH", "CGO_ENABLED", "GO111MODULE",
    "GOEXPERIMENT", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_DEBUG", "LANG", "LC_ALL", "LC_CTYPE", "TERM",
    "NO_COLOR", "FORCE_COLOR", "TZ", "CI", "DEBUG",
})
# fmt: on
"""Variables that cannot change which program runs or what it loads (never PATH,
LD_PRELOAD, PYTHONPATH, NODE_OPTIONS...): dropped before allow rules are matched."""
_MAX_DEPTH = 16
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^']*)'|\"([^\"]*)\"|\\?([^\s;&|<>()]+))")


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One simple command: the text allow rules see, and the text deny/ask rules see."""

    allow_text: str
    deny_text: str


class Unanalysable(Exception):
    pass


def dequoted(text: str) -> str | None:
    """``text`` with shell quoting and escapes removed (None when it does not split)."""
    if not any(c in text for c in "'\"\\"):
        return None
    try:
        return " ".join(shlex.split(text))
    except ValueError:
        return None


def split_shell_command(command: str) -> list[str] | None:
    """The simple commands of a command line (as allow rules see them), nested ones included.

    None when the line cannot be analysed (unterminated quotes, ``case``, functions).
    """
    try:
        return [simple.allow_text for simple in simple_commands(command)]
    except Unanalysable:
        return None


@lru_cache(maxsize=2048)
def simple_commands(command: str) -> tuple[SimpleCommand, ...]:
    segments: list[str] = []
    _split(command, segments, 0)
    result: list[SimpleCommand] = []
    for segment in segments:
        simple = _normalise(segment)
        if simple is not None:
            result.append(simple)
    return tuple(result)


def _close_paren(text: str, open_at: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``open_at``, skipping quotes; -1 if none."""
    depth = 0
    index = open_at
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "'":
            end = text.find("'", index + 1)
            if end < 0:
                return -1
            index = end + 1
            continue
        if char == '"':
            end = _close_double_quote(text, index)
            if end < 0:
                return -1
            index = end + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _close_double_quote(text: str, open_at: int) -> int:
    index = open_at + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            return index
        if char == "$" and text.startswith("$(", index):
            end = _close_paren(text, index + 1)
            if end < 0:
                return -1
            index = end + 1
            continue
        index += 1
    return -1


def _close_backtick(text: str, open_at: int) -> int:
    index = open_at + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "`":
            return index
        index += 1
    return -1


def _substitutions_in_double_quotes(
    text: str, start: int, end: int, out: list[str], depth: int
) -> None:
    index = start + 1
    while index < end:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "$" and text.startswith("$((", index):
            close = _close_paren(text, index + 1)
            index = close + 1
            continue
        if char == "$" and text.startswith("$(", index):
            close = _close_paren(text, index + 1)
            _split(text[index + 2 : close], out, depth + 1)
            index = close + 1
            continue
        if char == "`":
            close = _close_backtick(text, index)
            _split(_unescape_backticks(text[index + 1 : close]), out, depth + 1)
            index = close + 1
            continue
        index += 1


def _unescape_backticks(body: str) -> str:
    return re.sub(r"\\([`\\$])", r"\1", body)


def _split(text: str, out: list[str], depth: int) -> None:
    """Append the simple-command segments of ``text`` (and of its substitutions) to ``out``."""
    if depth > _MAX_DEPTH:
        raise Unanalysable
    current: list[str] = []
    heredocs: list[tuple[str, bool]] = []
    word_start = True
    index = 0
    length = len(text)

    def flush() -> None:
        out.append("".join(current))
        current.clear()

    while index < length:
        char = text[index]
        if char == "\\":
            if text.startswith("\\\n", index):
                index += 2  # a line continuation joins the lines
                continue
            current.append(text[index : index + 2])
            index += 2
            word_start = False
            continue
        if char == "'":
            end = text.find("'", index + 1)
            if end < 0:
                raise Unanalysable
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == '"':
            end = _close_double_quote(text, index)
            if end < 0:
                raise Unanalysable
            _substitutions_in_double_quotes(text, index, end, out, depth)
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == "$" and text.startswith("$((", index):
            end = _close_paren(text, index + 1)
            if end < 0:
                raise Unanalysable
            current.append(text[index : end + 1])  # arithmetic: runs nothing by itself
            index = end + 1
            word_start = False
            continue
        if (char == "$" or char in "<>") and text.startswith("(", index + 1):
            end = _close_paren(text, index + 1)
            if end < 0:
                raise Unanalysable
            _split(text[index + 2 : end], out, depth + 1)
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == "`":
            end = _close_backtick(text, index)
            if end < 0:
                raise Unanalysable
            _split(_unescape_backticks(text[index + 1 : end]), out, depth + 1)
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == "#" and word_start:
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        if text.startswith("<<", index) and not text.startswith("<<<", index):
            match = _HEREDOC.match(text, index)
            if match is None:
                raise Unanalysable
            delimiter = match.group(2) or match.group(3) or match.group(4) or ""
            heredocs.append((delimiter, bool(match.group(1))))
            current.append(match.group(0))
            index = match.end()
            word_start = False
            continue
        if char == "\n" and heredocs:
            flush()
            index += 1
            for delimiter, strip_tabs in heredocs:
                while index < length:
                    end = text.find("\n", index)
                    line = text[index : length if end < 0 else end]
                    index = length if end < 0 else end + 1
                    if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                        break
            heredocs.clear()
            word_start = True
            continue
        if (char == "&" and text.startswith("&>", index)) or (
            char in "&|" and index and text[index - 1] in "<>"
        ):
            current.append(char)  # '&>', '>&' and '>|' are redirections, not operators
            index += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
        if operator is not None:
            flush()
            index += len(operator)
            word_start = True
            continue
        if char in "()":
            flush()  # subshells and groups: their commands are checked one by one
            index += 1
            word_start = True
            continue
        current.append(char)
        word_start = char in " \t"
        index += 1
    flush()


def _words(segment: str) -> list[tuple[int, int]]:
    """Spans of the words of one simple command (quotes and substitutions kept whole)."""
    spans: list[tuple[int, int]] = []
    index = 0
    length = len(segment)
    while index < length:
        while index < length and segment[index] in " \t\n":
            index += 1
        if index >= length:
            break
        start = index
        while index < length and segment[index] not in " \t\n":
            char = segment[index]
            if char == "\\":
                index += 2
            elif char == "'":
                end = segment.find("'", index + 1)
                index = length if end < 0 else end + 1
            elif char == '"':
                end = _close_double_quote(segment, index)
                index = length if end < 0 else end + 1
            elif char == "$" and segment.startswith("$(", index):
                end = _close_paren(segment, index + 1)
                index = length if end < 0 else end + 1
            elif char == "`":
                end = _close_backtick(segment, index)
                index = length if end < 0 else end + 1
            else:
                index += 1
        spans.append((start, min(index, length)))
    return spans


_WRAPPER_OPTIONS_WITH_VALUE = {
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "nice": {"-n", "--adjustment"},
    "stdbuf": {"-i", "-o", "-e"},
    "time": set(),
    "nohup": set(),
}


def _normalise(segment: str) -> SimpleCommand | None:
    """Drop keywords, harmless redirections and wrappers; None for an empty segment."""
    spans = _words(segment)
    words = [segment[a:b] for a, b in spans]
    if not words:
        return None
    if words[0] in _UNANALYSABLE:
        raise Unanalysable
    if words[0] in ("for",):
        return None  # the loop header runs nothing; its substitutions are split already
    # drop redirections that cannot write anywhere: fd duplication and /dev/null
    keep = [True] * len(words)
    for position, word in enumerate(words):
        match = _REDIRECT.fullmatch(word)
        if match is None or word.startswith(("'", '"')):
            continue
        target = match.group(3)
        target_position = None
        if not target and position + 1 < len(words):
            target = words[position + 1]
            target_position = position + 1
        operator = match.group(2)
        if (operator in (">&", "<&") and re.fullmatch(r"\d+|-", target)) or target == "/dev/null":
            keep[position] = False
            if target_position is not None:
                keep[target_position] = False
    kept = [index for index in range(len(words)) if keep[index]]
    while kept and words[kept[0]] in _KEYWORDS:
        kept.pop(0)
    if not kept:
        return None

    def text_from(indices: list[int]) -> str:
        # Keep the original text between kept words (spacing inside quotes is untouched).
        pieces: list[str] = []
        previous: int | None = None
        for index in indices:
            if previous is not None:
                pieces.append(
                    " " if previous + 1 != index else segment[spans[previous][1] : spans[index][0]]
                )
            pieces.append(words[index])
            previous = index
        return "".join(pieces).strip()

    allow_indices = _strip_prefixes(words, kept, all_assignments=False)
    if not allow_indices:
        return None  # only harmless assignments: runs nothing
    allow_text = text_from(allow_indices)
    if not allow_text:
        return None  # only characters Python counts as blank (\x1c-\x1f): nothing to run
    return SimpleCommand(allow_text, text_from(_strip_prefixes(words, kept, all_assignments=True)))


def _strip_prefixes(words: list[str], indices: list[int], *, all_assignments: bool) -> list[int]:
    position = 0
    while position < len(indices):
        word = words[indices[position]]
        assignment = _ASSIGNMENT.match(word)
        if assignment is not None:
            name = word.split("=", 1)[0].split("[", 1)[0].rstrip("+")
            if all_assignments or name in SAFE_ENV_VARS:
                position += 1
                continue
            break
        options = _WRAPPER_OPTIONS_WITH_VALUE.get(word)
        if options is None or position + 1 >= len(indices):
            break
        position += 1
        while position < len(indices) and words[indices[position]].startswith("-"):
            option = words[indices[position]]
            position += 2 if option in options else 1
        if word == "timeout" and position < len(indices):
            position += 1  # the duration
    return indices[position:]
