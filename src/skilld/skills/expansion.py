"""Expanding a skill: from "skill X with arguments Y" to the text that enters the conversation.

The pipeline follows Claude Code, in this order and in one pass over the body (what a
substitution inserts is never scanned again):

1. ``Base directory for this skill: <dir>`` comes first for skills that have a folder.
2. Arguments: declared ``arguments:`` names become ``$name`` by position (a missing value
   is empty), ``$ARGUMENTS[N]`` and ``$N`` the N-th shell-style word (0-based; a missing
   index stays literal), ``$ARGUMENTS`` the raw string. When no argument placeholder was
   substituted and arguments were given, ``\\n\\nARGUMENTS: <value>`` is appended.
   ``\\$1`` keeps the literal ``$1`` (exactly one backslash escapes).
3. Variables: ``${CLAUDE_SKILL_DIR}``, ``${CLAUDE_SESSION_ID}``, ``${CLAUDE_PROJECT_DIR}``,
   ``${CLAUDE_EFFORT}``, and for plugin skills ``${CLAUDE_PLUGIN_ROOT}`` and
   ``${CLAUDE_PLUGIN_DATA}``.
4. Inline shell: `` !`cmd` `` in prose and ```` ```! ```` blocks run (see
   :mod:`skilld.skills.markdown`) and their output replaces them.

Where skilld is stricter than Claude Code:

* the shell scan reads Markdown, so examples in code blocks and code spans never run;
* a value that lands inside a shell command is quoted for that spot
  (:func:`skilld.skills.shell.quote_into`), so ``/deploy "x; rm -rf ~"`` runs one command;
* every command is checked before any runs, so a denied third command leaves no side
  effects from the first two;
* ``$ARGUMENTS`` inside a command is one quoted word, not words the shell splits;
* a value holding ``$`` or a backtick is refused inside ``((...))``, ``$((...))``,
  ``[[ ... ]]`` and ``${...}``, where bash evaluates text after quote removal, and only
  plain words reach commands that parse their arguments again (``eval``, ``ssh``,
  ``sh -c``).

Commands run one after another, after every one was allowed, in the session's working
directory with the skill's ``shell`` (:mod:`skilld.skills.shell`); each one's output, its
trailing newlines removed, replaces its pattern. A command that fails (exit 1 of ``grep``,
``diff``, ``test``... is an answer, not a failure), times out or cannot start aborts the
expansion with :class:`ShellCommandError`.

Skills loaded from MCP never run shell: their patterns stay in the text as written
(Claude Code does the same). With the disable-shell policy every pattern becomes
``[shell command execution disabled by policy]``, except in managed and bundled skills.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from skilld.exceptions import ShellCommandDenied, ShellCommandError
from skilld.skills.markdown import ShellPattern, find_shell_patterns
from skilld.skills.model import Skill, Source
from skilld.skills.shell import (
    DEFAULT_OUTPUT_CAP,
    DEFAULT_PREVIEW_CHARS,
    DEFAULT_SHELL_TIMEOUT,
    ResolvedShell,
    ShellKind,
    UnsafeValueError,
    quote_into,
    quote_states,
    reparsing_spans,
    resolve_shell,
    run_shell_command,
    tolerated_exit,
)

__all__ = [
    "SHELL_DISABLED_NOTICE",
    "Expansion",
    "ExpansionContext",
    "ShellCommandRecord",
    "ShellDecisionLike",
    "ShellPermission",
    "TextBlock",
    "expand_skill",
    "expand_skill_sync",
    "split_arguments",
]

SHELL_DISABLED_NOTICE = "[shell command execution disabled by policy]"
_EXEMPT_FROM_POLICY = frozenset({Source.MANAGED, Source.BUNDLED})
_WINDOWS = os.name == "nt"


# --------------------------------------------------------------------------- public types


class ShellDecisionLike(Protocol):
    """What a permission check answers: ``allow``, ``deny`` or ``ask``, and why."""

    @property
    def behavior(self) -> str: ...

    @property
    def message(self) -> str: ...


class ShellPermission(Protocol):
    """Decides whether an inline command may run (:class:`skilld.permissions.PermissionEngine`
    is one). ``extra_allow`` holds the skill's ``allowed-tools``: they count as allow rules
    while the skill runs, so ``Bash(git status:*)`` lets ``!`git status``` run. ``tool`` is
    ``PowerShell`` for a skill whose commands run with PowerShell."""

    def check_shell(
        self, command: str, *, extra_allow: Sequence[str], tool: str = "Bash"
    ) -> ShellDecisionLike: ...


@dataclass(frozen=True, kw_only=True)
class ExpansionContext:
    """The session a skill is expanded in. Every field has a sensible default.

    Attributes:
        session_id: ``${CLAUDE_SESSION_ID}`` (default: a fresh UUID per context).
        cwd: where inline commands run (default: the process's working directory).
        project_dir: ``${CLAUDE_PROJECT_DIR}`` (default: ``cwd``).
        effort: ``${CLAUDE_EFFORT}``, the session's effort level (default: the skill's
            ``effort``; empty when neither is known).
        plugin_data_dir: ``${CLAUDE_PLUGIN_DATA}`` for plugin skills (default:
            ``~/.claude/plugins/data/<plugin>``).
        permissions: decides each inline command; anything but ``allow`` aborts with
            :class:`ShellCommandDenied`. Default: a :class:`skilld.permissions.PermissionEngine`
            with no rules of its own, so only the skill's ``allowed-tools`` allow commands.
        disable_shell: replace every inline command with a notice. None reads
            ``Settings.disable_shell`` (``SKILLD_DISABLE_SHELL``).
        shell_timeout: seconds per command before it is killed and the expansion fails.
        output_cap: characters of one command's output kept inline; the rest is saved to
            a file in ``overflow_dir`` and replaced by a preview and the file's path.
    """

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    cwd: Path | None = None
    project_dir: Path | None = None
    effort: str | int | None = None
    plugin_data_dir: Path | None = None
    permissions: ShellPermission | None = None
    disable_shell: bool | None = None
    shell_timeout: float = DEFAULT_SHELL_TIMEOUT
    output_cap: int = DEFAULT_OUTPUT_CAP
    preview_chars: int = DEFAULT_PREVIEW_CHARS
    overflow_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class TextBlock:
    """One block of content for the conversation."""

    text: str
    type: str = "text"

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "text": self.text}


@dataclass(frozen=True, slots=True)
class ShellCommandRecord:
    """One inline command that ran: the pattern as written, the command as run, how it ended."""

    pattern: str
    command: str
    exit_code: int | None
    duration: float
    truncated: bool = False
    overflow_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "command": self.command,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 6),
            "truncated": self.truncated,
            "overflow_path": str(self.overflow_path) if self.overflow_path else None,
        }


@dataclass(frozen=True, slots=True)
class Expansion:
    """The result: content blocks, and what the invocation declares for the rest of the turn."""

    name: str
    blocks: tuple[TextBlock, ...]
    arguments: str = ""
    allowed_tools: tuple[str, ...] = ()
    model: str | None = None
    effort: str | int | None = None
    context: str = "inline"
    agent: str | None = None
    hooks: Mapping[str, Any] | None = None
    shell_commands: tuple[ShellCommandRecord, ...] = ()

    @property
    def text(self) -> str:
        """Every block's text, joined."""
        return "".join(block.text for block in self.blocks)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of ``skilld expand --json``."""
        return {
            "name": self.name,
            "arguments": self.arguments,
            "content": [block.to_dict() for block in self.blocks],
            "text": self.text,
            "allowed_tools": list(self.allowed_tools),
            "model": self.model,
            "effort": self.effort,
            "context": self.context,
            "agent": self.agent,
            "hooks": self.hooks,
            "shell_commands": [record.to_dict() for record in self.shell_commands],
        }


# --------------------------------------------------------------------------- arguments

_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")
_PLAIN_ARGUMENTS = re.compile(r"[^'\"\\\s]*(?:[ \t\r\n]+[^'\"\\\s]*)*", re.ASCII)


def split_arguments(arguments: str) -> list[str]:
    """Shell-style words: ``'"hello world" second'`` → ``["hello world", "second"]``.

    Text the shell rules cannot split (an unclosed quote) is split on whitespace, as
    Claude Code falls back to.
    """
    if not arguments.strip():
        return []
    if _PLAIN_ARGUMENTS.fullmatch(arguments):
        # No quotes or escapes: what shlex would give (it splits on these four), faster.
        return _SHLEX_SPACE.split(arguments.strip(" \t\r\n"))
    try:
        return shlex.split(arguments)
    except ValueError:
        return arguments.split()


# --------------------------------------------------------------------------- templates

_VARIABLES = (
    "CLAUDE_SKILL_DIR",
    "CLAUDE_SESSION_ID",
    "CLAUDE_PROJECT_DIR",
    "CLAUDE_EFFORT",
    "CLAUDE_PLUGIN_ROOT",
    "CLAUDE_PLUGIN_DATA",
)


@dataclass(frozen=True, slots=True)
class _Placeholder:
    """A placeholder as found: ``kind`` is named / index / all / var."""

    kind: str
    key: str | int
    literal: str


@dataclass(frozen=True, slots=True)
class _QuotedPlaceholder:
    placeholder: _Placeholder
    states: tuple[str, ...]
    reparsed: bool = False


_Piece = str | _Placeholder


@dataclass(frozen=True, slots=True)
class _ShellPiece:
    pattern: str
    pieces: tuple[str | _QuotedPlaceholder, ...]


@dataclass(frozen=True, slots=True)
class _Template:
    parts: tuple[_Piece | _ShellPiece, ...]
    argument_placeholders: tuple[_Placeholder, ...]
    has_shell: bool


@lru_cache(maxsize=64)
def _placeholder_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    # Longest names first, so $old-name wins over $old when both are declared. A name is
    # not a prefix of a longer word: $name is not $names, and not $name[0] (as Claude Code).
    named = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    # With no names, the group still exists but can never match.
    named_alt = rf"(?P<named>{named})(?![\[\w])|" if named else r"(?P<named>(?!))|"
    variables = "|".join(_VARIABLES)
    return re.compile(
        r"(?P<slashes>\\*)\$(?:"
        rf"\{{(?P<var>{variables})\}}|"
        f"{named_alt}"
        r"ARGUMENTS\[(?P<index>\d+)\]|"
        r"(?P<pos>\d+)(?!\w)|"
        r"(?P<all>ARGUMENTS))"
    )


def _placeholder(match: re.Match[str]) -> _Placeholder:
    literal = match.group(0)[len(match.group("slashes")) :]
    if match.group("var"):
        return _Placeholder("var", match.group("var"), literal)
    if match.group("named"):
        return _Placeholder("named", match.group("named"), literal)
    if match.group("index") is not None:
        return _Placeholder("index", int(match.group("index")), literal)
    if match.group("pos") is not None:
        return _Placeholder("index", int(match.group("pos")), literal)
    return _Placeholder("all", "ARGUMENTS", literal)


def _split_text(text: str, regex: re.Pattern[str]) -> list[_Piece]:
    """Literal text and placeholders. One backslash before ``$`` escapes the placeholder."""
    pieces: list[_Piece] = []
    last = 0
    for match in regex.finditer(text):
        slashes = match.group("slashes")
        if match.start() > last:
            pieces.append(text[last : match.start()])
        placeholder = _placeholder(match)
        if len(slashes) == 1:
            pieces.append(placeholder.literal)
        else:
            if slashes:
                pieces.append(slashes)
            pieces.append(placeholder)
        last = match.end()
    if last < len(text):
        pieces.append(text[last:])
    return pieces


def _split_command(
    command: str, regex: re.Pattern[str], kind: ShellKind
) -> tuple[str | _QuotedPlaceholder, ...]:
    """A command with its placeholders, each knowing its quoting context.

    An escaped ``\\$1`` stays as written in a bash command (the shell itself reads
    ``\\$`` as a literal dollar); PowerShell spells that escape with a backtick.
    """
    states: list[tuple[str, ...]] | None = None
    reparsing: list[tuple[int, int]] = []
    pieces: list[str | _QuotedPlaceholder] = []
    last = 0
    for match in regex.finditer(command):
        slashes = match.group("slashes")
        if match.start() > last:
            pieces.append(command[last : match.start()])
        placeholder = _placeholder(match)
        if len(slashes) == 1:
            pieces.append("`" + placeholder.literal if kind == "powershell" else match.group(0))
        else:
            if slashes:
                pieces.append(slashes)
            if states is None:
                states = quote_states(command, kind)
                reparsing = reparsing_spans(command) if kind == "bash" else []
            where = match.start("slashes") + len(slashes)
            reparsed = any(start <= where < end for start, end in reparsing)
            pieces.append(_QuotedPlaceholder(placeholder, states[where], reparsed))
        last = match.end()
    if last < len(command):
        pieces.append(command[last:])
    return tuple(pieces)


@lru_cache(maxsize=2048)
def _compile(body: str, names: tuple[str, ...], kind: ShellKind, shell: bool) -> _Template:
    regex = _placeholder_regex(names)
    patterns: tuple[ShellPattern, ...] = find_shell_patterns(body) if shell else ()
    parts: list[_Piece | _ShellPiece] = []
    last = 0
    for pattern in patterns:
        parts.extend(_split_text(body[last : pattern.start], regex))
        parts.append(
            _ShellPiece(
                body[pattern.start : pattern.end], _split_command(pattern.command, regex, kind)
            )
        )
        last = pattern.end
    parts.extend(_split_text(body[last:], regex))
    found: list[_Placeholder] = []
    for part in parts:
        if isinstance(part, _Placeholder):
            found.append(part)
        elif isinstance(part, _ShellPiece):
            found.extend(p.placeholder for p in part.pieces if isinstance(p, _QuotedPlaceholder))
    return _Template(
        parts=tuple(parts),
        argument_placeholders=tuple(p for p in found if p.kind != "var"),
        has_shell=bool(patterns),
    )


# --------------------------------------------------------------------------- expansion


def _slashes(path: Path) -> str:
    """A path as Claude Code writes it into prompts: forward slashes on Windows."""
    text = str(path)
    return text.replace("\\", "/") if _WINDOWS else text


def _plugin_data_dir(skill: Skill, context: ExpansionContext) -> Path | None:
    if context.plugin_data_dir is not None:
        return context.plugin_data_dir
    if not skill.plugin:
        return None
    from skilld.settings import Settings

    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", skill.plugin)
    return Settings.from_env().home / ".claude" / "plugins" / "data" / safe


class _Values:
    """What each placeholder stands for in one invocation; None keeps it literal."""

    def __init__(
        self, skill: Skill, arguments: str, context: ExpansionContext, words: list[str]
    ) -> None:
        self.skill = skill
        self.arguments = arguments
        self.context = context
        self.words = words
        self.names = {name: i for i, name in reversed(list(enumerate(skill.arguments)))}

    def __call__(self, placeholder: _Placeholder) -> str | None:
        kind, key = placeholder.kind, placeholder.key
        if kind == "all":
            return self.arguments
        if kind == "index":
            assert isinstance(key, int)
            return self.words[key] if key < len(self.words) else None
        if kind == "named":
            index = self.names[str(key)]
            return self.words[index] if index < len(self.words) else ""
        return self._variable(str(key))

    def _variable(self, name: str) -> str | None:
        skill, context = self.skill, self.context
        if name == "CLAUDE_SKILL_DIR":
            return _slashes(skill.directory) if skill.directory is not None else None
        if name == "CLAUDE_SESSION_ID":
            return context.session_id
        if name == "CLAUDE_PROJECT_DIR":
            return _slashes(context.project_dir or context.cwd or Path.cwd())
        if name == "CLAUDE_EFFORT":
            effort = context.effort if context.effort is not None else skill.effort
            return "" if effort is None else str(effort)
        if skill.plugin is None and skill.plugin_root is None:
            return None  # plugin variables mean nothing outside a plugin
        if name == "CLAUDE_PLUGIN_ROOT":
            return _slashes(skill.plugin_root) if skill.plugin_root is not None else None
        data = _plugin_data_dir(skill, context)
        return _slashes(data) if data is not None else None


@dataclass(slots=True)
class _Job:
    """A command ready to check and run, and where its output goes."""

    slot: int
    pattern: str
    command: str


def _allowed_tools(skill: Skill) -> tuple[str, ...]:
    """``allowed-tools`` with ``${CLAUDE_SKILL_DIR}`` filled in inside Bash rules."""
    if skill.directory is None:
        return skill.allowed_tools
    folder = _slashes(skill.directory)
    return tuple(
        rule.replace("${CLAUDE_SKILL_DIR}", folder)
        if rule.startswith(("Bash(", "PowerShell("))
        else rule
        for rule in skill.allowed_tools
    )


def _shell_mode(skill: Skill, context: ExpansionContext) -> str:
    """``run``, ``disabled`` (replaced by the notice) or ``never`` (MCP: left as written)."""
    if skill.source is Source.MCP:
        return "never"
    if skill.source in _EXEMPT_FROM_POLICY:
        return "run"
    disabled = context.disable_shell
    if disabled is None:
        from skilld.settings import Settings

        disabled = Settings.from_env().disable_shell
    return "disabled" if disabled else "run"


@dataclass(slots=True)
class _Prepared:
    skill: Skill
    arguments: str
    context: ExpansionContext
    shell: ResolvedShell | None
    out: list[str]
    jobs: list[_Job]
    prefix: str
    suffix: str
    allowed_tools: tuple[str, ...]


def _prepare(skill: Skill, arguments: str, context: ExpansionContext) -> _Prepared:
    """Everything but running commands: substitutions, and the commands to run."""
    mode = "never"
    shell: ResolvedShell | None = None
    kind: ShellKind = "bash"
    if "!`" in skill.body or "```!" in skill.body:
        mode = _shell_mode(skill, context)
        if mode == "run":
            shell = resolve_shell(skill.shell)
            kind = shell.kind
    template = _compile(skill.body, skill.arguments, kind, mode != "never")
    words = split_arguments(arguments)
    values = _Values(skill, arguments, context, words)
    out: list[str] = []
    jobs: list[_Job] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, _Placeholder):
            value = values(part)
            out.append(part.literal if value is None else value)
        elif mode == "disabled":
            out.append(SHELL_DISABLED_NOTICE)
        else:
            command = _fill_command(part, values, kind)
            jobs.append(_Job(len(out), part.pattern, command))
            out.append(part.pattern)  # replaced by the output once the command ran
    substituted = any(
        p.kind != "index" or (isinstance(p.key, int) and p.key < len(words))
        for p in template.argument_placeholders
    )
    suffix = f"\n\nARGUMENTS: {arguments}" if arguments.strip() and not substituted else ""
    prefix = (
        f"Base directory for this skill: {skill.directory}\n\n"
        if skill.directory is not None
        else ""
    )
    return _Prepared(
        skill, arguments, context, shell, out, jobs, prefix, suffix, _allowed_tools(skill)
    )


def _fill_command(part: _ShellPiece, values: _Values, kind: ShellKind) -> str:
    chunks: list[str] = []
    for piece in part.pieces:
        if isinstance(piece, str):
            chunks.append(piece)
            continue
        value = values(piece.placeholder)
        if value is None:
            chunks.append(piece.placeholder.literal)
            continue
        try:
            chunks.append(quote_into(value, piece.states, kind, reparsed=piece.reparsed))
        except UnsafeValueError as error:
            template = "".join(
                p if isinstance(p, str) else p.placeholder.literal for p in part.pieces
            )
            raise ShellCommandDenied(
                part.pattern, template, f"the value of {piece.placeholder.literal}: {error}"
            ) from error
    return "".join(chunks)


def _default_permissions(context: ExpansionContext) -> ShellPermission:
    # The permission engine with no rules of its own: only the skill's allowed-tools
    # (passed as extra allow rules) can allow a command, and an "ask" is a deny here.
    from skilld.permissions import PermissionEngine

    return PermissionEngine(cwd=context.cwd or Path.cwd())


def _check_permissions(prepared: _Prepared) -> None:
    """Every command is checked before any runs; the first one not allowed aborts."""
    if not prepared.jobs:
        return
    context = prepared.context
    checker = context.permissions or _default_permissions(context)
    tool = (
        "PowerShell"
        if prepared.shell is not None and prepared.shell.kind == "powershell"
        else "Bash"
    )
    for job in prepared.jobs:
        decision = checker.check_shell(job.command, extra_allow=prepared.allowed_tools, tool=tool)
        if decision.behavior != "allow":
            raise ShellCommandDenied(job.pattern, job.command, decision.message)


async def _run_jobs(prepared: _Prepared) -> tuple[ShellCommandRecord, ...]:
    context = prepared.context
    shell = prepared.shell
    assert shell is not None
    cwd = context.cwd or Path.cwd()
    records: list[ShellCommandRecord] = []
    for job in prepared.jobs:
        try:
            result = await run_shell_command(
                job.command,
                shell=shell,
                cwd=cwd,
                timeout=context.shell_timeout,
                output_cap=context.output_cap,
                preview_chars=context.preview_chars,
                overflow_dir=context.overflow_dir,
            )
        except OSError as error:
            raise ShellCommandError(
                job.pattern, exit_code=None, output="", reason=f"could not start: {error}"
            ) from error
        if result.timed_out:
            raise ShellCommandError(
                job.pattern,
                exit_code=None,
                output=result.output,
                reason=f"timed out after {context.shell_timeout:g}s",
            )
        assert result.exit_code is not None
        if not tolerated_exit(job.command, result.exit_code, shell.kind):
            raise ShellCommandError(
                job.pattern,
                exit_code=result.exit_code,
                output=result.output,
                reason=f"exit code {result.exit_code}",
            )
        prepared.out[job.slot] = result.output
        records.append(
            ShellCommandRecord(
                job.pattern,
                job.command,
                result.exit_code,
                result.duration,
                result.truncated,
                result.overflow_path,
            )
        )
    return tuple(records)


def _finish(prepared: _Prepared, records: tuple[ShellCommandRecord, ...]) -> Expansion:
    skill = prepared.skill
    text = prepared.prefix + "".join(prepared.out) + prepared.suffix
    return Expansion(
        name=skill.name,
        blocks=(TextBlock(text),),
        arguments=prepared.arguments,
        allowed_tools=prepared.allowed_tools,
        model=skill.model,
        effort=skill.effort,
        context=skill.context,
        agent=skill.agent,
        hooks=skill.hooks,
        shell_commands=records,
    )


async def expand_skill(
    skill: Skill, arguments: str = "", *, context: ExpansionContext | None = None
) -> Expansion:
    """Expand ``skill`` invoked with ``arguments`` (the raw string typed after its name).

    Raises :class:`ShellCommandDenied` when an inline command is not allowed (before any
    command runs) and :class:`ShellCommandError` when one fails, times out or cannot start.
    """
    context = context if context is not None else ExpansionContext()
    prepared = _prepare(skill, arguments, context)
    records: tuple[ShellCommandRecord, ...] = ()
    if prepared.jobs:
        _check_permissions(prepared)
        records = await _run_jobs(prepared)
    return _finish(prepared, records)


def expand_skill_sync(
    skill: Skill, arguments: str = "", *, context: ExpansionContext | None = None
) -> Expansion:
    """:func:`expand_skill` for synchronous callers.

    A skill without inline shell expands without an event loop; one with shell runs its
    commands in a private loop (in a helper thread when the caller is itself inside a
    running loop, which then blocks until the commands are done).
    """
    context = context if context is not None else ExpansionContext()
    prepared = _prepare(skill, arguments, context)
    if not prepared.jobs:
        return _finish(prepared, ())
    _check_permissions(prepared)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        records = asyncio.run(_run_jobs(prepared))
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="skilld-expand") as pool:
            records = pool.submit(asyncio.run, _run_jobs(prepared)).result()
    return _finish(prepared, records)
