"""`tickerwire demo`: a database built from the bundled real sample, through the import commands.

Every sample file goes in the way a user's file would: bars through `import bars`, the tariff
changes through `import events`, the posts and the seed story's reports through `import
articles` (clustering, entity links, tags and sentiment included), the seed-001 strip through
`import strip` without a date (so it is dated from the bars just imported). The file is built
beside the target and moved into place at the end, so a dashboard reading the old file never
sees a half-built one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines import sample, store
from pipelines.config import Config
from pipelines.errors import StoreError, StoreLocked
from pipelines.file_imports import (
    import_article_files,
    import_bars_file,
    import_events_file,
    import_strip_file,
)
from pipelines.sources.file_reading import BarReading

NO_BARS = "no bars in the bundled sample"
SEED_FILE = "seed_story.parquet"
# Files a rebuild may replace without --force: the sample, synthetic files, older demo files.
REPLACEABLE = (sample.DATASET, "synthetic", "demo")


@dataclass
class DemoStats:
    """What a demo build wrote: rows per table, seconds per step, the content checksum."""

    db_path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    checksum: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    strip_note: str = ""
    rejected: int = 0

    @property
    def total_rows(self) -> int:
        """All rows across the tables counted."""
        return sum(self.rows.values())


def checksum(con) -> str:
    """md5 over the content of every table, computed in SQL (wall-clock columns left out)."""
    con.execute("set TimeZone = 'UTC'")  # timestamps render as text in the digest
    con.execute("set enable_progress_bar = false")  # keep the CLI output to our own lines
    return con.execute(store.load_sql("demo_checksum")).fetchall()[0][0]


def check_replaceable(db_path: Path, force: bool) -> None:
    """Refuse to replace an existing file that is not a demo/sample database (unless forced)."""
    if force or not db_path.exists():
        return
    try:
        with store.reader(db_path) as con:
            has_meta = con.execute(
                "select count(*) from duckdb_tables() where table_name = 'meta'"
            ).fetchall()[0][0]
            rows = (
                con.execute("select value from meta where key = 'dataset'").fetchall()
                if has_meta
                else []
            )
    except StoreLocked:
        raise
    except StoreError as exc:  # e.g. not a DuckDB file at all
        raise StoreError(
            f"{db_path} cannot be read as a database; refusing to overwrite it "
            "(choose another --db, or --force to replace it)"
        ) from exc
    if not rows or rows[0][0] not in REPLACEABLE:
        raise StoreError(
            f"{db_path} is not a demo database (meta dataset is not 'sample'); refusing to "
            "overwrite it (use --db data/demo.duckdb, or --force to replace it)"
        )


def instrument_rows(config: Config) -> pl.DataFrame:
    """One row per sample series (as the manifest describes it) and per watchlist id without bars."""
    described = sample.manifest()["instruments"]
    rows = [{"instrument_id": iid, **meta, "available": True} for iid, meta in described.items()]
    rows += [
        {
            "instrument_id": inst.id,
            "display_name": inst.name,
            "asset_class": inst.asset_class,
            "source": "sample",
            "market_symbol": inst.symbol,
            "quote_currency": inst.quote_currency,
            "calendar": inst.calendar,
            "exchange_tz": inst.exchange_tz,
            "available": False,
            "unavailable_reason": NO_BARS,
        }
        for inst in config.instruments
        if inst.id not in described
    ]
    return pl.DataFrame(rows, infer_schema_length=None).sort("instrument_id")


def _seed_event(writer: store.Store) -> str | None:
    """The event the seed story's reports were clustered into (None if they were refused)."""
    rows = writer.con.execute(
        "select min(ea.event_id) from event_articles ea join articles a using (article_id) "
        "where a.feed = ?",
        [f"file:{SEED_FILE}"],
    ).fetchall()
    return rows[0][0] if rows else None


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def build_demo(db_path: str | Path, config: Config, *, force: bool = False) -> DemoStats:
    """Rebuild the --db file from the bundled sample, through the import commands."""
    started = time.perf_counter()
    path = Path(db_path)
    check_replaceable(path, force)
    files = sample.files()  # a clear error when the sample is missing, before touching anything
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    _discard(building)
    stats = DemoStats(db_path=path)

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        stats.phases[name] = stats.phases.get(name, 0.0) + now - since
        return now

    mark = time.perf_counter()
    try:
        with store.writing(building, "demo") as writer:
            writer.upsert("instruments", instrument_rows(config))
            # Marked before any row lands: a file holding sample rows always says so.
            writer.set_meta("dataset", sample.DATASET)
            writer.set_meta("sample_sources", sample.sources_line())
            writer.set_meta("sample_checksum", sample.manifest()["checksum"])
        for f in files:
            if f.kind == "bars":
                reading = BarReading(source=f.source)
                done = import_bars_file(
                    config, building, f.path, f.instrument, f.timeframe, reading
                )
                stats.rejected += len(done.rejects)
                mark = phase("bars", mark)
            elif f.kind == "events":
                stats.rejected += len(import_events_file(config, building, f.path).parsed.rejects)
                mark = phase("events", mark)
            elif f.kind == "articles":
                stats.rejected += len(import_article_files(config, building, [f.path]).rejects)
                mark = phase("articles + enrichment", mark)
            elif f.kind == "strip":
                done_strip = import_strip_file(
                    config,
                    building,
                    f.path,
                    outlet=f.source.removeprefix("strip:"),
                    captured_from=f"bundled sample: {f.origin}",
                )
                stats.strip_note = done_strip.day_note
                mark = phase("strip", mark)
        with store.writing(building, "demo") as writer:
            featured = _seed_event(writer)
            if featured:  # the dashboard opens on the seed story
                writer.set_meta("featured_event", featured)
            for table in ("instruments", "bars", "quotes", "articles", "events", "event_articles",
                          "event_instruments", "rejects"):  # fmt: skip
                stats.rows[table] = writer.con.execute(
                    f'select count(*) from "{table}"'
                ).fetchall()[0][0]
            stats.checksum = checksum(writer.con)
        mark = phase("checksum", mark)
        # Readers that have the old file open keep it until they close; new ones wait at the gate.
        with store.exclusive(path, "demo"):
            path.with_name(path.name + ".wal").unlink(missing_ok=True)
            os.replace(building, path)
    except BaseException:
        _discard(building)
        raise
    stats.seconds = time.perf_counter() - started
    return stats
