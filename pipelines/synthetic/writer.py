"""Writes a synthetic database: the simulated bars, the strip, the news records, a run, meta."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines import store
from pipelines.config import Config
from pipelines.demo import check_replaceable, checksum
from pipelines.errors import StoreError, first_line
from pipelines.schemas import UTC_TS
from pipelines.synthetic.data import (
    BUILT_AS_OF,
    DATASET,
    DEFAULT_SEED,
    DEMO_END,
    DEMO_EVENTS,
    DEMO_START,
    STRIP,
    STRIP_AT,
    STRIP_SOURCE,
)
from pipelines.synthetic.simulator import simulate_bars


@dataclass
class DemoStats:
    """What a demo build wrote: rows per table, seconds taken, the content checksum."""

    db_path: Path
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    checksum: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # seconds per build step

    @property
    def total_rows(self) -> int:
        """All rows written across tables."""
        return sum(self.rows.values())


def article_id(outlet: str, title: str, published_at: datetime) -> str:
    """Stable id of a report without a URL: hash of outlet, title and time (DESIGN §3)."""
    key = "\x1f".join((outlet, title, published_at.astimezone(UTC).isoformat()))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def news_frames(config: Config) -> dict[str, pl.DataFrame]:
    """The articles, events, event_articles and event_instruments rows of the demo."""
    watchlist = config.watchlist
    articles: dict[str, dict] = {}
    events, links, tags = [], [], []
    for event in DEMO_EVENTS:
        ids = []
        for art in event.articles:
            aid = article_id(art.outlet, art.title, art.published_at)
            ids.append(aid)
            articles[aid] = {
                "article_id": aid,
                "outlet": art.outlet,
                "url": None,  # the demo does not invent addresses
                "title": art.title,
                "summary": art.summary,
                "published_at": art.published_at,
                "published_precision": art.precision,
                "fetched_at": BUILT_AS_OF,
                "feed": art.feed,
                "language": "en",
            }
            links.append({"event_id": event.event_id, "article_id": aid})
        # first_outlet: the outlet of the earliest report (on a tie, the one listed first).
        first = min(event.articles, key=lambda a: a.published_at)
        events.append(
            {
                "event_id": event.event_id,
                "title": event.title,
                "event_at": event.event_at,
                "event_at_lower": event.lower,
                "event_at_upper": event.upper,
                "category": event.category,
                "countries": list(event.countries),
                "n_articles": len(set(ids)),
                "n_outlets": len({a.outlet for a in event.articles}),
                "first_outlet": first.outlet,
                "is_manual": True,  # hand-written, not produced by clustering
            }
        )
        linked = watchlist if event.instruments is None else event.instruments
        tags.extend(
            {
                "event_id": event.event_id,
                "instrument_id": iid,
                "reason": event.reason,
                "confidence": event.confidence,
            }
            for iid in linked
            if iid in watchlist
        )
    ts_cols = ("published_at", "fetched_at", "event_at", "event_at_lower", "event_at_upper")
    return {
        "articles": _frame(list(articles.values()), ts_cols),
        "events": _frame(events, ts_cols).cast({"countries": pl.List(pl.Utf8)}),
        "event_articles": _frame(links, ts_cols),
        "event_instruments": _frame(tags, ts_cols),
    }


def _frame(rows: list[dict], ts_cols: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(rows)
    return frame.cast({c: UTC_TS for c in ts_cols if c in frame.columns})


# ---------------------------------------------------------------------------- the rest


def instrument_frame(config: Config) -> pl.DataFrame:
    """One `instruments` row per watchlist entry, marked as demo data."""
    return pl.DataFrame(
        [
            {
                "instrument_id": i.id,
                "display_name": i.name,
                "asset_class": i.asset_class,
                "source": "synthetic",
                "venue": None,
                "market_symbol": i.symbol,
                "quote_currency": i.quote_currency,
                "calendar": i.calendar,
                "exchange_tz": i.exchange_tz,
                "available": True,
                "unavailable_reason": None,
            }
            for i in config.instruments
        ],
        schema_overrides={"venue": pl.Utf8, "unavailable_reason": pl.Utf8},
    )


def strip_quotes(config: Config) -> pl.DataFrame:
    """The seed-001 strip as quotes at the strip instant (only instruments on the watchlist)."""
    rows = [
        {
            "instrument_id": iid,
            "ts": STRIP_AT,
            "source": STRIP_SOURCE,
            "price": price,
            "change_pct": change,
            "captured_from": "seed 001 ticker strip (Prices as of 04:57 UTC; date assumed 2026-05-27)",
        }
        for iid, (price, change) in STRIP.items()
        if iid in config.watchlist
    ]
    return pl.DataFrame(rows).cast({"ts": UTC_TS})


def _insert_all(writer: store.Store, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Bulk-insert each frame into its table in ONE transaction; rows written per table.

    The file was just created, so there is nothing to upsert against: a plain insert of the
    Arrow frame is the fast path (the 740k bars go in with one statement).
    """
    con = writer.con
    written: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table, frame in frames.items():
            writer.table_columns(table)  # a StoreError naming the table if it does not exist
            con.register("_demo_batch", frame.to_arrow())
            # `table` comes from our own fixed dict above, never from user input.
            con.execute(f'insert into "{table}" by name select * from _demo_batch')
            con.unregister("_demo_batch")
            written[table] = frame.height
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise StoreError(f"demo: writing {table} failed: {first_line(exc)}") from exc
    return written


def build_synthetic(
    db_path: str | Path, config: Config, *, seed: int = DEFAULT_SEED, force: bool = False
) -> DemoStats:
    """Rebuild a synthetic database from scratch: bars, quotes, instruments, events, run log, meta."""
    started = time.perf_counter()
    path = Path(db_path)
    check_replaceable(path, force)
    stats = DemoStats(db_path=path, seed=seed)
    bars, latest = simulate_bars(config, seed)
    built_from = (
        f"synthetic seeded 1m bars (seed {seed}) for {len(config.instruments)} instruments, "
        f"{DEMO_START:%Y-%m-%d} to {DEMO_END:%Y-%m-%d}, pinned to the seed-001 strip at "
        f"{STRIP_AT:%Y-%m-%d %H:%M} UTC; the seed story and labelled [sample] events"
    )
    frames = {
        "instruments": instrument_frame(config),
        "bars": bars,
        "quotes": pl.concat([strip_quotes(config), latest]),
        **news_frames(config),
        # In the same transaction as the rows: a file with demo rows is always marked as demo.
        "meta": pl.DataFrame(
            {"key": ["dataset", "demo_built_from"], "value": [DATASET, built_from]}
        ),
    }
    stats.phases["simulate"] = time.perf_counter() - started
    # The gate makes dashboards that reopen the file meanwhile wait for the new one instead
    # of finding it missing or half written (pipelines/gate.py).
    with store.writing(path, "synthetic", fresh=True) as writer:
        writer.con.execute("set enable_progress_bar = false")  # DuckDB would draw one on stdout
        run = writer.start_run("synthetic")
        stats.rows.update(_insert_all(writer, frames))
        run.read = run.stored = sum(stats.rows.values())
        run.details = {"seed": seed, "rows": dict(stats.rows)}
        writer.finish_run(run, "ok")
        stats.rows["ingest_runs"] = 1
        stats.phases["write"] = time.perf_counter() - started - stats.phases["simulate"]
        stats.checksum = checksum(writer.con)
    stats.seconds = time.perf_counter() - started
    stats.phases["checksum"] = stats.seconds - stats.phases["simulate"] - stats.phases["write"]
    return stats
