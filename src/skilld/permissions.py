"""Permission rules, how they match, and the decision chain for tools and skills.

Pure: nothing here reads a file or runs a process (the settings files are read by
:mod:`skilld.permission_settings`). The semantics follow Claude Code's; where it had to
choose, this module says so.

Grammar
    ``Tool`` matches every use of a tool (``Tool(*)`` and ``Tool()`` mean the same).
    ``Tool(specifier)`` matches some uses; what the specifier means depends on the tool:

    * ``Bash(npm test)``: exactly that command. ``Bash(npm run test:*)``: the legacy
      prefix form, the command is the prefix or starts with the prefix and a space (so
      ``Bash(ls:*)`` never matches ``lsof``). ``Bash(git * main)``: ``*`` matches any
      run of characters (``\\*`` a literal star); when the only star ends the pattern
      after a space, the space and what follows are optional: ``Bash(ls *)`` matches
      ``ls`` and ``ls -la`` but not ``lsof``, while ``Bash(ls*)`` matches all three.
    * Compound commands (``a && b``, ``a; b``, ``a | b``, ``a || b``, ``a & b``,
      newlines, subshells) are split, and so are the commands inside ``$(...)``,
      backticks and ``<(...)``: an allow needs *every* simple command allowed (by any
      allow rules), a deny or ask rule needs *one*. Before matching, fd duplications and
      redirections to ``/dev/null`` (``2>&1``, ``>/dev/null``) are dropped, and so are
      the wrappers ``timeout``, ``time``, ``nice``, ``nohup`` and ``stdbuf``; a leading
      variable assignment is dropped when the variable is harmless (``NODE_ENV=test``)
      for allow rules and always for deny and ask rules, so ``FOO=1 rm -rf x`` is still
      caught by ``Bash(rm *)``; deny and ask rules also see the command with its quoting
      removed, so ``r"m" -rf x`` is caught too. A command this module cannot analyse
      (``case``, ``function``, ``select``, an unterminated quote or substitution, more
      than 16 levels of nesting) is never allowed by a pattern, only by a bare ``Bash``.
    * ``Read(path)``, ``Edit(path)``, ``Write(path)``: gitignore-style patterns.
      ``//abs/path`` is absolute, ``~/path`` is under the home directory, ``/path`` is
      relative to the rule's root (the folder its settings file belongs to: the project
      for project and local settings, ``~/.claude`` for user settings, the managed
      directory for managed settings, the working directory for caller rules), ``./path``
      is anchored to the working directory, and a bare ``path`` (``*.env``) matches at
      any depth below the working directory. ``Read`` rules cover the read-only file
      tools (Read, Grep, Glob, LS, NotebookRead), ``Edit`` rules every tool that writes
      files (Edit, Write, MultiEdit, NotebookEdit), ``Write`` rules Write alone; an
      allowed edit implies an allowed read, as in Claude Code.
    * ``Skill(name)`` matches that skill (a leading ``/`` is ignored); ``Skill(name:*)``
      and ``Skill(name *)`` match every skill whose name starts with ``name`` (raw
      prefix, as Claude Code's ``:*`` for skills); any other ``*`` is a wildcard.
    * ``WebFetch(domain:example.com)`` matches that host (``domain:*.example.com``
      its subdomains), ``Agent(name)`` (alias ``Task``) a sub-agent type;
      ``mcp__server`` and ``mcp__server__*`` every tool of an MCP server.
    * A specifier on any other tool is kept but matches nothing.

Sources and precedence
    managed > caller > local > project > user > skill (a running skill's
    ``allowed-tools``). Rules are checked deny, then ask, then allow, each across every
    source from the highest, so a deny anywhere beats an allow and nothing below managed
    can loosen a managed deny or ask. With ``managed_only`` (Claude Code's
    ``allowManagedPermissionRulesOnly``) only managed rules count.

Decision for a tool use
    deny rules, ask rules, allow rules (plus the ``extra_allow`` rules of a running
    skill: its ``allowed-tools``), then the default: allow for the read-only file tools
    inside the working directory and the additional directories, ask for the rest.

Decision chain for a skill
    deny rules, ask rules, allow rules, then an automatic allow when every property the
    skill sets is on a whitelist (:data:`SAFE_SKILL_FIELDS`: any new field, ``hooks``,
    ``allowed-tools`` or a non-default ``shell`` means it needs a decision), then ask:
    the host's callback, or, with none, a deny whose message names the rule that would
    allow it.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import pathspec

from skilld.exceptions import PermissionRuleError
from skilld.skills.model import Skill

__all__ = [
    "EDIT_TOOLS",
    "READ_TOOLS",
    "SAFE_ENV_VARS",
    "SAFE_SKILL_FIELDS",
    "AskCallback",
    "PermissionBehavior",
    "PermissionDecision",
    "PermissionEngine",
    "PermissionRequest",
    "PermissionRule",
    "RuleSource",
    "ShellPermissionChecker",
    "match_shell_pattern",
    "parse_rule",
    "skill_unsafe_fields",
    "split_shell_command",
]

PermissionBehavior = Literal["allow", "deny", "ask"]


class RuleSource(StrEnum):
    """Where a rule comes from, highest precedence first."""

    MANAGED = "managed"
    CALLER = "caller"
    LOCAL = "local"
    PROJECT = "project"
    USER = "user"
    SKILL = "skill"


_PRECEDENCE = {source: rank for rank, source in enumerate(RuleSource)}

READ_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead"})
"""Tools ``Read(...)`` rules cover; they are allowed by default inside the working dirs."""
EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
"""Tools ``Edit(...)`` rules cover."""
_SHELL_TOOLS = frozenset({"Bash", "PowerShell"})
_KNOWN_TOOLS = (
    READ_TOOLS
    | EDIT_TOOLS
    | _SHELL_TOOLS
    | {"Skill", "WebFetch", "WebSearch", "Agent", "TodoWrite", "BashOutput", "KillShell"}
)
_ALIASES = {"Task": "Agent", "KillBash": "KillShell"}
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_MCP_NAME = re.compile(r"mcp__[A-Za-z0-9_\-]+(?:__(?:[A-Za-z0-9_\-]+|\*))?")


# --------------------------------------------------------------------------- grammar


def parse_rule(text: str, *, origin: str | None = None) -> tuple[str, str | None]:
    """Split ``Tool(specifier)`` into the tool name and the specifier (None: every use).

    ``\\(`` and ``\\)`` inside the specifier stand for literal parentheses. Raises
    :class:`PermissionRuleError` naming the rule (and ``origin``) when it is malformed.
    """
    if not isinstance(text, str):
        raise PermissionRuleError(repr(text), "a rule must be a string", origin=origin)
    rule = text.strip()
    if not rule:
        raise PermissionRuleError(text, "empty rule", origin=origin)
    open_at = rule.find("(")
    if open_at < 0:
        if ")" in rule:
            raise PermissionRuleError(text, "')' without '('", origin=origin)
        tool, specifier = rule, None
    else:
        if not rule.endswith(")"):
            raise PermissionRuleError(
                text, "missing ')' at the end (write Tool(specifier))", origin=origin
            )
        tool = rule[:open_at].strip()
        inner = rule[open_at + 1 : -1]
        _check_parentheses(text, inner, origin)
        inner = inner.replace("\\(", "(").replace("\\)", ")")
        specifier = None if inner.strip() in ("", "*") else inner
    if not tool:
        raise PermissionRuleError(text, "missing tool name before '('", origin=origin)
    tool = _ALIASES.get(tool, tool)
    if tool.startswith("mcp__"):
        if not _MCP_NAME.fullmatch(tool):
            raise PermissionRuleError(
                text, "MCP rules look like mcp__server or mcp__server__tool", origin=origin
            )
    elif not _TOOL_NAME.fullmatch(tool):
        raise PermissionRuleError(text, f"{tool!r} is not a tool name", origin=origin)
    elif tool not in _KNOWN_TOOLS:
        for known in _KNOWN_TOOLS:
            if known.lower() == tool.lower():
                raise PermissionRuleError(
                    text, f"unknown tool {tool!r}: did you mean {known!r}?", origin=origin
                )
    if specifier is not None:
        _check_specifier(text, tool, specifier, origin)
    return tool, specifier


def _check_parentheses(text: str, inner: str, origin: str | None) -> None:
    depth = 0
    index = 0
    while index < len(inner):
        char = inner[index]
        if char == "\\" and index + 1 < len(inner) and inner[index + 1] in "()":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise PermissionRuleError(
                    text, "unbalanced ')' in the specifier (escape it as \\))", origin=origin
                )
        index += 1
    if depth:
        raise PermissionRuleError(
            text, "unbalanced '(' in the specifier (escape it as \\()", origin=origin
        )


def _check_specifier(text: str, tool: str, specifier: str, origin: str | None) -> None:
    if tool in _SHELL_TOOLS:
        if ":*" in specifier[:-2]:
            raise PermissionRuleError(
                text, "':*' is only allowed at the end (use * for a wildcard)", origin=origin
            )
        if specifier.endswith(":*") and not specifier[:-2].strip():
            raise PermissionRuleError(text, "empty prefix before ':*'", origin=origin)
    elif tool == "WebFetch":
        if not specifier.startswith("domain:") or not specifier[7:].strip():
            raise PermissionRuleError(
                text, "WebFetch rules look like WebFetch(domain:example.com)", origin=origin
            )
    elif tool == "Skill":
        name = specifier.removeprefix("/")
        if not name or any(c.isspace() for c in name.removesuffix(" *")):
            raise PermissionRuleError(
                text,
                "Skill rules look like Skill(name), Skill(name:*) or Skill(name *)",
                origin=origin,
            )
    elif tool in READ_TOOLS or tool in EDIT_TOOLS:
        if specifier.strip() != specifier:
            raise PermissionRuleError(
                text, "a path pattern cannot start or end with spaces", origin=origin
            )
        if specifier.strip("/") == "":
            raise PermissionRuleError(
                text,
                f"{specifier!r} is no path pattern (write {tool} for every path)",
                origin=origin,
            )


# --------------------------------------------------------------------------- shell


_ESCAPED_STAR = "\x00S\x00"
_ESCAPED_BACKSLASH = "\x00B\x00"


@lru_cache(maxsize=1024)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    text = pattern.strip()
    processed: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in "*\\":
            processed.append(_ESCAPED_STAR if text[index + 1] == "*" else _ESCAPED_BACKSLASH)
            index += 2
            continue
        processed.append(char)
        index += 1
    stars = sum(1 for piece in processed if piece == "*")
    source = "".join(
        ".*"
        if piece == "*"
        else r"\*"
        if piece == _ESCAPED_STAR
        else r"\\"
        if piece == _ESCAPED_BACKSLASH
        else re.escape(piece)
        for piece in processed
    )
    # 'git *' also matches a bare 'git' (as the legacy 'git:*' does); not for '* run *',
    # where an optional last star would let 'npm run' match with nothing after it.
    if stars == 1 and source.endswith(r"\ .*"):
        source = source[: -len(r"\ .*")] + "(?: .*)?"
    return re.compile(source, re.DOTALL)


def match_shell_pattern(specifier: str, command: str) -> bool:
    """Whether one simple ``command`` matches a Bash rule's specifier (see the module doc)."""
    if specifier.endswith(":*"):
        prefix = specifier[:-2]
        return command == prefix or command.startswith(prefix + " ")
    if _has_unescaped_star(specifier):
        return _wildcard_regex(specifier).fullmatch(command) is not None
    return command == specifier.strip()


