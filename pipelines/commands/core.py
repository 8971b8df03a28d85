"""Core commands: init, sql, status, dashboard."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import typer

from pipelines import store, views
from pipelines.commands import FormatOpt, emit_frame, state
from pipelines.errors import DataError, StoreError, first_line
from pipelines.paths import REPO_ROOT


def init(ctx: typer.Context) -> None:
    """Create the database file (if needed) and apply any pending migrations."""
    db = state(ctx).db_path
    with store.writing(db, "init", migrate=False) as writer:
        applied = writer.migrate()
    if applied:
        typer.echo(f"{db}: applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        typer.echo(f"{db}: up to date, no migration pending")


def sql(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="SQL to run (read-only connection)."),
    fmt: FormatOpt = "table",
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Run a read-only SQL query against the database (or the lake, with --lake)."""
    db = state(ctx).read_from
    with store.reader(db) as con:
        try:
            frame = store.query_frame(con, query)
        except duckdb.Error as exc:
            raise DataError(f"query failed: {first_line(exc)}") from exc
    emit_frame(frame, fmt, out)


def status(
    ctx: typer.Context,
    fmt: FormatOpt = "table",
    gaps: bool = typer.Option(
        False, "--gaps", help="List missing bar ranges (closed sessions are not gaps)."
    ),
    quotes: bool = typer.Option(
        False, "--quotes", help="Strip quotes vs the exchange bar close at that instant, in %."
    ),
    days: int = typer.Option(7, "--days", help="How far back --gaps/--quotes look."),
    stale: bool = typer.Option(
        False,
        "--stale",
        help="Only stale sources and instruments (per cadence and trading session).",
    ),
) -> None:
    """Per instrument and timeframe: rows, first/last bar, last run (or --gaps / --quotes / --stale)."""
    db = state(ctx).read_from
    if stale:
        from pipelines import health
        from pipelines.commands.ops import show_freshness

        with store.reader(db) as con:
            fresh = health.freshness(con, state(ctx).config)
        show_freshness(fresh, fmt, only_stale=True)
        return
    if gaps or quotes:
        from pipelines.commands.prices import status_extras

        status_extras(db, fmt, gaps=gaps, quotes=quotes, days=days)
        return
    with store.reader(db) as con:
        frame = store.query_frame(con, store.load_sql("queries/prices_status_bars"))
        runs = store.query_frame(con, store.load_sql("queries/ops_latest_runs"))
        behind = views.update_note(con)
    typer.echo(f"database: {db}")
    if behind:  # on stderr: --format csv/json output stays data only
        typer.echo(f"note: {behind}", err=True)
    emit_frame(frame, fmt)
    if fmt == "table":
        typer.echo("\nlast run per source:")
        emit_frame(runs, fmt)


def dashboard(
    ctx: typer.Context,
    port: int = typer.Option(8501, help="Port to serve on (localhost)."),
    headless: bool = typer.Option(True, help="Do not try to open a browser."),
) -> None:
    """Serve the Streamlit dashboard on localhost (read-only on the database)."""
    db = state(ctx).read_from
    lake = state(ctx).lake
    if lake is None and not Path(db).exists():
        raise StoreError(
            f"database {db} does not exist; run `tickerwire demo` or `tickerwire refresh` first"
        )
    app = Path(__file__).resolve().parent.parent.parent / "dashboard" / "app.py"
    env = dict(os.environ, TICKERWIRE_DB=str(Path(state(ctx).db_path).resolve()))
    if lake is not None:  # the dashboard's one door (dashboard/data.py) reads the lake instead
        env["TICKERWIRE_LAKE"] = lake if "://" in lake else str(Path(lake).resolve())
    if state(ctx).config_path is not None:  # --config: the pages read it too ([dashboard] …)
        env["TICKERWIRE_CONFIG"] = str(Path(state(ctx).config_path).resolve())
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port), "--server.address", "localhost",
        "--server.headless", "true" if headless else "false",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    typer.echo(f"serving {db} on http://localhost:{port}  (Ctrl-C to stop)")
    sys.stdout.flush()
    # Become the Streamlit server (exec, not a child) so SIGTERM/Ctrl-C reach it and stop it;
    # a child would keep the port after its parent was terminated.
    os.chdir(REPO_ROOT)  # .streamlit/config.toml is read from the working directory
    os.execve(sys.executable, cmd, env)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the core commands to the CLI."""
    app.command()(init)
    app.command()(sql)
    app.command()(status)
    app.command()(dashboard)
