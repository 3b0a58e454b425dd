"""Running a skill's inline shell commands, and quoting values into them safely.

Two jobs live here:

* :func:`quote_into` puts an untrusted value (an argument typed by a user or chosen by a
  model) into a command template so that the shell reads it as *one literal word*,
  whatever quotes, semicolons or ``$(...)`` it holds. It looks at where the placeholder
  sits (outside quotes, inside ``"..."``, ``'...'``, ``$'...'``, a heredoc, a comment,
  backticks) with :func:`quote_states`, a small lexer for bash and PowerShell, because one
  quoting rule cannot fit them all: ``shlex.quote`` inside ``"..."`` would hand the
  program the quote characters themselves.
* :func:`run_shell_command` runs one command with the skill's shell in the session's
  working directory (stderr merged into stdout, a timeout, output capped with the overflow
  saved to a file) and decides whether it failed: exit 1 of a search or compare command
  (``grep``, ``diff``, ``test``...) means "no match" or "differs", not failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "DEFAULT_OUTPUT_CAP",
    "DEFAULT_PREVIEW_CHARS",
    "DEFAULT_SHELL_TIMEOUT",
    "ResolvedShell",
    "ShellKind",
    "ShellResult",
    "UnsafeValueError",
    "quote_into",
    "quote_states",
    "reparsing_spans",
    "resolve_shell",
    "run_shell_command",
    "simple_commands",
    "tolerated_exit",
]

ShellKind = Literal["bash", "powershell"]

DEFAULT_SHELL_TIMEOUT = 120.0
"""Seconds an inline command may run before it is killed (Claude Code's default)."""
DEFAULT_OUTPUT_CAP = 30_000
"""Characters of output kept inline; more is saved to a file (Claude Code's Bash limit)."""
DEFAULT_PREVIEW_CHARS = 2_000
"""Characters of an overflowing output shown inline before the path of the full output."""
_MAX_SAVED_BYTES = 16 * 1024 * 1024
"""A runaway command (``yes``) cannot fill the disk: saving stops here, draining goes on."""

# Exit code 1 of these programs answers a question ("no match", "files differ",
# "condition false"); it is not an error. Claude Code interprets them the same way.
_SEARCH_AND_COMPARE = frozenset(
    {"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "diff", "colordiff", "cmp"}
    | {"test", "[", "[["}
)

# --------------------------------------------------------------------------- lexing

# Lexer states: where a character of a command sits.
_PLAIN = "plain"  # outside any quotes (also inside $(...))
_DQ = "dq"  # inside "..."
_SQ = "sq"  # inside '...'
_ANSI = "ansi"  # inside $'...' (bash)
_BACKTICK = "backtick"  # inside `...` (bash command substitution)
_COMMENT = "comment"  # after # to the end of the line
_HEREDOC = "heredoc"  # a heredoc (bash) or here-string (PowerShell) body that expands
_HEREDOC_RAW = "heredoc-raw"  # a heredoc body that does not expand
_BLOCK_COMMENT = "block-comment"  # PowerShell <# ... #>
# Contexts where bash *evaluates* text after quote removal: arithmetic ((...)) and
# $((...)), the [[ ... ]] test (its -eq operands are arithmetic) and ${...}. An array
# subscript in there runs command substitutions (a[$(cmd)]), so quoting is not enough:
# a value holding $ or ` is refused in them (:class:`UnsafeValueError`).
_ARITH = "arith"
_TEST = "test"
_PARAM = "param"
_EVALUATING = frozenset({_ARITH, _TEST, _PARAM})
_PLAIN_LIKE = frozenset({_PLAIN, _BACKTICK, _ARITH, _TEST, _PARAM})
_WORD_BEFORE = " \t\n;&|()"
_SAFE_WORD = re.compile(r"[\w@%+=:,./-]+", re.ASCII)

_HEREDOC_START = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z0-9_.\-]+))")


