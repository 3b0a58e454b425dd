"""The ``skilld`` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from skilld.cli import engine, expand, listing, run, serve, skills, validate

__all__ = ["app", "main"]

app = typer.Typer(
    name="skilld",
    help="Agent Skills runtime and task engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Agent Skills runtime and task engine."""


@app.command("version")
def version() -> None:
    """Print skilld's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("skilld"))


for _module in (skills, validate, expand, listing, run, engine, serve):
    _module.register(app)


def main() -> None:
    app()
