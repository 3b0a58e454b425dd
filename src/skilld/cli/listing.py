"""``skilld listing``: the skill catalogue a system prompt would carry.

Prints the listing of the working directory's active, model-invocable skills within the
budget, honouring ``skillOverrides``, ``skillListingBudgetFraction`` and
``skillListingMaxDescChars`` from the settings files. With neither ``--context-window`` nor
``--budget-chars``, ``SLASH_COMMAND_TOOL_CHAR_BUDGET`` (as in Claude Code) or else 8,000
characters is the budget. ``--json`` prints
``{"budget", "width", "over_budget", "text", "entries": [{"name", "description",
"location", "bundled", "truncated"}]}`` (a stable contract; ``text`` is in the
``--format`` asked for).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import Annotated

import typer

from skilld.cli.options import AddDirOption, CwdOption, JsonOption, PluginDirOption
from skilld.exceptions import ConfigurationError
from skilld.settings import Settings
from skilld.skills.listing import listing_for_registry
from skilld.skills.listing_settings import load_listing_settings
from skilld.skills.registry import SkillRegistry

__all__ = ["listing", "register"]


class _Format(StrEnum):
    TEXT = "text"
    XML = "xml"


def listing(
    context_window: Annotated[
        int | None,
        typer.Option(
            "--context-window",
            min=1,
            help="Model context window in tokens; the budget is 1% of it (4 chars a token).",
        ),
    ] = None,
    budget_chars: Annotated[
        int | None,
        typer.Option("--budget-chars", min=0, help="A fixed budget in characters instead."),
    ] = None,
    format: Annotated[
        _Format, typer.Option("--format", help="text (Claude Code) or xml (agentskills).")
    ] = _Format.TEXT,
    cwd: CwdOption = None,
    add_dir: AddDirOption = None,
    plugin_dir: PluginDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the skill listing a system prompt carries, within its budget."""
    if context_window is not None and budget_chars is not None:
        raise typer.BadParameter(
            "give --context-window or --budget-chars, not both", param_hint="--budget-chars"
        )
    settings = Settings.from_env()
    if budget_chars is None and context_window is None:
        budget_chars = _budget_from_env()
    try:
        options = load_listing_settings(cwd, settings=settings)
        registry = SkillRegistry(
            cwd, add_dirs=add_dir or (), plugin_dirs=plugin_dir or (), settings=settings
        )
        result = listing_for_registry(
            registry,
            context_window=context_window,
            budget_chars=budget_chars,
            fraction=options.fraction,
            overrides=options.overrides,
            max_entry_chars=options.max_entry_chars,
        )
    except ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    text = result.render(format.value)
    if not as_json:
        if text:
            typer.echo(text)
        if result.over_budget:
            typer.echo(
                f"warning: the listing takes {result.width} characters, over its budget "
                f"of {result.budget}, even with names only",
                err=True,
            )
        return
    payload = {
        "budget": result.budget,
        "width": result.width,
        "over_budget": result.over_budget,
        "text": text,
        "entries": [
            {
                "name": entry.name,
                "description": entry.description,
                "location": entry.location,
                "bundled": entry.bundled,
                "truncated": entry.truncated,
            }
            for entry in result.entries
        ],
    }
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def _budget_from_env() -> int | None:
    """Claude Code's ``SLASH_COMMAND_TOOL_CHAR_BUDGET``: a fixed budget when no option is given."""
    value = os.environ.get("SLASH_COMMAND_TOOL_CHAR_BUDGET", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) == 0:
        typer.echo(
            f"error: SLASH_COMMAND_TOOL_CHAR_BUDGET must be a positive whole number, not {value!r}",
            err=True,
        )
        raise typer.Exit(2)
    return int(value)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("listing")(listing)