def quote_states(command: str, kind: ShellKind = "bash") -> list[tuple[str, ...]]:
    """The lexer state stack at every character index of ``command``.

    Each entry is a tuple of states, innermost last (``("plain", "backtick", "dq")`` for a
    character inside double quotes inside backticks). The lexer knows what matters for
    quoting: quotes and their escapes, ``$(...)`` and backtick nesting, comments, heredocs
    (bash) and here-strings and block comments (PowerShell).
    """
    if kind == "powershell":
        return _powershell_states(command)
    return _bash_states(command)


def _bash_states(command: str) -> list[tuple[str, ...]]:
    states: list[tuple[str, ...]] = []
    stack: list[str] = [_PLAIN]
    parens: list[int] = [0]  # open "(" per $( level, to find the closing ")"
    pending: list[tuple[str, bool, bool]] = []  # heredocs waiting for the next newline
    heredoc: tuple[str, bool, bool] | None = None  # (delimiter, strip tabs, expands)
    n = len(command)
    i = 0
    while i < n:
        char = command[i]
        top = stack[-1]
        if heredoc is not None:
            # A whole line at a time: is it the closing delimiter?
            end = command.find("\n", i)
            end = n if end < 0 else end
            line = command[i:end]
            delimiter, strip_tabs, expands = heredoc
            candidate = line.lstrip("\t") if strip_tabs else line
            state = _HEREDOC if expands else _HEREDOC_RAW
            states.extend([(*stack, state)] * (end - i + (1 if end < n else 0)))
            if candidate == delimiter:
                heredoc = pending.pop(0) if pending else None
            i = end + 1
            continue
        states.append(tuple(stack))
        if top == _SQ:
            if char == "'":
                stack.pop()
        elif top == _ANSI:
            if char == "\\" and i + 1 < n:
                states.append(tuple(stack))
                i += 1
            elif char == "'":
                stack.pop()
        elif top == _COMMENT:
            if char == "\n":
                stack.pop()
                states[-1] = tuple(stack)  # the newline itself ends the command
                if pending and stack[-1] in (_PLAIN, _BACKTICK):
                    heredoc = pending.pop(0)
        elif top == _DQ:
            if command.startswith(("$((", "${"), i):
                state, width = (_ARITH, 3) if command[i + 1] == "(" else (_PARAM, 2)
                states.extend([tuple(stack)] * (width - 1))
                stack.append(state)
                parens.append(0)
                i += width
                continue
            if char == "\\" and i + 1 < n:
                states.append(tuple(stack))
                i += 1
            elif char == '"':
                stack.pop()
            elif char == "`":
                stack.append(_BACKTICK)
            elif command.startswith("$(", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_PLAIN)
                parens.append(0)
        else:  # plain, backtick or an evaluating context: the shell's ordinary parsing
            closed = _close_evaluating(command, i, top, parens)
            if closed:
                states.extend([tuple(stack)] * (closed - 1))
                stack.pop()
                parens.pop()
                i += closed
                continue
            opened = _open_evaluating(command, i, top)
            if opened is not None:
                state, width = opened
                states.extend([tuple(stack)] * (width - 1))
                stack.append(state)
                parens.append(0)
                i += width
                continue
            if char == "\\" and i + 1 < n:
                states.append(tuple(stack))
                i += 1
            elif char == "'":
                stack.append(_SQ)
            elif char == '"':
                stack.append(_DQ)
            elif command.startswith("$'", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_ANSI)
            elif char == "`":
                if top == _BACKTICK:
                    stack.pop()
                else:
                    stack.append(_BACKTICK)
            elif command.startswith("$(", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_PLAIN)
                parens.append(0)
            elif char in "({" and top in (_PLAIN, _ARITH, _PARAM):
                parens[-1] += 1
            elif char in ")}" and top in (_ARITH, _PARAM):
                parens[-1] -= 1
            elif char == ")" and top == _PLAIN and len(parens) > 1:
                if parens[-1]:
                    parens[-1] -= 1
                else:
                    stack.pop()
                    parens.pop()
            elif char == "#" and top == _PLAIN and (i == 0 or command[i - 1] in _WORD_BEFORE):
                stack.append(_COMMENT)
            elif (
                char == "<"
                and top in (_PLAIN, _BACKTICK)
                and command.startswith("<<", i)
                and not command.startswith("<<<", i)
            ):
                match = _HEREDOC_START.match(command, i)
                if match:
                    quoted = match.group(2) is not None or match.group(3) is not None
                    word = match.group(2) or match.group(3) or match.group(4) or ""
                    escaped = match.group(0).lstrip("<-").lstrip().startswith("\\")
                    pending.append((word, match.group(1) == "-", not (quoted or escaped)))
                    states.extend([tuple(stack)] * (match.end() - i - 1))
                    i = match.end()
                    continue
            elif char == "\n" and pending and top in (_PLAIN, _BACKTICK):
                heredoc = pending.pop(0)
        i += 1
    return states


