"""Options several commands share: ``--cwd``, ``--add-dir``, ``--plugin-dir``, ``--json``,
``--allow``, ``--deny``, declared once.

Each is a typer ``Annotated`` alias (``cwd: CwdOption = None``) with the wording most
commands use. A command whose help says something more specific (``list`` checks the
folder exists, ``run --json`` prints one summary) builds its alias with the factory, so
the flag name, type and checks still come from here::

    ListCwdOption = Annotated[Path | None, cwd_option(LIST_HELP, must_exist=True)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "AddDirOption",
    "AllowOption",
    "CwdOption",
    "DenyOption",
    "JsonOption",
    "PluginDirOption",
    "add_dir_option",
    "allow_option",
    "cwd_option",
    "deny_option",
    "json_option",
    "plugin_dir_option",
]


def cwd_option(
    help: str = "Working directory (default: the current one).", *, must_exist: bool = False
) -> Any:
    """``--cwd DIR``; ``must_exist`` makes typer reject a missing folder or a file."""
    if must_exist:
        return typer.Option("--cwd", help=help, exists=True, file_okay=False)
    return typer.Option("--cwd", help=help)


def add_dir_option(help: str = "Extra folder searched for skills (repeatable).") -> Any:
    """``--add-dir DIR``, repeatable."""
    return typer.Option("--add-dir", help=help)


def plugin_dir_option(help: str = "Plugin folder, or folder of plugins (repeatable).") -> Any:
    """``--plugin-dir DIR``, repeatable."""
    return typer.Option("--plugin-dir", help=help)


def json_option(help: str = "Print JSON (a stable contract).") -> Any:
    """``--json``: machine-readable output instead of the Rich rendering."""
    return typer.Option("--json", help=help)


def allow_option(help: str = "Allow rule, e.g. 'Bash(git log:*)'.") -> Any:
    """``--allow RULE``, repeatable: a permission rule of the caller's."""
    return typer.Option("--allow", help=help)


def deny_option(help: str = "Deny rule.") -> Any:
    """``--deny RULE``, repeatable."""
    return typer.Option("--deny", help=help)


CwdOption = Annotated[Path | None, cwd_option()]
AddDirOption = Annotated[list[Path] | None, add_dir_option()]
PluginDirOption = Annotated[list[Path] | None, plugin_dir_option()]
JsonOption = Annotated[bool, json_option()]
AllowOption = Annotated[list[str] | None, allow_option()]
DenyOption = Annotated[list[str] | None, deny_option()]
