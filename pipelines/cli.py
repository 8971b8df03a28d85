"""The command line (Typer). Commands live in pipelines/commands/, one module per area."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import typer

from pipelines import commands
from pipelines.commands import AppState
from pipelines.errors import TickerwireError

app = typer.Typer(
    name="tickerwire",
    help="What did the market do when this news broke? Prices and news in DuckDB, event studies, a dashboard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain Click help and usage errors: Rich's boxes cost ~60 ms of imports on every start-up
    # (a third of the whole budget) and do not paste cleanly into issues and notes.
    rich_markup_mode=None,
)

# Command groups shared by several areas: each area's module adds its sub-commands to them.
GROUPS: dict[str, typer.Typer] = {
    "import": typer.Typer(
        help="Import prices, events, articles or a ticker strip from files.", no_args_is_help=True
    ),
    "events": typer.Typer(
        help="Work with the event registry (add manual events, list).", no_args_is_help=True
    ),
}


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Path | None = typer.Option(
        None, "--db", envvar="TICKERWIRE_DB", help="Database file (default data/tickerwire.duckdb)."
    ),
    lake: str | None = typer.Option(
        None,
        "--lake",
        envvar="TICKERWIRE_LAKE",
        help="Read from this Parquet lake (a folder or s3://… URL written by `export`) instead "
        "of the database: study, sql, status, dashboard. Default: [store] lake.",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="TICKERWIRE_CONFIG",
        help="Config file (default ./tickerwire.toml).",
    ),
) -> None:
    """Global options shared by every command."""
    ctx.obj = AppState(db_override=db, config_path=config, lake_override=lake)


def _register_commands() -> None:
    # Every module in pipelines/commands/ registers its own commands: adding an area is one file.
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app, GROUPS)
    for name, group in GROUPS.items():
        app.add_typer(group, name=name)


_register_commands()


def main() -> None:
    """Entry point: run the CLI; a TickerwireError becomes one line on stderr and exit code 1."""
    try:
        app()  # standalone mode: usage errors print themselves and exit 2
    except TickerwireError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