def _open_evaluating(command: str, i: int, top: str) -> tuple[str, int] | None:
    """An arithmetic, ``[[`` or ``${`` context opening at ``i``: (state, width)."""
    if top == _PARAM:
        return None
    if command.startswith("$((", i):
        return _ARITH, 3
    if command.startswith("${", i):
        return _PARAM, 2
    at_word = i == 0 or command[i - 1] in _WORD_BEFORE
    if at_word and top != _ARITH and command.startswith("((", i):
        return _ARITH, 2
    if at_word and top != _TEST and re.match(r"\[\[\s", command[i : i + 3]):
        return _TEST, 2
    return None


def _close_evaluating(command: str, i: int, top: str, parens: list[int]) -> int:
    """Width of the closer of the evaluating context ``top`` at ``i`` (0: none)."""
    if top == _ARITH and parens[-1] == 0 and command.startswith("))", i):
        return 2
    if top == _PARAM and parens[-1] == 0 and command[i] == "}":
        return 1
    if top == _TEST and command.startswith("]]", i) and i > 0 and command[i - 1] in " \t":
        return 2
    return 0


def _powershell_states(command: str) -> list[tuple[str, ...]]:
    states: list[tuple[str, ...]] = []
    stack: list[str] = [_PLAIN]
    parens: list[int] = [0]
    n = len(command)
    i = 0
    single_quotes = "'\u2018\u2019\u201a\u201b"
    double_quotes = '"\u201c\u201d\u201e'
    while i < n:
        char = command[i]
        top = stack[-1]
        states.append(tuple(stack))
        if top == _SQ:
            if char in single_quotes:
                if i + 1 < n and command[i + 1] in single_quotes:
                    states.append(tuple(stack))
                    i += 1
                else:
                    stack.pop()
        elif top == _DQ:
            if char == "`" and i + 1 < n:
                states.append(tuple(stack))
                i += 1
            elif char in double_quotes:
                if i + 1 < n and command[i + 1] in double_quotes:
                    states.append(tuple(stack))
                    i += 1
                else:
                    stack.pop()
            elif command.startswith("$(", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_PLAIN)
                parens.append(0)
        elif top == _COMMENT:
            if char == "\n":
                stack.pop()
        elif top == _BLOCK_COMMENT:
            if command.startswith("#>", i):
                states.append(tuple(stack))
                i += 1
                stack.pop()
        elif top in (_HEREDOC, _HEREDOC_RAW):
            closer = '"@' if top == _HEREDOC else "'@"
            if char == "\n" and command.startswith(closer, i + 1):
                stack.pop()
        else:
            if char == "`" and i + 1 < n:
                states.append(tuple(stack))
                i += 1
            elif command.startswith('@"', i) or command.startswith("@'", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_HEREDOC if command[i] == '"' else _HEREDOC_RAW)
            elif char in single_quotes:
                stack.append(_SQ)
            elif char in double_quotes:
                stack.append(_DQ)
            elif command.startswith("<#", i):
                stack.append(_BLOCK_COMMENT)
            elif char == "#" and (i == 0 or command[i - 1] in " \t\n;|({"):
                stack.append(_COMMENT)
            elif command.startswith("$(", i):
                states.append(tuple(stack))
                i += 1
                stack.append(_PLAIN)
                parens.append(0)
            elif char == "(":
                parens[-1] += 1
            elif char == ")" and len(parens) > 1:
                if parens[-1]:
                    parens[-1] -= 1
                else:
                    stack.pop()
                    parens.pop()
        i += 1
    return states


