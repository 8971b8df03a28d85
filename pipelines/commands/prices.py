"""`tickerwire import strip` and `tickerwire backfill`: ticker-strip snapshots and historical bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import typer

from pipelines import store
from pipelines.backfill import backfill
from pipelines.commands import emit_frame, state
from pipelines.errors import DataError
from pipelines.file_imports import import_strip_file
from pipelines.schemas import timeframe_params

# ---------------------------------------------------------------------------- import strip


def import_strip(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A captured page (text or HTML) holding a ticker strip."),
    day: str | None = typer.Option(
        None,
        "--date",
        help="UTC date of the capture (YYYY-MM-DD); default: dated from the stored bars.",
    ),
    outlet: str | None = typer.Option(
        None, "--outlet", help="Name of the site the strip came from (default: the file name)."
    ),
) -> None:
    """Import a ticker-strip snapshot (SYMBOL$PRICE▲ PCT% … Prices as of HH:MM UTC) as quotes."""
    app = state(ctx)
    done = import_strip_file(app.config, app.db_path, file, day=day, outlet=outlet)
    r = done.result
    typer.echo(
        f"{file}: {len(r.quotes)} quotes as of {r.as_of:%Y-%m-%d %H:%M} UTC, source {done.source}"
    )
    typer.echo(f"  date: {done.day_note}")
    if done.dating is not None:
        for row in done.dating.detail.drop_nulls("bar_close").iter_rows(named=True):
            typer.echo(
                f"    {row['instrument_id']}: strip {row['strip_price']:g}, bars {row['bar_close']:g} "
                f"(closed {row['bar_close_at']:%Y-%m-%d %H:%M}), {row['diff_pct']:+.3f} %"
            )
    typer.echo(
        f"  read {r.n_items} items (marquee repeats collapsed); stored {done.upsert.inserted} new, "
        f"{done.upsert.updated} changed, {done.upsert.unchanged} already present"
    )
    if done.dating is None:
        days = max(1, (datetime.now(UTC) - r.as_of).days + 1)
        typer.echo(f"  compare with the stored bars: tickerwire status --quotes --days {days}")
    if r.outside_watchlist:
        typer.echo(f"  outside the watchlist (kept): {', '.join(r.outside_watchlist)}")
    if done.rejected:
        typer.echo(f"  rejected: {done.rejected} (see the rejects table, source {done.source})")
        for rej in r.rejects[:5]:
            typer.echo(f"    {rej.reason}")


# ---------------------------------------------------------------------------- backfill


def parse_instant(text: str, name: str) -> datetime:
    """A --since/--until value (YYYY-MM-DD or ISO date-time) as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"--{name} {text!r} is not a date (YYYY-MM-DD) or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def backfill_command(
    ctx: typer.Context,
    instrument: str = typer.Option(
        ..., "--instrument", "-i", help="Watchlist id, e.g. BTC or XAU."
    ),
    timeframe: str = typer.Option(
        ..., "--timeframe", "-t", help="Bar size: 1m 5m 15m 30m 1h 4h 1d."
    ),
    since: str = typer.Option(..., "--since", help="Start (UTC), YYYY-MM-DD or ISO date-time."),
    until: str | None = typer.Option(None, "--until", help="End (UTC, exclusive); default now."),
) -> None:
    """Fetch a past range of bars for one instrument from its price source and store it."""
    app = state(ctx)
    res = backfill(
        app.config,
        app.db_path,
        instrument,
        timeframe,
        parse_instant(since, "since"),
        parse_instant(until, "until") if until else None,
    )
    span = (
        f"{res.first:%Y-%m-%d %H:%M} → {res.last:%Y-%m-%d %H:%M} UTC"
        if res.first
        else "no complete bars"
    )
    typer.echo(
        f"{res.instrument}/{res.timeframe} from {res.where}: {res.upsert.read} bars ({span}); "
        f"stored {res.upsert.inserted} new, {res.upsert.updated} changed, "
        f"{res.upsert.unchanged} already present; rejected {res.rejected}"
    )


# ---------------------------------------------------------------------------- status extras


def gaps_report(con: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Missing bar ranges since `since` (slots when the market was closed do not count)."""
    return store.query_frame(con, store.load_sql("prices_gaps"), timeframe_params(since))


def strip_vs_exchange(con: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Each strip quote since `since` beside the exchange bar close at that instant, diff in %."""
    from pipelines.analytics.reaction import STALE_BARS

    params = {**timeframe_params(since), "stale_bars": STALE_BARS}
    return store.query_frame(con, store.load_sql("prices_strip_vs_exchange"), params)


def status_extras(db_path: Path, fmt: str, *, gaps: bool, quotes: bool, days: int) -> None:
    """Print `status --gaps` / `status --quotes` tables for the last `days` days."""
    since = datetime.now(UTC) - timedelta(days=days)
    with store.reader(db_path) as con:
        if gaps:
            frame = gaps_report(con, since)
            if fmt == "table":
                typer.echo(
                    f"missing bar ranges since {since:%Y-%m-%d %H:%M} UTC (closed sessions are not gaps):"
                )
            emit_frame(frame, fmt)
        if quotes:
            frame = strip_vs_exchange(con, since)
            if fmt == "table":
                typer.echo(
                    f"strip quotes since {since:%Y-%m-%d %H:%M} UTC vs the exchange close at the same "
                    "instant (diff_pct = strip / exchange − 1, in %; fresh = bar closed ≤ 2 bars before):"
                )
            emit_frame(frame, fmt)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `import strip` and `backfill` to the CLI."""
    groups["import"].command("strip")(import_strip)
    app.command("backfill")(backfill_command)