def _has_unescaped_star(pattern: str) -> bool:
    for index, char in enumerate(pattern):
        if char == "*":
            backslashes = len(pattern[:index]) - len(pattern[:index].rstrip("\\"))
            if backslashes % 2 == 0:
                return True
    return False


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
class _Simple:
    """One simple command: the text allow rules see, and the text deny/ask rules see."""

    allow_text: str
    deny_text: str


class _Unanalysable(Exception):
    pass


def _dequoted(text: str) -> str | None:
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
        return [simple.allow_text for simple in _simple_commands(command)]
    except _Unanalysable:
        return None


@lru_cache(maxsize=2048)
def _simple_commands(command: str) -> tuple[_Simple, ...]:
    segments: list[str] = []
    _split(command, segments, 0)
    result: list[_Simple] = []
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
        raise _Unanalysable
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
                raise _Unanalysable
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == '"':
            end = _close_double_quote(text, index)
            if end < 0:
                raise _Unanalysable
            _substitutions_in_double_quotes(text, index, end, out, depth)
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == "$" and text.startswith("$((", index):
            end = _close_paren(text, index + 1)
            if end < 0:
                raise _Unanalysable
            current.append(text[index : end + 1])  # arithmetic: runs nothing by itself
            index = end + 1
            word_start = False
            continue
        if (char == "$" or char in "<>") and text.startswith("(", index + 1):
            end = _close_paren(text, index + 1)
            if end < 0:
                raise _Unanalysable
            _split(text[index + 2 : end], out, depth + 1)
            current.append(text[index : end + 1])
            index = end + 1
            word_start = False
            continue
        if char == "`":
            end = _close_backtick(text, index)
            if end < 0:
                raise _Unanalysable
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
                raise _Unanalysable
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


