"""``skilld expand``: print what invoking a skill would put into the conversation.

``--json`` prints :meth:`Expansion.to_dict` (a stable contract): ``name``, ``arguments``,
``content`` (text blocks), ``text``, ``allowed_tools``, ``model``, ``effort``,
``context``, ``agent``, ``hooks`` and ``shell_commands`` (each with ``pattern``,
``command``, ``exit_code``, ``duration``, ``truncated``, ``overflow_path``). On failure
it prints ``{"error": {"type", "message"}}`` and exits 1.

Arguments: one ``ARGS`` value is the raw argument string, exactly as typed after
``/name`` (``skilld expand fix '"hello world" second'``); several are joined
shell-quoted, so each stays one argument (``skilld expand migrate "My Button" React``).
"""

from __future__ import annotations

import difflib
import json
import shlex
import uuid
from pathlib import Path
from typing import Annotated

import typer

from skilld.cli.options import (
    AddDirOption,
    AllowOption,
    DenyOption,
    JsonOption,
    PluginDirOption,
    cwd_option,
)
from skilld.exceptions import ConfigurationError, ExpansionError, PermissionRuleError
from skilld.skills.expansion import Expansion, ExpansionContext, expand_skill_sync
from skilld.skills.model import Skill
from skilld.skills.registry import SkillRegistry

__all__ = ["expand", "register"]


def _find(registry: SkillRegistry, name: str) -> Skill | None:
    wanted = name.removeprefix("/")
    found = registry.get(wanted)
    if found is not None:
        return found
    return next((s for s in registry.all_skills() if s.name == wanted), None)


def _fail(message: str, kind: str, as_json: bool) -> typer.Exit:
    if as_json:
        typer.echo(json.dumps({"error": {"type": kind, "message": message}}, indent=2))
    else:
        typer.echo(message, err=True)
    return typer.Exit(1)


def expand(
    name: Annotated[str, typer.Argument(help="The skill's command name, e.g. deploy.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(help="Arguments: one raw string, or several words quoted for you."),
    ] = None,
    as_json: JsonOption = False,
    session_id: Annotated[
        str | None, typer.Option("--session-id", help="${CLAUDE_SESSION_ID} (default: new UUID).")
    ] = None,
    cwd: Annotated[
        Path | None, cwd_option("Working directory: skills, settings, where commands run.")
    ] = None,
    add_dir: AddDirOption = None,
    plugin_dir: PluginDirOption = None,
    allow: AllowOption = None,
    deny: DenyOption = None,
    effort: Annotated[
        str | None, typer.Option("--effort", help="${CLAUDE_EFFORT} (default: the skill's).")
    ] = None,
    no_shell: Annotated[
        bool, typer.Option("--no-shell", help="Replace inline commands with a notice.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--shell-timeout", help="Seconds per inline command.")
    ] = 120.0,
) -> None:
    """Expand a skill: arguments, variables and inline shell, as an invocation would."""
    from skilld.permission_settings import load_permission_engine

    workdir = (cwd or Path.cwd()).resolve()
    registry = SkillRegistry(workdir, add_dirs=add_dir or (), plugin_dirs=plugin_dir or ())
    skill = _find(registry, name)
    if skill is None:
        names = [s.name for s in registry.all_skills()]
        close = difflib.get_close_matches(name.removeprefix("/"), names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise _fail(
            f"Unknown skill: {name.removeprefix('/')}.{hint}", "SkillNotFoundError", as_json
        )
    words = args or []
    arguments = words[0] if len(words) == 1 else shlex.join(words)
    try:
        permissions = load_permission_engine(
            workdir, allow=allow or (), deny=deny or (), additional_dirs=add_dir or ()
        )
    except (ConfigurationError, PermissionRuleError) as error:
        raise _fail(str(error), type(error).__name__, as_json) from error
    context = ExpansionContext(
        session_id=session_id or str(uuid.uuid4()),
        cwd=workdir,
        effort=effort,
        permissions=permissions,
        disable_shell=True if no_shell else None,
        shell_timeout=timeout,
    )
    try:
        result = expand_skill_sync(skill, arguments, context=context)
    except ExpansionError as error:
        raise _fail(str(error), type(error).__name__, as_json) from error
    _print(result, as_json)


def _print(result: Expansion, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        return
    typer.echo(result.text)
    for record in result.shell_commands:
        note = f" (output saved to {record.overflow_path})" if record.truncated else ""
        typer.echo(
            f"ran: {record.command} (exit {record.exit_code}, {record.duration:.3f}s){note}",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("expand")(expand)
