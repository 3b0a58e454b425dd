"""`skilld validate PATH... [--profile spec|claude-code|lenient] [--json]`.

Exit status 1 when any error is found (warnings and infos do not fail), 0 otherwise.
The ``--json`` output is a stable contract: ``{profile, files: [{path, kind, name, ok,
diagnostics: [{level, message, line, field, fix}]}], summary: {files, skills, commands,
errors, warnings, infos, ok}}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from skilld.cli.options import json_option
from skilld.skills.validate import FileReport, Profile, ValidationReport, validate_paths

__all__ = ["register", "validate"]

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Skill folders, SKILL.md or command files, or trees of skills."),
    ],
    profile: Annotated[
        Profile,
        typer.Option(
            "--profile",
            "-p",
            help="spec: agentskills.io to the letter; claude-code: what Claude Code "
            "accepts; lenient: only what stops a skill from loading.",
            case_sensitive=False,
        ),
    ] = Profile.CLAUDE_CODE,
    as_json: Annotated[bool, json_option("Print the report as JSON.")] = False,
) -> None:
    """Check skills and command files; exit 1 when an error is found."""
    report = validate_paths(paths, profile)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(report: ValidationReport) -> None:
    """Files with findings, grouped, each finding with its line and fix; then a summary."""
    console = Console(highlight=False, soft_wrap=True)
    for file in report.files:
        if file.diagnostics:
            _print_file(console, file)
    summary = (
        f"{len(report.files)} file(s) checked with the {report.profile.value} profile: "
        f"{report.errors} error(s), {report.warnings} warning(s), {report.infos} note(s)"
    )
    console.print(f"[{'green' if report.ok else 'bold red'}]{escape(summary)}[/]")


def _print_file(console: Console, file: FileReport) -> None:
    label = f" ({file.kind} {file.name})" if file.name else ""
    status = "[bold red]✗[/]" if not file.ok else "[green]✓[/]"
    console.print(f"{status} [bold]{escape(str(file.path))}[/]{escape(label)}")
    for d in file.diagnostics:
        where = f"{d.line:>5}" if d.line is not None else "     "
        what = f"{d.field}: " if d.field else ""
        console.print(f"  {where}  [{_STYLES[d.level]}]{d.level:<7}[/] {escape(what + d.message)}")
        if d.fix:
            console.print(f"         [dim]fix:[/] {escape(d.fix)}")


def register(app: typer.Typer) -> None:
    """Add ``skilld validate`` to ``app``."""
    app.command("validate")(validate)