def _normalise(segment: str) -> _Simple | None:
    """Drop keywords, harmless redirections and wrappers; None for an empty segment."""
    spans = _words(segment)
    words = [segment[a:b] for a, b in spans]
    if not words:
        return None
    if words[0] in _UNANALYSABLE:
        raise _Unanalysable
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
    return _Simple(allow_text, text_from(_strip_prefixes(words, kept, all_assignments=True)))


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


# --------------------------------------------------------------------------- paths


@lru_cache(maxsize=1024)
def _compile_path(pattern: str) -> tuple[str, pathspec.GitIgnoreSpec]:
    """(anchor, spec) for a file-tool pattern; the anchor says which folder it is under."""
    if pattern.startswith("//"):
        anchor, body = "absolute", "/" + pattern[2:].lstrip("/")
    elif pattern == "~" or pattern.startswith("~/"):
        anchor, body = "home", "/" + (pattern[2:] or "**")
    elif pattern.startswith("/"):
        anchor, body = "root", pattern
    elif pattern.startswith("./"):
        anchor, body = "cwd", "/" + pattern[2:]
    else:
        anchor, body = "cwd", pattern
    return anchor, pathspec.GitIgnoreSpec.from_lines([body])


def _relative(path: str, base: str) -> str | None:
    if base == "/":
        return path.lstrip("/") or None
    if path == base or not path.startswith(base.rstrip("/") + "/"):
        return None
    return path[len(base.rstrip("/")) + 1 :]


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class PermissionRule:
    """One rule as written, with where it came from.

    ``root`` is the folder ``/path`` file patterns are relative to (see the module doc);
    None means the engine's working directory.
    """

    tool: str
    specifier: str | None
    behavior: PermissionBehavior = "allow"
    source: RuleSource = RuleSource.CALLER
    origin: str | None = None
    root: str | None = None
    text: str = field(default="", compare=False)

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        behavior: PermissionBehavior = "allow",
        source: RuleSource = RuleSource.CALLER,
        origin: str | None = None,
        root: str | None = None,
    ) -> PermissionRule:
        """Parse ``text``; :class:`PermissionRuleError` names it (and ``origin``) if malformed."""
        tool, specifier = parse_rule(text, origin=origin)
        return cls(tool, specifier, behavior, source, origin, root, text.strip())

    def __str__(self) -> str:
        if self.text:
            return self.text
        return self.tool if self.specifier is None else f"{self.tool}({self.specifier})"

    @property
    def where(self) -> str:
        """Where the rule comes from, for messages: its file, or its source."""
        return self.origin or f"{self.source.value} rules"

    def covers_tool(self, tool: str) -> bool:
        """Whether this rule is about ``tool`` at all (before looking at the input)."""
        if self.tool == tool:
            return True
        if self.tool == "Read":
            return tool in READ_TOOLS
        if self.tool == "Edit":
            return tool in EDIT_TOOLS
        if self.tool.startswith("mcp__") and (
            self.tool.count("__") == 1 or self.tool.endswith("__*")
        ):
            return tool.startswith(self.tool.removesuffix("__*") + "__")
        return False