# --------------------------------------------------------------------------- quoting


class UnsafeValueError(ValueError):
    """A value that no quoting makes safe where it would land (bash evaluating contexts)."""


def quote_into(
    value: str, states: tuple[str, ...], kind: ShellKind = "bash", *, reparsed: bool = False
) -> str:
    """``value`` written so that the shell reads it literally at a place in ``states``.

    ``states`` is the lexer stack at the placeholder (from :func:`quote_states`). An empty
    value outside quotes becomes nothing (``cmd $1`` with no argument runs ``cmd``).
    Inside double quotes a bash value closes the quotes, is single-quoted and reopens
    them, so a wrong guess about the context can only leave quote characters in the
    value, never start a command.
    """
    if reparsed and value and not _SAFE_WORD.fullmatch(value):
        raise UnsafeValueError(
            "only a plain word (letters, digits, @%+=:,./-_) can be passed to a command "
            "that parses its arguments again as shell code (eval, ssh, sh -c...)"
        )
    if kind == "powershell":
        return _quote_powershell(value, states[-1])
    evaluating = _EVALUATING.intersection(states)
    if evaluating and ("$" in value or "`" in value):
        where = {_ARITH: "an arithmetic expression", _TEST: "a [[ ]] test", _PARAM: "${...}"}
        raise UnsafeValueError(
            f"a value containing $ or ` cannot be placed safely inside "
            f"{where[sorted(evaluating)[0]]}, where bash evaluates it"
        )
    text = _quote_bash(value, states[-1])
    # Inside backticks the shell first removes one level of \ before \ ` $: add it back.
    for state in reversed(states[:-1]):
        if state == _BACKTICK:
            text = re.sub(r"([\\`$])", r"\\\1", text)
    if states[-1] == _BACKTICK:
        text = re.sub(r"([\\`$])", r"\\\1", text)
    return text


def _quote_bash(value: str, state: str) -> str:
    if state in _PLAIN_LIKE:
        return shlex.quote(value) if value else ""
    if state == _DQ:
        if not value or _SAFE_WORD.fullmatch(value):
            return value  # nothing any shell context treats specially
        return f'"{shlex.quote(value)}"'
    if state == _SQ:
        return value.replace("'", "'\\''")
    if state == _ANSI:
        return value.replace("\\", "\\\\").replace("'", "\\'")
    one_line = value.replace("\r", " ").replace("\n", " ")
    if state == _HEREDOC:
        return re.sub(r"([\\`$])", r"\\\1", one_line)
    return one_line  # raw heredoc and comments: only a newline could escape them


def _quote_powershell(value: str, state: str) -> str:
    if state == _SQ:
        return re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", value)
    if state == _DQ:
        return re.sub('([`$"\u201c\u201d\u201e])', r"`\1", value)
    one_line = value.replace("\r", " ").replace("\n", " ")
    if state == _HEREDOC:
        return re.sub(r"([`$])", r"`\1", one_line)
    if state in (_HEREDOC_RAW, _COMMENT):
        return one_line
    if state == _BLOCK_COMMENT:
        return one_line.replace("#>", "# >")
    if not value:
        return ""
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", value) + "'"


# --------------------------------------------------------------------------- commands

_OPERATORS = ("&&", "||", "|&", ";", "|", "\n", "&")


def simple_commands(command: str) -> list[tuple[str, str]]:
    """Split a bash command line at top-level ``&& || ; | & newline``.

    Returns ``(operator_before, text)`` pairs (the first operator is ``""``); operators
    inside quotes, ``$(...)``, backticks and comments do not split.
    """
    return [(op, command[start:end].strip()) for op, start, end in _command_spans(command)]


