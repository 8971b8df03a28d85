"""`tickerwire import bars` and `tickerwire import events`: files into the store, with counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl
import typer

from pipelines import store
from pipelines.calendars import CALENDARS, check_calendar
from pipelines.commands import state
from pipelines.config import Config
from pipelines.sources.bar_files import read_bar_file
from pipelines.sources.event_files import read_event_file
from pipelines.store import Reject, UpsertResult


def import_bars(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV or Parquet with a time column and OHLCV or a price column."
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
    time_column: str | None = typer.Option(
        None, "--time-column", help="Name the time column if not detected."
    ),
    calendar: str | None = typer.Option(
        None,
        "--calendar",
        help=f"Trading calendar of the instrument ({', '.join(CALENDARS)}); sets it for a "
        "known one too. Default: the watchlist's, else 24/7 (with a warning when the bars never "
        "trade at weekends).",
    ),
) -> None:
    """Import OHLCV bars (or close-only Date,Price) from a CSV or Parquet file."""
    app = state(ctx)
    if calendar is not None:
        check_calendar(calendar)
    parsed = read_bar_file(
        file, instrument, timeframe, tz=tz, source=source, time_column=time_column
    )
    instrument_row = _instrument_row(app.config, instrument, source)
    if calendar is not None:
        instrument_row = instrument_row.with_columns(pl.lit(calendar).alias("calendar"))
    with store.writer(app.db_path) as st:
        run = st.start_run("import:bars")
        known = _known(st, instrument)
        created = (
            st.upsert("instruments", instrument_row, in_transaction=False) if not known else None
        )
        if known and calendar is not None:
            st.con.execute(
                "update instruments set calendar = ? where instrument_id = ?",
                [calendar, instrument],
            )
        stored_calendar = st.con.execute(
            "select calendar from instruments where instrument_id = ?", [instrument]
        ).fetchone()[0]
        results = store.commit_batch(
            st,
            f"import:bars:{source}",
            f"{instrument}/{timeframe}",
            {"bars": parsed.bars},
            rejects=parsed.rejects,
        )
        result = results["bars"]
        run.add(result)
        run.read = parsed.n_read
        run.rejected = len(parsed.rejects)
        run.details = {
            "file": str(file),
            "instrument": instrument,
            "timeframe": timeframe,
            "tz": tz,
        }
        st.finish_run(
            run, "ok" if result.stored or result.unchanged or not parsed.rejects else "partial"
        )
    cols = ", ".join(f"{k}←{v}" for k, v in parsed.columns_used.items())
    typer.echo(f"{file}: columns {cols}")
    for note in parsed.notes:
        typer.echo(note)
    if created is not None:
        typer.echo(f"created instrument {instrument} (calendar {stored_calendar})")
    warning = _calendar_warning(instrument, stored_calendar, parsed.bars, timeframe)
    if warning:
        typer.echo(warning)
    _report(parsed.n_read, result, parsed.rejects, unit="bars")


def _calendar_warning(instrument: str, cal: str, bars: pl.DataFrame, timeframe: str) -> str | None:
    """A warning line when an instrument counted as 24/7 shows no weekend trading at all (an
    exchange-traded one, whose closed hours a study would otherwise call stale)."""
    if cal != "24/7" or timeframe == "1d" or bars.height == 0:
        return None
    if bars["ts"].max() - bars["ts"].min() < timedelta(days=7):  # too short to have a weekend
        return None
    weekend = bars.select((pl.col("ts").dt.weekday() >= 6).sum()).item()
    if weekend:
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
    time_column: str | None = typer.Option(
        None, "--time-column", help="Name the time column if not detected."
    ),
    title_column: str | None = typer.Option(
        None, "--title-column", help="Name the title column if not detected."
    ),
    outlet: str | None = typer.Option(
        None, "--outlet", help="Outlet for rows without one (default: file name)."
    ),
    category: str | None = typer.Option(None, "--category", help="Category for rows without one."),
) -> None:
    """Import timestamped events (one row = one event with one report) from CSV or JSONL."""
    app = state(ctx)
    with store.writer(app.db_path) as st:
        known = {r[0] for r in st.con.execute("select instrument_id from instruments").fetchall()}
        known |= set(app.config.watchlist)
        parsed = read_event_file(
            file,
            tz=tz,
            time_column=time_column,
            title_column=title_column,
            outlet=outlet,
            category=category,
            known_instruments=known,
        )
        run = st.start_run("import:events")
        results = store.commit_batch(
            st,
            "import:events",
            str(file.name),
            {
                "events": parsed.events,
                "articles": parsed.articles,
                "event_articles": parsed.event_articles,
                "event_instruments": parsed.event_instruments,
            },
            rejects=parsed.rejects,
        )
        result = results["events"]
        run.add(result)
        run.read = parsed.n_read
        run.rejected = len(parsed.rejects)
        run.details = {"file": str(file), "tz": tz, "links": results["event_instruments"].stored}
        st.finish_run(run, "ok" if not parsed.rejects else "partial")
    typer.echo(f"{file}: columns {', '.join(f'{k}←{v}' for k, v in parsed.columns_used.items())}")
    for note in parsed.notes:
        typer.echo(note)
    if not parsed.notes:
        typer.echo(f"times carried their own zone; naive times would be taken as {tz}")
    _report(parsed.n_read, result, parsed.rejects, unit="events")


def _known(st: store.Store, instrument: str) -> bool:
    rows = st.con.execute(
        "select 1 from instruments where instrument_id = ?", [instrument]
    ).fetchall()
    return bool(rows)


def _instrument_row(config: Config, instrument: str, source: str) -> pl.DataFrame:
    """The instruments row for an unknown id: from the watchlist when listed there, else minimal."""
    entry = config.instrument(instrument)
    row = {
        "instrument_id": instrument,
        "display_name": entry.name if entry else instrument,
        "asset_class": entry.asset_class if entry else "other",
        "source": source,
        "market_symbol": entry.symbol if entry else None,
        "calendar": entry.calendar if entry else "24/7",
        "exchange_tz": entry.exchange_tz if entry else "UTC",
    }
    return pl.DataFrame([row])


def _report(n_read: int, result: UpsertResult, rejects: list[Reject], *, unit: str) -> None:
    present = result.unchanged + result.duplicates_in_batch
    typer.echo(
        f"read {n_read} rows: stored {result.stored} {unit} ({result.inserted} new, {result.updated} changed), "
        f"{present} already present, {len(rejects)} rejected"
    )
    if rejects:
        reasons = Counter(_reason_kind(r.reason) for r in rejects)
        for reason, count in reasons.most_common(8):
            typer.echo(f"  rejected {count}: {reason}")
        typer.echo("  (each rejected row is kept in the `rejects` table with its raw text)")


def _reason_kind(reason: str) -> str:
    # Group "unparseable time: abc" and "unparseable time: xyz" under one line.
    return reason.split(": ", 1)[0]


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `import bars` and `import events`."""
    groups["import"].command("bars")(import_bars)
    groups["import"].command("events")(import_events)