@dataclass(frozen=True, slots=True)
class PermissionDecision:
    """What the engine decided, why (``message``), and the rule that decided (if one did).

    ``suggestions`` holds rules that would allow the use, for an ask or a deny by default.
    """

    behavior: PermissionBehavior
    message: str
    rule: str | None = None
    origin: str | None = None
    suggestions: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.behavior == "allow"


@dataclass(frozen=True, slots=True)
class PermissionRequest:
    """What an ask callback is asked about."""

    tool: str
    tool_input: Mapping[str, Any]
    message: str
    suggestions: tuple[str, ...]
    rule: str | None = None
    skill: Skill | None = None


AskCallback = Callable[[PermissionRequest], "bool | PermissionDecision"]
"""The host's way to ask a person: True allows, False denies, or a full decision."""


class ShellPermissionChecker(Protocol):
    """What the inline-shell runner needs from a permission engine."""

    def check_shell(
        self, command: str, *, extra_allow: Sequence[str] = (), tool: str = "Bash"
    ) -> PermissionDecision: ...


# --------------------------------------------------------------------------- skills

# fmt: off
SAFE_SKILL_FIELDS = frozenset({
    "name", "description", "body", "source", "loaded_from", "path", "directory",
    "display_name", "description_from_body", "when_to_use", "argument_hint", "arguments",
    "disallowed_tools", "model", "effort", "context", "agent", "paths",
    "disable_model_invocation", "user_invocable", "license", "compatibility", "metadata",
    "plugin", "plugin_root", "frontmatter", "body_line", "diagnostics", "fixed_version",
})
# fmt: on
"""Skill fields that never need a permission decision (Claude Code's SAFE_SKILL_PROPERTIES
for skilld's model). An allowlist: a field added to :class:`Skill` later needs a decision
until it is reviewed and listed here. ``disallowed_tools`` only takes tools away."""


