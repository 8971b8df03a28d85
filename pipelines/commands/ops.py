"""Operations commands: refresh, schedule, health, export, retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import typer

from pipelines.commands import FORMATS, emit_frame, state
from pipelines.refresh import EXIT_LOCKED, RefreshLocked, run_refresh
from pipelines.scheduler import install_stop_handlers, run_schedule


def refresh(
    ctx: typer.Context,
    only: str | None = typer.Option(
        None, "--only", help="Only these kinds: prices, quotes, news (comma separated)."
    ),
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Only this registered source (repeatable), e.g. ccxt."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print each commit as it happens."),
    fmt: str = typer.Option(
        "table", "--format", "-f", help=f"Summary format: {', '.join(FORMATS)}."
    ),
) -> None:
    """Fetch every configured source incrementally; exit 0 ok, 2 partial, 1 nothing succeeded, 3 locked."""
    app = state(ctx)
    stop = threading.Event()
    install_stop_handlers(stop, lambda msg: typer.echo(msg, err=True))
    try:
        summary = run_refresh(
            app.db_path,
            app.config,
            only,
            stop=stop,
            progress=typer.echo if verbose else None,
            names=source or None,
        )
    except RefreshLocked as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_LOCKED) from None
    for notice in summary.notices:
        # Sources that are off by design (no endpoint or key configured) only show with -v.
        if verbose or ": off, " not in notice:
            typer.echo(f"note: {notice}", err=True)
    if summary.outcomes or fmt != "table":
        emit_frame(summary.frame(), fmt)
    else:
        typer.echo("no source ran: none is registered for these kinds or set up (-v shows why)")
    if summary.stopped:
        typer.echo("stopped by a signal after the current commit", err=True)
    raise typer.Exit(summary.exit_code)


def schedule(
    ctx: typer.Context,
    rounds: int | None = typer.Option(
        None,
        "--rounds",
        help="Stop after this many scheduler wake-ups (default: run until stopped).",
    ),
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Only this registered source (repeatable)."
    ),
) -> None:
    """Refresh on the config's [schedule] (quotes 1m, prices 5m, news 2m) until SIGTERM/SIGINT."""
    app = state(ctx)
    stop = threading.Event()

    def report(msg: str) -> None:
        typer.echo(msg)

    install_stop_handlers(stop, report)
    report(
        f"{datetime.now(UTC).isoformat(timespec='seconds')} scheduling refreshes of {app.db_path}"
    )
    done = run_schedule(
        app.db_path, app.config, stop=stop, report=report, max_rounds=rounds, names=source or None
    )
    report(f"scheduler stopped after {done} round(s)")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the operations commands to the CLI."""
    app.command()(refresh)
    app.command()(schedule)
