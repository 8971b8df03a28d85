"""Operations commands: refresh, schedule, health, export, retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import typer

from pipelines.commands import FormatOpt, emit_frame, state


def refresh(
    ctx: typer.Context,
    only: str | None = typer.Option(
        None, "--only", help="Only these kinds: prices, quotes, news (comma separated)."
    ),
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Only this registered source (repeatable), e.g. ccxt."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print each commit as it happens."),
    fmt: FormatOpt = "table",
) -> None:
    """Fetch every configured source incrementally; exit 0 ok, 2 partial, 1 nothing succeeded, 3 locked."""
    # Imported here, not at the module top, so the CLI starts without loading the sources.
    from pipelines.errors import RefreshLocked
    from pipelines.refresh import EXIT_LOCKED, EXIT_NOTHING, run_refresh
    from pipelines.scheduler import install_stop_handlers

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
    if app.lake and summary.exit_code != EXIT_NOTHING:  # --lake / [store] lake: keep it current
        from pipelines.export import append_to_lake

        typer.echo(append_to_lake(app.db_path, app.lake), err=True)
    if summary.exit_code == EXIT_NOTHING:
        offline = all(
            "no network" in e or "cannot connect" in e or "DNS" in e
            for o in summary.outcomes
            for e in o.errors
        )
        hint = " — the network looks unreachable" if offline else ""
        typer.secho(
            f"error: no source succeeded{hint} (see the message column)",
            fg=typer.colors.RED,
            err=True,
        )
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
    stream: bool = typer.Option(
        False,
        "--stream",
        help="Also stream crypto quotes over the venues' websockets ([stream] in the config).",
    ),
) -> None:
    """Refresh on the schedule in the config (quotes 1m, prices 5m, news 2m) until SIGTERM/SIGINT."""
    from pipelines.scheduler import install_stop_handlers, run_schedule
    from pipelines.sources.ccxt_stream import start_stream_if_enabled

    app = state(ctx)
    stop = threading.Event()

    def report(msg: str) -> None:
        typer.echo(msg)

    install_stop_handlers(stop, report)
    report(
        f"{datetime.now(UTC).isoformat(timespec='seconds')} scheduling refreshes of {app.db_path}"
    )
    streaming = start_stream_if_enabled(app.db_path, app.config, stream, report)
    try:
        done = run_schedule(
            app.db_path,
            app.config,
            stop=stop,
            report=report,
            max_rounds=rounds,
            names=source or None,
        )
    finally:
        if streaming is not None:
            streaming.stop()
    report(f"scheduler stopped after {done} round(s)")


def show_freshness(frame: pl.DataFrame, fmt: str = "table", only_stale: bool = False) -> int:
    """Print a freshness report (health.freshness); returns how many are stale."""
    stale = frame.filter(pl.col("stale"))
    shown = stale if only_stale else frame
    if fmt == "table":
        typer.echo(f"freshness: {stale.height} stale of {frame.height} sources and instruments")
        shown = shown.select("kind", "name", "last_at", "age_minutes", "open_minutes",
                             "max_age_minutes", "stale", "reason")  # fmt: skip
    emit_frame(shown, fmt)
    return stale.height


def health_cmd(
    ctx: typer.Context,
    fmt: FormatOpt = "table",
    check: bool = typer.Option(
        False, "--check", help="Exit 1 when anything is stale (or, with --keys, a key repeats)."
    ),
    keys: bool = typer.Option(
        False,
        "--keys",
        help="Also check that no bar key repeats: one full pass over bars (~2 s per 10M bars).",
    ),
) -> None:
    """Source health (last runs, failures in a row) and freshness of sources and instruments."""
    from pipelines import health, store

    app = state(ctx)
    config = app.config  # a bad [freshness] / [schedule] is reported before anything is read
    with store.reader(app.db_path) as con:
        sources = health.source_health(con)
        fresh = health.freshness(con, config, sources=sources)
        running = health.running_runs(con)
        # Opt-in: the check groups every bar by its key, too slow for a per-minute monitor.
        duplicates = (
            {t: store.duplicate_keys(con, t) for t in store.UNENFORCED_KEYS} if keys else {}
        )
    broken = {t: n for t, n in duplicates.items() if n}
    for table, n in broken.items():
        # only a hand-made INSERT can do this: the pipelines write through Store.upsert
        typer.echo(f"{table}: {n:,} rows repeat a key; keep one per key (see README, Data model)")
    if keys and not broken and fmt == "table":
        typer.echo(f"keys: no repeated key in {', '.join(duplicates)}")
    if fmt == "table":
        typer.echo("sources:")
        emit_frame(sources.drop("kinds"), fmt)
        typer.echo("")
    else:
        emit_frame(sources, fmt)
    if fmt == "table" and running.height:
        typer.echo("runs still running (an owner that is gone is closed by the next writer):")
        emit_frame(running, fmt)
        typer.echo("")
    n_stale = show_freshness(fresh, fmt)
    if check and (n_stale or broken):
        raise typer.Exit(1)


def export_cmd(
    ctx: typer.Context,
    to: Path = typer.Option(..., "--to", help="Destination directory (created if missing)."),
    fmt: str = typer.Option("parquet", "--format", "-f", help="File format: parquet."),
) -> None:
    """Export the tables to Hive-partitioned Parquet (bars by instrument_id/year/month)."""
    from pipelines import export, store

    app = state(ctx)
    with store.reader(app.db_path) as con:
        frame = export.export(con, to, fmt)
    emit_frame(frame.select("table", "rows", "files"), "table")
    typer.echo(f'wrote {to}/ (read it back: duckdb -c ".read {to}/load.sql" or see _manifest.json)')


def retention_cmd(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would change."),
    force: bool = typer.Option(
        False, "--force", help="Run even though [retention] enabled = false."
    ),
) -> None:
    """Roll bars older than the retention after_days up from 1m to 1h, then CHECKPOINT."""
    from pipelines import retention, store
    from pipelines.errors import RefreshLocked
    from pipelines.refresh import EXIT_LOCKED

    app = state(ctx)
    policy = retention.RetentionPolicy.from_config(app.config)
    now = datetime.now(UTC)
    if dry_run:
        with store.reader(app.db_path) as con:
            result = retention.plan(con, policy, now)
    else:
        if not policy.enabled and not force:
            typer.echo("retention is off ([retention] enabled = false); use --force to run it once")
            raise typer.Exit(0)
        try:
            with store.writing(app.db_path, "retention") as writer:
                result = retention.apply(writer, policy, now)
        except RefreshLocked as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(EXIT_LOCKED) from None
    verb = "would roll" if result.dry_run else "rolled"
    typer.echo(
        f"{verb} {result.fine_bars} {policy.from_tf} bars older than {result.cutoff.isoformat()} "
        f"into {result.buckets_written} {policy.to_tf} bars ({result.buckets_kept} {policy.to_tf} bars already there kept)"
    )


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the operations commands to the CLI."""
    app.command()(refresh)
    app.command()(schedule)
    app.command("health")(health_cmd)
    app.command("export")(export_cmd)
    app.command("retention")(retention_cmd)