def skill_unsafe_fields(skill: Skill) -> tuple[str, ...]:
    """Fields of ``skill`` outside the whitelist that hold something other than their default."""
    unsafe: list[str] = []
    for item in dataclasses.fields(skill):
        if item.name in SAFE_SKILL_FIELDS:
            continue
        value = getattr(skill, item.name)
        if item.default is not dataclasses.MISSING:
            default: Any = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        else:
            default = dataclasses.MISSING
        if value is None or value == default:
            continue
        if item.name == "shell" and value == "bash":
            continue  # the default shell, written out
        if isinstance(value, Sized) and not isinstance(value, str) and len(value) == 0:
            continue
        unsafe.append(item.name)
    return tuple(unsafe)


# --------------------------------------------------------------------------- engine


class PermissionEngine:
    """Decides tool uses and skill invocations from a set of rules.

    Args:
        rules: the rules, in any order (they are sorted by precedence).
        cwd: the working directory: relative paths and ``./`` patterns are under it.
        home: the folder ``~`` stands for.
        additional_dirs: more folders the read-only tools may read without asking.
        managed_only: only managed rules count (``allowManagedPermissionRulesOnly``).
    """

    def __init__(
        self,
        rules: Iterable[PermissionRule] = (),
        *,
        cwd: str | os.PathLike[str] | None = None,
        home: str | os.PathLike[str] | None = None,
        additional_dirs: Iterable[str | os.PathLike[str]] = (),
        managed_only: bool = False,
    ) -> None:
        self.cwd = posixpath.normpath(os.fspath(cwd) if cwd is not None else os.getcwd())
        self.home = posixpath.normpath(
            os.fspath(home) if home is not None else os.path.expanduser("~")
        )
        self.additional_dirs = tuple(self._absolute(os.fspath(d)) for d in additional_dirs)
        self.managed_only = managed_only
        kept = [r for r in rules if not managed_only or r.source is RuleSource.MANAGED]
        self.rules: tuple[PermissionRule, ...] = tuple(
            sorted(kept, key=lambda r: _PRECEDENCE[r.source])
        )

    def with_rules(self, rules: Iterable[PermissionRule]) -> PermissionEngine:
        """A new engine with ``rules`` added (for a session that learns new rules)."""
        return PermissionEngine(
            [*self.rules, *rules],
            cwd=self.cwd,
            home=self.home,
            additional_dirs=self.additional_dirs,
            managed_only=self.managed_only,
        )

    def __repr__(self) -> str:
        return f"PermissionEngine({len(self.rules)} rules, cwd={self.cwd!r})"

    # ----------------------------------------------------------------- public checks

    def check_tool(
        self,
        tool: str,
        tool_input: Mapping[str, Any],
        *,
        extra_allow: Sequence[str | PermissionRule] = (),
    ) -> PermissionDecision:
        """Decide one tool use: deny, then ask, then allow rules, then the tool's default.

        ``extra_allow`` holds allow rules that hold for this call only (a running skill's
        ``allowed-tools``). The default is allow for read-only tools inside the working
        directories and ask for everything else; the result may therefore be ``ask``.
        """
        tool = _ALIASES.get(tool, tool)
        rules = self._rules_with(extra_allow)
        if tool in _SHELL_TOOLS:
            return self._check_shell(tool, str(tool_input.get("command", "")), rules)
        for behavior in ("deny", "ask"):
            for rule in rules:
                if rule.behavior == behavior and self._matches(rule, tool, tool_input):
                    return self._by_rule(rule, tool, tool_input)
        for rule in rules:
            if rule.behavior == "allow" and self._matches(rule, tool, tool_input):
                return self._by_rule(rule, tool, tool_input)
        if tool in READ_TOOLS:
            for rule in rules:  # an allowed edit implies an allowed read
                if (
                    rule.behavior == "allow"
                    and rule.tool == "Edit"
                    and self._matches(rule, "Edit", tool_input)
                ):
                    return self._by_rule(rule, tool, tool_input)
            path = self._tool_path(tool, tool_input)
            if path is not None and self._in_working_dirs(path):
                return PermissionDecision(
                    "allow", f"{tool} inside the working directory needs no permission"
                )
        suggestion = self._suggestion(tool, tool_input)
        return PermissionDecision(
            "ask",
            f"{self._describe(tool, tool_input)} needs permission; "
            f"the rule {suggestion} in permissions.allow would allow it",
            suggestions=(suggestion,),
        )

    def check_shell(
        self,
        command: str,
        *,
        extra_allow: Sequence[str | PermissionRule] = (),
        tool: str = "Bash",
    ) -> PermissionDecision:
        """Decide one shell command (what inline ``!`cmd``` and the Bash tool run)."""
        return self._check_shell(tool, command, self._rules_with(extra_allow))

    def check_skill(
        self,
        skill: Skill,
        *,
        ask: AskCallback | None = None,
    ) -> PermissionDecision:
        """Decide whether ``skill`` may be invoked: the chain in the module doc.

        The result is always ``allow`` or ``deny``: an ``ask`` goes to the callback, and
        with no callback becomes a deny whose message names the rule that would allow it.
        """
        name = skill.name.removeprefix("/")
        tool_input = {"skill": name}
        for behavior in ("deny", "ask", "allow"):
            for rule in self.rules:
                if rule.behavior == behavior and self._matches(rule, "Skill", tool_input):
                    if behavior == "deny":
                        return PermissionDecision(
                            "deny",
                            f"Skill {name} is denied by the rule {rule} ({rule.where})",
                            str(rule),
                            rule.origin,
                        )
                    if behavior == "allow":
                        return PermissionDecision(
                            "allow",
                            f"Skill {name} is allowed by the rule {rule} ({rule.where})",
                            str(rule),
                            rule.origin,
                        )
                    return self._ask_skill(
                        skill,
                        ask,
                        f"Skill {name} needs confirmation: the rule {rule} ({rule.where}) "
                        "asks before it runs",
                        rule,
                    )
        unsafe = skill_unsafe_fields(skill)
        if not unsafe:
            return PermissionDecision("allow", f"Skill {name} sets only safe properties")
        reasons = ", ".join(_FIELD_LABELS.get(f, f) for f in unsafe)
        return self._ask_skill(
            skill, ask, f"Skill {name} needs permission because it declares {reasons}", None
        )

    # ----------------------------------------------------------------- internals

    def _ask_skill(
        self,
        skill: Skill,
        ask: AskCallback | None,
        message: str,
        rule: PermissionRule | None,
    ) -> PermissionDecision:
        name = skill.name.removeprefix("/")
        suggestions = (f"Skill({name})", f"Skill({name}:*)")
        if ask is None:
            if rule is not None:
                hint = "; remove that ask rule or add an allow rule the host can confirm"
            else:
                hint = (
                    f"; add the rule Skill({name}) to permissions.allow "
                    f"(or pass --allow 'Skill({name})') to allow it"
                )
            return PermissionDecision(
                "deny",
                message + hint,
                str(rule) if rule else None,
                rule.origin if rule else None,
                suggestions,
            )
        request = PermissionRequest(
            "Skill", {"skill": name}, message, suggestions, str(rule) if rule else None, skill
        )
        answer = ask(request)
        if isinstance(answer, PermissionDecision):
            return answer
        if answer:
            return PermissionDecision("allow", f"Skill {name} was allowed when asked")
        return PermissionDecision("deny", f"Skill {name} was denied when asked")

    def _rules_with(self, extra: Sequence[str | PermissionRule]) -> tuple[PermissionRule, ...]:
        if not extra or self.managed_only:
            return self.rules
        parsed = [item if isinstance(item, PermissionRule) else _skill_rule(item) for item in extra]
        return (*self.rules, *parsed)

    def _by_rule(
        self, rule: PermissionRule, tool: str, tool_input: Mapping[str, Any]
    ) -> PermissionDecision:
        what = self._describe(tool, tool_input)
        if rule.behavior == "ask":
            message = f"{what} needs confirmation: the rule {rule} ({rule.where}) asks first"
        else:
            verb = "allowed" if rule.behavior == "allow" else "denied"
            message = f"{what} is {verb} by the rule {rule} ({rule.where})"
        return PermissionDecision(rule.behavior, message, str(rule), rule.origin)

    def _check_shell(
        self, tool: str, command: str, rules: tuple[PermissionRule, ...]
    ) -> PermissionDecision:
        tool_input = {"command": command}
        stripped = command.strip()
        try:
            simples: tuple[_Simple, ...] | None = _simple_commands(stripped)
        except _Unanalysable:
            simples = None
        deny_texts = {stripped}
        if simples is not None:
            deny_texts.update(s.deny_text for s in simples if s.deny_text)
            deny_texts.update(s.allow_text for s in simples)
            # quoting cannot hide a command from a deny rule: 'r"m" -rf' is rm -rf
            deny_texts.update(
                plain for t in list(deny_texts) if (plain := _dequoted(t)) is not None
            )
        for behavior in ("deny", "ask"):
            for rule in rules:
                if rule.behavior != behavior or not rule.covers_tool(tool):
                    continue
                if rule.specifier is None or any(
                    match_shell_pattern(rule.specifier, t) for t in deny_texts
                ):
                    return self._by_rule(rule, tool, tool_input)
        allows = [r for r in rules if r.behavior == "allow" and r.covers_tool(tool)]
        for rule in allows:
            if rule.specifier is None:
                return self._by_rule(rule, tool, tool_input)
        for rule in allows:  # an exact rule for the whole line, as Claude Code checks first
            assert rule.specifier is not None
            exact = not rule.specifier.endswith(":*") and not _has_unescaped_star(rule.specifier)
            if exact and stripped == rule.specifier.strip():
                return self._by_rule(rule, tool, tool_input)
        if simples is None:
            return PermissionDecision(
                "ask",
                f"{tool} command {stripped!r} cannot be analysed (case, function definitions "
                "or unterminated quotes), so no pattern rule can allow it",
                suggestions=(f"{tool}({_escape(stripped)})",),
            )
        used: list[PermissionRule] = []
        missing: list[str] = []
        for simple in simples:
            rule_found = next(
                (r for r in allows if match_shell_pattern(r.specifier or "", simple.allow_text)),
                None,
            )
            if rule_found is None:
                missing.append(simple.allow_text)
            elif rule_found not in used:
                used.append(rule_found)
        if not missing:
            if not used:
                return PermissionDecision("allow", f"{tool} command runs nothing")
            first = used[0]
            names = ", ".join(str(r) for r in used)
            wheres = ", ".join(dict.fromkeys(r.where for r in used))
            return PermissionDecision(
                "allow",
                f"{tool} command {stripped!r} is allowed by the "
                f"{'rule' if len(used) == 1 else 'rules'} {names} ({wheres})",
                str(first) if len(used) == 1 else names,
                first.origin,
            )
        suggestions = tuple(f"{tool}({_escape(m)})" for m in dict.fromkeys(missing))
        listed = ", ".join(suggestions)
        return PermissionDecision(
            "ask",
            f"{tool} command {stripped!r} needs permission; "
            f"{'the rule' if len(suggestions) == 1 else 'the rules'} {listed} "
            "in permissions.allow (or the skill's allowed-tools) would allow it",
            suggestions=suggestions,
        )

    def _matches(self, rule: PermissionRule, tool: str, tool_input: Mapping[str, Any]) -> bool:
        if not rule.covers_tool(tool):
            return False
        if rule.specifier is None:
            return True
        spec = rule.specifier
        if tool in _SHELL_TOOLS:
            return match_shell_pattern(spec, str(tool_input.get("command", "")).strip())
        if tool == "Skill":
            return _match_skill(spec, str(tool_input.get("skill", "")).removeprefix("/"))
        if rule.tool in READ_TOOLS or rule.tool in EDIT_TOOLS:
            path = self._tool_path(tool, tool_input)
            return path is not None and self._match_path(rule, path)
        if tool == "WebFetch":
            host = urlsplit(str(tool_input.get("url", ""))).hostname or ""
            domain = spec[len("domain:") :].strip().lower()
            if domain.startswith("*."):
                return host.endswith(domain[1:])
            return host == domain
        if tool == "Agent":
            return str(tool_input.get("subagent_type", "")) == spec
        return False

    def _match_path(self, rule: PermissionRule, path: str) -> bool:
        anchor, spec = _compile_path(rule.specifier or "")
        base = {
            "absolute": "/",
            "home": self.home,
            "root": posixpath.normpath(rule.root) if rule.root else self.cwd,
            "cwd": self.cwd,
        }[anchor]
        relative = _relative(path, base)
        return relative is not None and spec.match_file(relative)

    def _absolute(self, path: str) -> str:
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        if not path.startswith("/"):
            path = posixpath.join(self.cwd, path)
        return posixpath.normpath(path)

    def _tool_path(self, tool: str, tool_input: Mapping[str, Any]) -> str | None:
        for key in ("file_path", "notebook_path", "path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                return self._absolute(value)
        if tool in ("Grep", "Glob", "LS"):
            return self.cwd  # no path: the working directory
        return None

    def _in_working_dirs(self, path: str) -> bool:
        for base in (self.cwd, *self.additional_dirs):
            if path == base or path.startswith(base.rstrip("/") + "/"):
                return True
        return False

    def _describe(self, tool: str, tool_input: Mapping[str, Any]) -> str:
        if tool in _SHELL_TOOLS:
            return f"{tool} command {str(tool_input.get('command', '')).strip()!r}"
        if tool == "Skill":
            return f"Skill {tool_input.get('skill', '')}"
        path = self._tool_path(tool, tool_input)
        if path is not None and (tool in READ_TOOLS or tool in EDIT_TOOLS):
            return f"{tool} of {path}"
        if tool == "WebFetch":
            return f"WebFetch of {tool_input.get('url', '')}"
        return f"Tool {tool}"

    def _suggestion(self, tool: str, tool_input: Mapping[str, Any]) -> str:
        if tool == "Skill":
            return f"Skill({tool_input.get('skill', '')})"
        path = self._tool_path(tool, tool_input)
        if path is not None and (tool in READ_TOOLS or tool in EDIT_TOOLS):
            group = "Read" if tool in READ_TOOLS else "Edit"
            relative = _relative(path, self.cwd)
            if relative is not None:
                return f"{group}(./{_escape(relative)})"
            return f"{group}(/{_escape(path)})"  # '//' + an absolute path
        if tool == "WebFetch":
            host = urlsplit(str(tool_input.get("url", ""))).hostname or ""
            return f"WebFetch(domain:{host})"
        return tool


def _escape(text: str) -> str:
    return text.replace("(", "\\(").replace(")", "\\)")


def _match_skill(spec: str, name: str) -> bool:
    pattern = spec.removeprefix("/")
    if pattern == name:
        return True
    for suffix in (":*", " *"):
        if pattern.endswith(suffix) and "*" not in pattern[: -len(suffix)]:
            return name.startswith(pattern[: -len(suffix)])
    if "*" in pattern:
        regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
        return re.fullmatch(regex, name) is not None
    return False


@lru_cache(maxsize=1024)
def _skill_rule(text: str) -> PermissionRule:
    return PermissionRule.parse(
        text, behavior="allow", source=RuleSource.SKILL, origin="the skill's allowed-tools"
    )


_FIELD_LABELS = {
    "allowed_tools": "allowed-tools",
    "hooks": "hooks",
    "shell": "a shell",
}
