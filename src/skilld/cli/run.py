"""``skilld run NAME [ARGS...]``: run a skill through a model, streaming progress.

An inline skill's expanded content becomes the user message of one agent turn (its
``allowed-tools`` pre-approved for that turn); a fork skill runs as a sub-agent and its
final text is the answer. The model comes from ``--model``, else from the skill's
``model:`` when that is a backend URI, else from ``SKILLD_DEFAULT_MODEL``; with none, the
command says so and exits 2. ``--model sim:0`` needs no key and no network. NAME may
also be a remote skill's URL (see :mod:`skilld.skills.remote`), checked against
``--pin sha256:<hex>`` when given.

Permissions come from the settings files plus ``--allow`` / ``--deny`` rules. Nothing is
asked interactively: a tool use that would need a person's answer is denied (the message
names the rule that would allow it), unless ``--yes`` allows every such use (deny rules
still apply). ``--json`` prints one JSON object at the end instead of the live view:
``{"skill", "reason", "text", "turns", "usage": {"input_tokens", "output_tokens"}}``.
Exit status: 0 when the model finished, 1 when the run stopped early or failed, 2 for
bad usage.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import uuid
from pathlib import Path, PurePosixPath
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import typer
from rich.console import Console
from rich.markup import escape

from skilld.cli.options import CwdOption, DenyOption, add_dir_option, allow_option, json_option
from skilld.exceptions import ConfigurationError, SkilldError

__all__ = ["register", "run_command"]

_PREVIEW_CHARS = 160


def _describe(name: str, tool_input: dict[str, Any]) -> str:
    """``Bash(ls -la)``, ``Read(src/a.py)``: a tool use in one short line."""
    for key in ("command", "file_path", "pattern", "skill", "path"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            first = value.splitlines()[0]
            if len(first) > 80:
                first = first[:79] + "…"
            return f"{name}({first})"
    return name


def _preview(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _PREVIEW_CHARS else line[: _PREVIEW_CHARS - 1] + "…"


class _View:
    """Renders the agent's events with Rich: text as it streams, a line per tool use."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.streamed = False
        self.open_line = False

    def _newline(self) -> None:
        if self.open_line:
            self.console.print()
            self.open_line = False

    def show(self, event: Any, indent: str = "") -> None:
        from skilld.agent.loop import SubagentProgress, TextDeltaEvent, ToolEnd, ToolStart

        if isinstance(event, TextDeltaEvent):
            self.console.print(event.text, end="", markup=False, highlight=False)
            self.streamed = True
            self.open_line = not event.text.endswith("\n")
        elif isinstance(event, ToolStart):
            self._newline()
            what = escape(_describe(event.tool_use.name, dict(event.tool_use.input)))
            self.console.print(f"{indent}[bold cyan]●[/] {what}")
        elif isinstance(event, ToolEnd):
            style = "red" if event.result.is_error else "dim"
            preview = escape(_preview(event.result.content))
            self.console.print(f"{indent}  [{style}]⎿ {preview}[/]")
        elif isinstance(event, SubagentProgress):
            label = f"{indent}[magenta]{escape(event.skill)}[/] ({escape(event.agent_type)}) "
            self.show(event.event, indent=label)