def _command_spans(command: str) -> list[tuple[str, int, int]]:
    states = _bash_states(command)
    parts: list[tuple[str, int, int]] = []
    start = 0
    operator = ""
    i = 0
    n = len(command)
    while i < n:
        op = _operator_at(command, i) if states[i] == (_PLAIN,) else None
        if op is None:
            i += 1
            continue
        if command[start:i].strip():
            parts.append((operator, start, i))
        operator = "|" if op == "|&" else op
        i += len(op)
        start = i
    if command[start:].strip():
        parts.append((operator, start, n))
    return parts


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "pwsh", "powershell"})
_REPARSERS = frozenset({"eval", "ssh", "source", "."})


def reparsing_spans(command: str) -> list[tuple[int, int]]:
    """Spans of the simple commands that parse some argument again as shell code.

    ``eval``, ``ssh`` (the remote shell parses the command), ``source``, and a shell run
    with ``-c`` (``sh -c``, ``sudo bash -lc``, ``xargs sh -c``): quoting a value for this
    shell does not protect it from the next one, so a value is only put there when it is
    a plain word (:func:`quote_into` with ``reparsed=True``). A heuristic: it looks at the
    words, including those of substitutions, not at what programs do.
    """
    spans: list[tuple[int, int]] = []
    for _, start, end in _command_spans(command):
        try:
            words = shlex.split(command[start:end], comments=True)
        except ValueError:
            words = command[start:end].split()
        names = [w.lstrip("$(`").rsplit("/", 1)[-1] for w in words]
        for index, name in enumerate(names):
            if name in _REPARSERS or (
                name in _SHELLS
                and any(re.fullmatch(r"-[A-Za-z]*c[A-Za-z]*", w) for w in words[index + 1 :])
            ):
                spans.append((start, end))
                break
    return spans


def _operator_at(command: str, i: int) -> str | None:
    for op in _OPERATORS:
        if command.startswith(op, i):
            # ">&", "<&" and "&>" are redirections, not background jobs
            if op == "&" and ((i and command[i - 1] in "<>") or command.startswith("&>", i)):
                return None
            return op
    return None


def _program(simple: str) -> str:
    """The program a simple command runs: skips ``VAR=value`` and strips a path."""
    try:
        words = shlex.split(simple, comments=True)
    except ValueError:
        words = simple.split()
    for word in words:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, flags=re.DOTALL):
            continue
        return word.rsplit("/", 1)[-1]
    return ""


def tolerated_exit(command: str, exit_code: int, kind: ShellKind = "bash") -> bool:
    """Whether ``exit_code`` is a normal answer rather than a failure.

    Exit 0 always is. Exit 1 is when a search or compare command can have produced it:
    the last command of the line, or any command of the final ``&&`` chain (its status is
    that of the first one that answered "no").
    """
    if exit_code == 0:
        return True
    if exit_code != 1 or kind != "bash":
        return False
    parts = simple_commands(command)
    candidates: list[str] = []
    for operator, text in reversed(parts):
        candidates.append(text)
        if operator not in ("&&", "|"):
            break
    return any(_program(text) in _SEARCH_AND_COMPARE for text in candidates)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class ResolvedShell:
    """The shell a command runs with: its kind and the argv before the command."""

    kind: ShellKind
    argv: tuple[str, ...]


def resolve_shell(requested: str | None) -> ResolvedShell:
    """Bash by default; PowerShell when the skill asks for it and one is installed.

    Without PowerShell the command runs with bash (as Claude Code does when its
    PowerShell tool is unavailable).
    """
    if requested and requested.lower() in ("powershell", "pwsh"):
        exe = shutil.which("pwsh") or shutil.which("powershell")
        if exe:
            return ResolvedShell("powershell", (exe, "-NoProfile", "-NonInteractive", "-Command"))
    bash = shutil.which("bash") or "/bin/sh"
    return ResolvedShell("bash", (bash, "-c"))


