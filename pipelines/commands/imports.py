"""`tickerwire import bars` and `tickerwire import events`: files into the store, with counts."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import typer

from pipelines.calendars import CALENDARS
from pipelines.commands import DayfirstOpt, TimeColumnOpt, state
from pipelines.file_imports import BarsImport, import_bars_file, import_events_file
from pipelines.sources.file_reading import BarReading, EventReading
from pipelines.store import Reject, UpsertResult


def import_bars(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV, Parquet or Arrow/Feather with a time column and OHLCV or a price column."
    ),
    instrument: str = typer.Option(
        ..., "--instrument", "-i", help="Instrument id, e.g. BTC (created if unknown)."
    ),
    timeframe: str = typer.Option(
        ..., "--timeframe", "-t", help="Bar size: 1m 2m 5m 15m 30m 1h 4h 1d."
    ),
    tz: str = typer.Option(
        "UTC", "--tz", help="Zone of naive times: IANA name or offset like +02:00."
    ),
    source: str = typer.Option("file", "--source", help="Source name stored with each bar."),
    time_column: TimeColumnOpt = None,
    dayfirst: DayfirstOpt = None,
    calendar: str | None = typer.Option(
        None,
        "--calendar",
        help=f"Trading calendar of the instrument ({', '.join(CALENDARS)}); sets it for a "
        "known one too. Default: the watchlist's, else 24/7 (with a warning when the bars never "
        "trade at weekends).",
    ),
) -> None:
    """Import OHLCV bars (or close-only Date,Price) from a CSV, Parquet or Arrow/Feather file."""
    app = state(ctx)
    done = import_bars_file(
        app.config,
        app.db_path,
        file,
        instrument,
        timeframe,
        BarReading(tz=tz, source=source, time_column=time_column, dayfirst=dayfirst),
        calendar=calendar,
    )
    cols = ", ".join(f"{k}←{v}" for k, v in done.columns_used.items())
    typer.echo(f"{file}: columns {cols}")
    for note in done.notes:
        typer.echo(note)
    if done.created:
        typer.echo(f"created instrument {instrument} (calendar {done.calendar})")
    warning = _calendar_warning(instrument, done, timeframe)
    if warning:
        typer.echo(warning)
    _report(done.n_read, done.result, done.rejects, unit="bars")


def _calendar_warning(instrument: str, done: BarsImport, timeframe: str) -> str | None:
    """A warning line when an instrument counted as 24/7 shows no weekend trading at all (an
    exchange-traded one, whose closed hours a study would otherwise call stale)."""
    if done.calendar != "24/7" or timeframe == "1d" or done.first_ts is None:
        return None
    if done.last_ts - done.first_ts < timedelta(days=7):  # too short to have a weekend
        return None
    if done.weekend_bars:
        return None
    return (
        f"warning: {instrument} has calendar 24/7 but none of its bars fall on a weekend; if it "
        f"trades on an exchange, re-import with --calendar ({', '.join(CALENDARS)})"
    )


def import_events(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or JSONL with at least a time and a title column."),
    tz: str = typer.Option(
        "UTC", "--tz", help="Zone of naive times: IANA name or offset like +02:00."
    ),
    time_column: TimeColumnOpt = None,
    title_column: str | None = typer.Option(
        None, "--title-column", help="Name the title column if not detected."
    ),
    outlet: str | None = typer.Option(
        None, "--outlet", help="Outlet for rows without one (default: none)."
    ),
    category: str | None = typer.Option(None, "--category", help="Category for rows without one."),
    dayfirst: DayfirstOpt = None,
) -> None:
    """Import timestamped events (one row = one event with one report) from CSV or JSONL."""
    app = state(ctx)
    done = import_events_file(
        app.config,
        app.db_path,
        file,
        EventReading(tz, time_column, title_column, outlet, category, dayfirst),
    )
    parsed = done.parsed
    typer.echo(f"{file}: columns {', '.join(f'{k}←{v}' for k, v in parsed.columns_used.items())}")
    for note in parsed.notes:
        typer.echo(note)
    if not parsed.notes:
        typer.echo(f"times carried their own zone; naive times would be taken as {tz}")
    _report(parsed.n_read, done.results["events"], parsed.rejects, unit="events")


def _report(n_read: int, result: UpsertResult, rejects: list[Reject], *, unit: str) -> None:
    present = result.unchanged + result.duplicates_in_batch
    typer.echo(
        f"read {n_read} rows: stored {result.stored} {unit} ({result.inserted} new, {result.updated} changed), "
        f"{present} already present, {len(rejects)} rejected"
    )
    if rejects:
        reasons = Counter(_reason_kind(r.reason) for r in rejects)
        rows: dict[str, list[str]] = {}
        for r in rejects:
            found = _ROW.match(r.raw)
            if found:
                rows.setdefault(_reason_kind(r.reason), []).append(found.group(1))
        for reason, count in reasons.most_common(8):
            where = rows.get(reason, [])
            more = " …" if len(where) > 5 else ""
            at = f" (rows {', '.join(where[:5])}{more})" if where else ""
            typer.echo(f"  rejected {count}: {reason}{at}")
        typer.echo("  (each rejected row is kept in the `rejects` table with its raw text)")


_ROW = re.compile(r"(?:row|line) (\d+): ")


def _reason_kind(reason: str) -> str:
    # Group "unparseable time: abc" and "unparseable time: xyz" under one line.
    return reason.split(": ", 1)[0]


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `import bars` and `import events`."""
    groups["import"].command("bars")(import_bars)
    groups["import"].command("events")(import_events)