async def _run(
    name: str,
    arguments: str,
    *,
    model_uri: str | None,
    cwd: Path,
    add_dirs: list[Path],
    allow: list[str],
    deny: list[str],
    yes: bool,
    max_turns: int | None,
    as_json: bool,
    console: Console,
    pin: str | None = None,
) -> int:
    from skilld.agent.loop import Agent, TurnEnd
    from skilld.agent.models import resolve_model
    from skilld.agent.session import SessionState
    from skilld.hooks import HookRunner
    from skilld.permission_settings import load_permission_engine
    from skilld.settings import Settings
    from skilld.skills.registry import SkillRegistry
    from skilld.tool import MODEL_URI_PREFIXES, SkillTool

    registry = SkillRegistry(cwd, add_dirs=add_dirs)
    remote = None
    if _is_remote(name):
        from skilld.skills.remote import RemoteSkills, RemoteSkillSpec

        spec = RemoteSkillSpec(_remote_name(name), name, sha256=pin)
        remote = RemoteSkills([spec])
        name = spec.name
    elif pin is not None:
        raise ConfigurationError("--pin applies to a remote skill: give its URL as NAME")
    tool = SkillTool(registry, remote=remote)
    skill = await tool.user_skill(name) if remote is None else await remote.get(name)
    uri = model_uri
    if uri is None and skill.model and skill.model.startswith(MODEL_URI_PREFIXES):
        uri = skill.model
    uri = uri or Settings.from_env().default_model
    if not uri:
        raise ConfigurationError(
            f"skill {skill.name} needs a model: pass --model URI or set SKILLD_DEFAULT_MODEL "
            "(--model sim:0 runs a simulated one, no key needed)"
        )
    permissions = load_permission_engine(cwd, allow=allow, deny=deny, additional_dirs=add_dirs)
    session_id = str(uuid.uuid4())
    hooks = HookRunner.from_settings(cwd, session_id=session_id)
    async with resolve_model(uri) as model:
        agent = Agent(
            model,
            skill_tool=tool,
            permissions=permissions,
            ask=(lambda request: True) if yes else None,
            hooks=hooks,
            session=SessionState(session_id),
            cwd=cwd,
            max_turns=max_turns,
        )
        view = _View(console)
        end: TurnEnd | None = None
        async for event in agent.run_skill(skill.name, arguments):
            if isinstance(event, TurnEnd):
                end = event
            elif not as_json:
                view.show(event)
        await hooks.aclose()
    assert end is not None
    if as_json:
        summary = {
            "skill": skill.name,
            "reason": end.reason,
            "text": end.text,
            "turns": end.turns,
            "usage": {
                "input_tokens": end.usage.input_tokens,
                "output_tokens": end.usage.output_tokens,
            },
        }
        typer.echo(json.dumps(summary))
    else:
        if not view.streamed and end.text:
            console.print(end.text, markup=False, highlight=False)
        elif view.open_line:
            console.print()
        note = f"{end.reason} · {end.turns} model call(s) · {end.usage.total_tokens} tokens"
        Console(stderr=True).print(f"[dim]{escape(note)}[/]")
    return 0 if end.reason == "end_turn" and end.detail != "error" else 1


def _is_remote(name: str) -> bool:
    return "://" in name or name.startswith("git+")


def _remote_name(url: str) -> str:
    """A skill name for a URL: its ``path=`` folder, else the last path segment without
    archive suffixes (``…/lint.tar.gz`` → ``lint``, ``…/lint/SKILL.md`` → ``lint``)."""
    base, _, fragment = url.partition("#")
    options = dict(parse_qsl(fragment))
    if options.get("path"):
        return PurePosixPath(options["path"]).name
    parts = [p for p in urlsplit(base.removeprefix("git+")).path.split("/") if p]
    if parts and parts[-1] == "SKILL.md":
        parts.pop()
    last = parts[-1] if parts else "remote"
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".git", ".json"):
        last = last.removesuffix(suffix)
    return last or "remote"


def _argument_string(words: list[str]) -> str:
    """The raw ``$ARGUMENTS``: one argument as typed; several joined, each one holding
    spaces quoted so ``$0``/``$1`` split where the shell split them."""
    if len(words) == 1:
        return words[0]
    return " ".join(shlex.quote(w) if any(c.isspace() for c in w) else w for w in words)


def run_command(
    name: Annotated[str, typer.Argument(help="The skill to run.")],
    arguments: Annotated[
        list[str] | None, typer.Argument(help="Arguments for the skill ($ARGUMENTS).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model URI (default: SKILLD_DEFAULT_MODEL), e.g. sim:0."),
    ] = None,
    cwd: CwdOption = None,
    add_dir: Annotated[
        list[Path] | None, add_dir_option("Extra folder of skills (repeatable).")
    ] = None,
    allow: Annotated[list[str] | None, allow_option("Allow rule, e.g. 'Bash(git *)'.")] = None,
    deny: DenyOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Allow every tool use that would ask.")
    ] = False,
    max_turns: Annotated[
        int | None, typer.Option("--max-turns", min=1, help="Model calls at most.")
    ] = None,
    as_json: Annotated[bool, json_option("Print one JSON summary.")] = False,
    pin: Annotated[
        str | None,
        typer.Option("--pin", help="sha256:<hex> the remote skill's content must hash to."),
    ] = None,
) -> None:
    """Run a skill through a model (inline: one agent turn; fork: a sub-agent).

    NAME may be a URL (https://…/SKILL.md, an archive, a registry entry, git+…): the
    skill is fetched, checked against --pin when given, and cached.
    """
    console = Console(highlight=False)
    try:
        code = asyncio.run(
            _run(
                name,
                _argument_string(arguments or []),
                model_uri=model,
                cwd=(cwd or Path.cwd()).resolve(),
                add_dirs=list(add_dir or ()),
                allow=list(allow or ()),
                deny=list(deny or ()),
                yes=yes,
                max_turns=max_turns or 50,
                as_json=as_json,
                console=console,
                pin=pin,
            )
        )
    except ConfigurationError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except SkilldError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("run")(run_command)
