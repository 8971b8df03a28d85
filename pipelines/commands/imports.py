"""`tickerwire import bars` and `tickerwire import events`: files into the store, with counts."""

from __future__ import annotations

import contextlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import typer

from pipelines import store
from pipelines.calendars import CALENDARS, check_calendar
from pipelines.commands import state
from pipelines.config import Config
from pipelines.store import Reject, UpsertResult

if TYPE_CHECKING:
    from pipelines.sources.event_files import EventFile


@dataclass
class BarsImport:
    """What importing one price file did: columns and notes, rows read, rejects, the upsert."""

    columns_used: dict[str, str]
    notes: list[str]
    n_read: int
    rejects: list[Reject]
    result: UpsertResult
    created: bool
    calendar: str = "24/7"  # the instrument's calendar after the import
    first_ts: datetime | None = None  # the span of the bars read, and how many fall on weekends
    last_ts: datetime | None = None
    weekend_bars: int = 0


def import_bars_file(
    config: Config,
    db_path: Path,
    file: Path,
    instrument: str,
    timeframe: str,
    *,
    tz: str = "UTC",
    source: str = "file",
    time_column: str | None = None,
    dayfirst: bool | None = None,
    calendar: str | None = None,
) -> BarsImport:
    """Read a price file in bounded chunks and store its bars (creating the instrument if unknown)."""
    from pipelines.sources.bar_files import iter_bar_file  # pyarrow: loaded when a file is read

    if calendar is not None:
        check_calendar(calendar)

    # Each chunk is one batch (rows + rejects in one transaction), so a file of any size imports
    # in bounded memory and an interrupted import resumes by re-running.
    chunks = iter_bar_file(
        file,
        instrument,
        timeframe,
        tz=tz,
        source=source,
        time_column=time_column,
        dayfirst=dayfirst,
    )
    first = next(chunks)  # the first chunk is checked before the store is opened
    instrument_row = _instrument_row(config, instrument, source)
    if calendar is not None:
        instrument_row = instrument_row.with_columns(pl.lit(calendar).alias("calendar"))
    result = UpsertResult(table="bars")
    span: list[datetime] = []
    weekend = 0
    rejects: list[Reject] = []
    notes: list[str] = []
    n_read = 0
    # closing(): the file reader stops at once on an error, not at interpreter exit.
    with contextlib.closing(chunks), store.writing(db_path, "import bars") as st:
        run = st.start_run("import:bars")
        created = not _known(st, instrument)
        if created:
            st.upsert("instruments", instrument_row, in_transaction=False)
        elif calendar is not None:
            st.con.execute(
                "update instruments set calendar = ? where instrument_id = ?",
                [calendar, instrument],
            )
        stored_calendar = st.con.execute(
            "select calendar from instruments where instrument_id = ?", [instrument]
        ).fetchone()[0]
        for chunk in itertools.chain([first], chunks):
            results = store.commit_batch(
                st,
                f"import:bars:{source}",
                f"{instrument}/{timeframe}",
                {"bars": chunk.bars},
                rejects=chunk.rejects,
            )
            result += results["bars"]
            rejects += chunk.rejects
            n_read += chunk.n_read
            notes = chunk.notes  # the last chunk's notes cover the whole file
            if chunk.bars.height:
                span += [chunk.bars["ts"].min(), chunk.bars["ts"].max()]
                weekend += chunk.bars.select((pl.col("ts").dt.weekday() >= 6).sum()).item()
        run.add(result)
        run.read = n_read
        run.rejected = len(rejects)
        run.details = {
            "file": str(file),
            "instrument": instrument,
            "timeframe": timeframe,
            "tz": tz,
        }
        st.finish_run(run, "ok" if result.stored or result.unchanged or not rejects else "partial")
    return BarsImport(
        first.columns_used,
        notes,
        n_read,
        rejects,
        result,
        created,
        stored_calendar,
        min(span) if span else None,
        max(span) if span else None,
        weekend,
    )


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
    time_column: str | None = typer.Option(
        None, "--time-column", help="Name the time column if not detected."
    ),
    dayfirst: bool | None = typer.Option(
        None,
        "--dayfirst/--monthfirst",
        help="Order of numeric dates like 03-05-2025 (refused as ambiguous unless stated).",
    ),
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
        tz=tz,
        source=source,
        time_column=time_column,
        dayfirst=dayfirst,
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


@dataclass
class EventsImport:
    """What importing one event file did: the parsed file and the upsert of each table."""

    parsed: EventFile
    results: dict[str, UpsertResult]


def import_events_file(
    config: Config,
    db_path: Path,
    file: Path,
    *,
    tz: str = "UTC",
    time_column: str | None = None,
    title_column: str | None = None,
    outlet: str | None = None,
    category: str | None = None,
    dayfirst: bool | None = None,
) -> EventsImport:
    """Read an event file and store its events, reports and instrument links."""
    from pipelines.sources.event_files import read_event_file

    with store.writing(db_path, "import events") as st:
        known = {r[0] for r in st.con.execute("select instrument_id from instruments").fetchall()}
        known |= set(config.watchlist)
        parsed = read_event_file(
            file,
            tz=tz,
            time_column=time_column,
            title_column=title_column,
            outlet=outlet,
            category=category,
            dayfirst=dayfirst,
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
        run.add(results["events"])
        run.read = parsed.n_read
        run.rejected = len(parsed.rejects)
        run.details = {"file": str(file), "tz": tz, "links": results["event_instruments"].stored}
        st.finish_run(run, "ok" if not parsed.rejects else "partial")
    return EventsImport(parsed, results)


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
        None, "--outlet", help="Outlet for rows without one (default: none)."
    ),
    category: str | None = typer.Option(None, "--category", help="Category for rows without one."),
    dayfirst: bool | None = typer.Option(
        None,
        "--dayfirst/--monthfirst",
        help="Order of numeric dates like 03-05-2025 (refused as ambiguous unless stated).",
    ),
) -> None:
    """Import timestamped events (one row = one event with one report) from CSV or JSONL."""
    app = state(ctx)
    done = import_events_file(
        app.config,
        app.db_path,
        file,
        tz=tz,
        time_column=time_column,
        title_column=title_column,
        outlet=outlet,
        category=category,
        dayfirst=dayfirst,
    )
    parsed = done.parsed
    typer.echo(f"{file}: columns {', '.join(f'{k}←{v}' for k, v in parsed.columns_used.items())}")
    for note in parsed.notes:
        typer.echo(note)
    if not parsed.notes:
        typer.echo(f"times carried their own zone; naive times would be taken as {tz}")
    _report(parsed.n_read, done.results["events"], parsed.rejects, unit="events")


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
