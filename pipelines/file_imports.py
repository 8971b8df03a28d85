"""Files into the store: the imports the CLI, the demo and the Python facade share.

Each reads its file first (bad rows become rejects), then writes through `store.writing`
in one session, logged as one `import:*` run. The CLI commands in `pipelines/commands/` only
parse options and print what these return.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines import store
from pipelines.calendars import check_calendar
from pipelines.config import Config
from pipelines.errors import DataError
from pipelines.schemas import Reject, timeframe_params, validate_quotes
from pipelines.sources.file_reading import BarReading, EventReading
from pipelines.sources.strip import StripResult, find_as_of, page_text, parse_strip
from pipelines.store import UpsertResult
from pipelines.strip_dating import StripDating, date_strip

if TYPE_CHECKING:
    from pipelines.sources.bar_files import BarFile
    from pipelines.sources.event_files import EventFile


def commit_as_run(
    writer: store.Store,
    run_source: str,
    batch: tuple[str, str, dict[str, pl.DataFrame]],
    *,
    rejects: list[Reject],
    counted: str,
    details: dict[str, Any] | Callable[[dict[str, UpsertResult]], dict[str, Any]],
    read: int | None = None,
    status: str | None = None,
) -> dict[str, UpsertResult]:
    """Commit one batch (source, key, frames) as a run of its own: open it, fold the counts of
    table `counted` and the rejects in, close it with `status` (default: from the errors).
    `details` may be a function of the upsert results, for details known only after the commit."""
    run = writer.start_run(run_source)
    source, key, frames = batch
    results = store.commit_batch(writer, source, key, frames, rejects=rejects)
    run.add(results[counted])
    if read is not None:
        run.read = read
    run.rejected = len(rejects)
    run.details = details(results) if callable(details) else details
    writer.finish_run(run, status)
    return results


# ---------------------------------------------------------------------------- bars


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

    def fold(self, chunk: BarFile, result: UpsertResult) -> None:
        """Add one committed chunk of the file to the totals."""
        self.result += result
        self.rejects += chunk.rejects
        self.n_read += chunk.n_read
        self.notes = chunk.notes  # the last chunk's notes cover the whole file
        bars = chunk.bars
        if bars.height:
            lo, hi = bars["ts"].min(), bars["ts"].max()
            self.first_ts = lo if self.first_ts is None else min(self.first_ts, lo)
            self.last_ts = hi if self.last_ts is None else max(self.last_ts, hi)
            self.weekend_bars += bars.select((pl.col("ts").dt.weekday() >= 6).sum()).item()


def import_bars_file(
    config: Config,
    db_path: Path,
    file: Path,
    instrument: str,
    timeframe: str,
    reading: BarReading = BarReading(),
    *,
    calendar: str | None = None,
) -> BarsImport:
    """Read a price file in bounded chunks and store its bars (creating the instrument if unknown)."""
    from pipelines.sources.bar_files import iter_bar_file  # pyarrow: loaded when a file is read

    if calendar is not None:
        check_calendar(calendar)
    # Each chunk is one batch (rows + rejects in one transaction), so a file of any size imports
    # in bounded memory and an interrupted import resumes by re-running.
    chunks = iter_bar_file(file, instrument, timeframe, reading)
    source = reading.source
    first = next(chunks)  # the first chunk is checked before the store is opened
    # closing(): the file reader stops at once on an error, not at interpreter exit.
    with contextlib.closing(chunks), store.writing(db_path, "import bars") as writer:
        run = writer.start_run("import:bars")
        created, stored_calendar = _ensure_instrument(writer, config, instrument, source, calendar)
        done = BarsImport(
            first.columns_used, [], 0, [], UpsertResult(table="bars"), created, stored_calendar
        )
        for chunk in itertools.chain([first], chunks):
            results = store.commit_batch(
                writer,
                f"import:bars:{source}",
                f"{instrument}/{timeframe}",
                {"bars": chunk.bars},
                rejects=chunk.rejects,
            )
            done.fold(chunk, results["bars"])
        run.add(done.result)
        run.read, run.rejected = done.n_read, len(done.rejects)
        run.details = {
            "file": str(file),
            "instrument": instrument,
            "timeframe": timeframe,
            "tz": reading.tz,
        }
        kept = done.result.stored or done.result.unchanged or not done.rejects
        writer.finish_run(run, "ok" if kept else "partial")
    return done


def _ensure_instrument(
    writer: store.Store, config: Config, instrument: str, source: str, calendar: str | None
) -> tuple[bool, str]:
    """Create the instrument when unknown (or set its calendar when given); (created, calendar)."""
    created = not _known(writer, instrument)
    if created:
        row = _instrument_row(config, instrument, source)
        if calendar is not None:
            row = row.with_columns(pl.lit(calendar).alias("calendar"))
        writer.upsert("instruments", row, in_transaction=False)
    elif calendar is not None:
        writer.con.execute(
            "update instruments set calendar = ? where instrument_id = ?", [calendar, instrument]
        )
    stored = writer.con.execute(
        "select calendar from instruments where instrument_id = ?", [instrument]
    ).fetchone()
    return created, stored[0]  # type: ignore[index]


def _known(writer: store.Store, instrument: str) -> bool:
    rows = writer.con.execute(
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


# ---------------------------------------------------------------------------- events


@dataclass
class EventsImport:
    """What importing one event file did: the parsed file and the upsert of each table."""

    parsed: EventFile
    results: dict[str, UpsertResult]


def import_events_file(
    config: Config,
    db_path: Path,
    file: Path,
    reading: EventReading = EventReading(),
) -> EventsImport:
    """Read an event file and store its events, reports and instrument links."""
    from pipelines.sources.event_files import read_event_file

    with store.writing(db_path, "import events") as writer:
        known = {
            r[0] for r in writer.con.execute("select instrument_id from instruments").fetchall()
        }
        known |= set(config.watchlist)
        parsed = read_event_file(file, reading, known_instruments=known)
        frames = {
            "events": parsed.events,
            "articles": parsed.articles,
            "event_articles": parsed.event_articles,
            "event_instruments": parsed.event_instruments,
        }
        results = commit_as_run(
            writer,
            "import:events",
            ("import:events", str(file.name), frames),
            rejects=parsed.rejects,
            counted="events",
            details=lambda done: {
                "file": str(file),
                "tz": reading.tz,
                "links": done["event_instruments"].stored,
            },
            read=parsed.n_read,
            status="ok" if not parsed.rejects else "partial",
        )
    return EventsImport(parsed, results)


# ---------------------------------------------------------------------------- strip captures


@dataclass
class StripImport:
    """What `import strip` did (`dating` is set when the day came from the stored bars)."""

    result: StripResult
    day_note: str
    source: str
    upsert: store.UpsertResult
    rejected: int
    dating: StripDating | None = None


def strip_bars(writer: store.Store, symbols: list[str]) -> pl.DataFrame:
    """The stored bars of these symbols with their close times (for dating a strip)."""
    params = {**timeframe_params(datetime(1970, 1, 1, tzinfo=UTC)), "ids": symbols}
    params.pop("since")
    return writer.query(store.load_sql("prices_strip_dating_bars"), params)


def import_strip_file(
    config: Config,
    db_path: Path,
    file: Path,
    *,
    day: str | None = None,
    outlet: str | None = None,
    captured_from: str | None = None,
) -> StripImport:
    """Parse a strip capture and store its quotes as source `strip:<outlet>` (plus any rejects).

    The date comes from the page, else from --date, else from the stored bars (the day whose
    prices at the strip's HH:MM fit best); when none of these gives one, nothing is stored.
    """
    try:
        raw = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"cannot read {file}: {exc.strerror}") from exc
    page_day, clock_time = find_as_of(page_text(raw))
    dating = None
    with store.writing(db_path, "import strip") as writer:
        if page_day is not None:
            ignored = f"; --date {day} ignored" if day and day != page_day.isoformat() else ""
            chosen, note = page_day, f"{page_day} (printed on the page{ignored})"
        elif day:
            try:
                chosen, note = date.fromisoformat(day), f"{day} (from --date)"
            except ValueError:
                raise DataError(f"--date {day!r} is not a date like 2026-05-01") from None
        else:
            undated = parse_strip(raw, day=date(1970, 1, 1))  # the quotes only; day unused
            prices = {q.symbol: float(q.price) for q in undated.quotes if q.price > 0}
            dating = date_strip(prices, clock_time, strip_bars(writer, list(prices)))
            chosen, note = dating.best.day, dating.note()
        result = parse_strip(raw, day=chosen, watchlist=config.watchlist)
        outlet = outlet or file.stem
        source = f"strip:{outlet}"
        frame, bad = validate_quotes(result.frame(outlet, captured_from or str(file)))
        rejects = result.rejects + bad
        details = {
            "file": str(file),
            "as_of": result.as_of.isoformat(),
            "date": note,
            "outside_watchlist": result.outside_watchlist,
        }
        results = commit_as_run(
            writer,
            "import:strip",
            (source, str(file), {"quotes": frame}),
            rejects=rejects,
            counted="quotes",
            details=details,
        )
    return StripImport(
        result=result,
        day_note=note,
        source=source,
        upsert=results["quotes"],
        rejected=len(rejects),
        dating=dating,
    )


# ---------------------------------------------------------------------------- articles


@dataclass
class ArticlesImport:
    """What importing article files did: reports read, the upsert, rejects, enrichment counts."""

    n_read: int
    result: store.UpsertResult
    rejects: list[store.Reject]
    counts: dict[str, int]
    zoneless: int = 0  # reports whose time had no zone or an ambiguous one (unknown-zone)


def import_article_files(
    config: Config,
    db_path: Path,
    files: list[Path],
    *,
    published: str | None = None,
    outlet: str | None = None,
    tz: str | None = None,
    dayfirst: bool | None = None,
    enrich: bool = True,
) -> ArticlesImport:
    """Read article files, store the reports, then (by default) cluster them into events."""
    # The enrichment step and the file readers load here, not at CLI start-up.
    from pipelines.articles import normalise_articles
    from pipelines.enrich import run_enrichment
    from pipelines.sources.article_files import read_article_files
    from pipelines.timeparse import parse_iso_option

    if published:
        parse_iso_option(published)  # refuse a bad --published before reading anything
    raws, rejects = read_article_files(
        files, published=published, outlet=outlet, tz=tz, dayfirst=dayfirst
    )
    now = datetime.now(UTC)
    frame, more = normalise_articles(raws, now)
    rejects += more
    with store.writing(db_path, "import articles") as writer:
        counts: dict[str, int] = {}

        def enriched(_results: dict[str, UpsertResult]) -> dict[str, Any]:
            # Clustering needs the reports just committed, inside the same run.
            counts.update(run_enrichment(writer, config) if enrich else {})
            return {"files": len(files), "enrichment": counts}

        results = commit_as_run(
            writer,
            "import:articles",
            ("import:articles", "files", {"articles": frame}),
            rejects=rejects,
            counted="articles",
            details=enriched,
        )
    zoneless = frame.filter(pl.col("published_precision") == "unknown-zone").height
    return ArticlesImport(len(raws), results["articles"], rejects, counts, zoneless)
