"""``skilld list`` and ``skilld show``: the skills a working directory sees.

``--json`` output is a stable contract. ``list --json`` prints
``{"cwd", "skills": [Skill.to_dict()...], "held_back": [names], "diagnostics": [...]}``
where ``diagnostics`` are the registry's own findings (skipped files, shadowed and
duplicate skills, scan bounds) as ``{level, message, path, line, field, fix}``; each
skill carries its parse diagnostics. ``show --json`` prints one ``Skill.to_dict()`` plus
``body``.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skilld.cli.options import AddDirOption, JsonOption, PluginDirOption, cwd_option
from skilld.skills.model import Diagnostic, Skill
from skilld.skills.registry import SkillRegistry

__all__ = ["list_skills", "register", "show_skill"]

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_SOURCE_STYLES = {
    "managed": "magenta",
    "user": "green",
    "project": "blue",
    "add-dir": "cyan",
    "plugin": "yellow",
    "package": "bright_black",
    "bundled": "bright_black",
}

CwdOption = Annotated[
    Path | None,
    cwd_option("Working directory to list from (default: the current one).", must_exist=True),
]


def _registry(
    cwd: Path | None, add_dir: list[Path] | None, plugin_dir: list[Path] | None
) -> SkillRegistry:
    return SkillRegistry(cwd, add_dirs=add_dir or (), plugin_dirs=plugin_dir or ())


def _notes(skill: Skill) -> list[str]:
    """Short markers for what makes a skill special, for the table's last column."""
    notes: list[str] = []
    if skill.loaded_from.value == "commands":
        notes.append("legacy command")
    if skill.arguments:
        notes.append("args: " + " ".join(skill.arguments))
    elif skill.argument_hint:
        notes.append("args: " + skill.argument_hint)
    if skill.context == "fork":
        notes.append("fork" + (f" ({skill.agent})" if skill.agent else ""))
    if skill.allowed_tools:
        notes.append(f"tools: {len(skill.allowed_tools)}")
    if skill.hooks:
        notes.append("hooks")
    if skill.paths:
        notes.append("paths: " + ", ".join(skill.paths))
    if skill.disable_model_invocation:
        notes.append("user only")
    if not skill.user_invocable:
        notes.append("model only")
    if skill.model:
        notes.append(f"model: {skill.model}")
    problems = [d for d in skill.diagnostics if d.level != "info"]
    if problems:
        worst = "error" if any(d.level == "error" for d in problems) else "warning"
        notes.append(f"{len(problems)} {worst}(s)")
    return notes


def _diagnostic_line(diagnostic: Diagnostic) -> str:
    style = _STYLES[diagnostic.level]
    return f"[{style}]{diagnostic.level}[/] {escape(str(diagnostic))}"


def list_skills(
    cwd: CwdOption = None,
    add_dir: AddDirOption = None,
    plugin_dir: PluginDirOption = None,
    as_json: JsonOption = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include conditional skills not yet activated.")
    ] = False,
) -> None:
    """List the skills visible from a working directory."""
    registry = _registry(cwd, add_dir, plugin_dir)
    visible = registry.skills()
    shown = registry.all_skills() if show_all else visible
    active = {s.name for s in visible}
    held_back = [s for s in registry.all_skills() if s.name not in active]
    if as_json:
        payload = {
            "cwd": str(registry.cwd),
            "skills": [s.to_dict() for s in shown],
            "held_back": [s.name for s in held_back],
            "diagnostics": [d.to_dict() for d in registry.diagnostics],
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return

    console = Console(highlight=False)
    table = Table(title=f"Skills seen from {escape(str(registry.cwd))}", title_justify="left")
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Source", no_wrap=True)
    table.add_column("Description", ratio=3)
    table.add_column("Notes", ratio=1)
    for skill in shown:
        source = skill.source.value
        name = "/" + skill.name if skill.user_invocable else skill.name
        name = escape(name) if skill.name in active else f"[dim]{escape(name)}[/]"
        table.add_row(
            name,
            f"[{_SOURCE_STYLES.get(skill.source.value, 'white')}]{source}[/]",
            escape(skill.description) or "[dim](no description)[/]",
            "[dim] · [/]".join(escape(note) for note in _notes(skill)),
        )
    console.print(table)
    parse_problems = sum(1 for s in shown for d in s.diagnostics if d.level != "info")
    summary = f"{len(visible)} skill(s)"
    if held_back:
        names = ", ".join(s.name for s in held_back)
        summary += f"; {len(held_back)} conditional skill(s) held back until a matching file "
        summary += f"is touched: {escape(names)}"
    if parse_problems:
        summary += f"; {parse_problems} file problem(s) (see `skilld show NAME`)"
    console.print(summary)
    for diagnostic in registry.diagnostics:
        if diagnostic.level != "info":
            console.print(_diagnostic_line(diagnostic))


def show_skill(
    name: Annotated[str, typer.Argument(help="The skill's command name, e.g. deploy or plugin:x.")],
    cwd: CwdOption = None,
    add_dir: AddDirOption = None,
    plugin_dir: PluginDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one skill: every field, its diagnostics and its prompt."""
    registry = _registry(cwd, add_dir, plugin_dir)
    wanted = name.removeprefix("/")
    skill = next((s for s in registry.all_skills() if s.name == wanted), None)
    if skill is None:
        names = [s.name for s in registry.all_skills()]
        close = difflib.get_close_matches(wanted, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        typer.echo(f"Unknown skill: {wanted}.{hint}", err=True)
        raise typer.Exit(1)
    if as_json:
        payload = skill.to_dict()
        payload["body"] = skill.body
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return

    console = Console(highlight=False)
    data = skill.to_dict()
    active = registry.get(skill.name) is not None
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in data.items():
        if key == "diagnostics" or value in (None, [], {}, ""):
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        table.add_row(key, escape(text))
    if skill.conditional:
        table.add_row("state", "active" if active else "held back until a matching file")
    console.print(table)
    for diagnostic in skill.diagnostics:
        console.print(_diagnostic_line(diagnostic))
    console.rule("prompt")
    console.print(skill.body.rstrip(), markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("list")(list_skills)
    app.command("show")(show_skill)