@dataclass(frozen=True, slots=True)
class ShellResult:
    """What one command did: its output (possibly cut to a preview) and how it ended."""

    output: str
    exit_code: int | None
    duration: float
    timed_out: bool = False
    truncated: bool = False
    overflow_path: Path | None = None


async def run_shell_command(
    command: str,
    *,
    shell: ResolvedShell,
    cwd: Path,
    timeout: float = DEFAULT_SHELL_TIMEOUT,
    output_cap: int = DEFAULT_OUTPUT_CAP,
    preview_chars: int = DEFAULT_PREVIEW_CHARS,
    overflow_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> ShellResult:
    """Run ``command`` and collect its merged output under ``output_cap`` characters.

    Output beyond the cap is saved whole to a file in ``overflow_dir`` (default: a
    ``skilld-shell-output`` folder in the temporary directory) and the returned output
    is a preview followed by that file's path. On timeout the whole process group is
    killed. Raises :class:`OSError` when the shell cannot be started.
    """
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *shell.argv,
        command,
        cwd=str(cwd),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=os.name != "nt",
        env=env,
    )
    collector = _Collector(output_cap, overflow_dir)
    assert process.stdout is not None
    timed_out = False
    try:
        await asyncio.wait_for(_drain(process, collector), timeout)
    except TimeoutError:
        timed_out = True
        _kill(process)
    except BaseException:
        _kill(process)
        await process.wait()
        raise
    exit_code = await process.wait()
    duration = time.perf_counter() - started
    output, truncated, path = collector.finish(preview_chars)
    return ShellResult(
        output=output,
        exit_code=None if timed_out else exit_code,
        duration=duration,
        timed_out=timed_out,
        truncated=truncated,
        overflow_path=path,
    )


async def _drain(process: asyncio.subprocess.Process, collector: _Collector) -> None:
    assert process.stdout is not None
    while chunk := await process.stdout.read(65536):
        collector.add(chunk)
    await process.wait()


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    try:
        if os.name != "nt":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except ProcessLookupError:
        pass


class _Collector:
    """Keeps output in memory up to the cap, then spills everything to a file."""

    def __init__(self, cap: int, overflow_dir: Path | None) -> None:
        # Bytes, not characters, decide when to spill; UTF-8 needs at most 4 per char.
        self.cap = cap
        self.memory_limit = cap * 4
        self.overflow_dir = overflow_dir
        self.buffer = bytearray()
        self.path: Path | None = None
        self.saved = 0

    def add(self, chunk: bytes) -> None:
        if self.path is None:
            self.buffer += chunk
            if len(self.buffer) > self.memory_limit:
                self._spill()
            return
        self._write(chunk)

    def _spill(self) -> None:
        folder = self.overflow_dir or Path(tempfile.gettempdir()) / "skilld-shell-output"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{uuid.uuid4().hex}.txt"
        self.path.write_bytes(b"")
        data = bytes(self.buffer)
        self.buffer = bytearray(data[: self.memory_limit])
        self._write(data)

    def _write(self, chunk: bytes) -> None:
        assert self.path is not None
        room = _MAX_SAVED_BYTES - self.saved
        if room <= 0:
            return
        with self.path.open("ab") as handle:
            handle.write(chunk[:room])
        self.saved += min(len(chunk), room)

    def finish(self, preview_chars: int) -> tuple[str, bool, Path | None]:
        text = self.buffer.decode("utf-8", errors="replace").rstrip("\n")
        if self.path is None and len(text) <= self.cap:
            return text, False, None
        if self.path is None:
            folder = self.overflow_dir or Path(tempfile.gettempdir()) / "skilld-shell-output"
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f"{uuid.uuid4().hex}.txt"
            self.path.write_bytes(bytes(self.buffer))
            self.saved = len(self.buffer)
        total = "at least " if self.saved >= _MAX_SAVED_BYTES else ""
        preview = text[:preview_chars]
        note = (
            f"\n... [output truncated: {total}{self.saved} bytes in total; "
            f"full output saved to {self.path}]"
        )
        return preview + note, True, self.path
