"""`tickerwire backfill`: one instrument's bars over a past range, from its registered price source.

Backfill is refresh with an end: it asks the instrument's price source for the same bounded
`bars(config, instrument, timeframe, since, until)` that a refresh asks for cursor → now, and
commits the batch in one transaction without touching the source's cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines import store
from pipelines.config import Config, Instrument
from pipelines.errors import ConfigError, DataError, NetworkUnavailable, SourceError
from pipelines.schemas import timeframe_delta
from pipelines.sources import SOURCES, Batch, PriceSource, get_source, price_sources


@dataclass
class BackfillResult:
    """What a backfill fetched and stored."""

    instrument: str
    timeframe: str
    where: str  # 'binance BTC/USDT', 'yahoo GC=F'
    upsert: store.UpsertResult
    first: datetime | None
    last: datetime | None
    rejected: int


def price_source(inst: Instrument) -> PriceSource:
    """The registered price source the watchlist entry names; ConfigError when it has none."""
    entry = SOURCES.get(inst.source)
    if entry is None or not entry.prices:
        raise ConfigError(
            f"{inst.id} comes from {inst.source!r}; backfill knows {', '.join(price_sources())}"
        )
    return get_source(inst.source)  # type: ignore[return-value]


def backfill(
    config: Config,
    store_path: Path,
    instrument: str,
    timeframe: str,
    since: datetime,
    until: datetime | None = None,
    *,
    source: PriceSource | None = None,
    clock: datetime | None = None,
) -> BackfillResult:
    """Fetch [since, until) of one instrument's bars from its source and upsert them (cursor untouched)."""
    inst = config.instrument(instrument)
    if inst is None:
        raise ConfigError(f"{instrument!r} is not in the watchlist ({', '.join(config.watchlist)})")
    timeframe_delta(timeframe)  # an unknown bar size fails before anything is asked
    now = clock or datetime.now(UTC)
    until = min(until or now, now)
    if since >= until:
        raise DataError(
            f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}"
        )
    src = source or price_source(inst)
    try:
        batch = src.bars(config, inst, timeframe, since, until)
    except SourceError as exc:
        kind = NetworkUnavailable if isinstance(exc, NetworkUnavailable) else SourceError
        raise kind(f"{inst.id}/{timeframe}: {exc}") from exc
    results = _commit(store_path, batch, since, until)
    bars = batch.frames["bars"]
    row = batch.frames["instruments"].row(0, named=True)
    return BackfillResult(
        instrument=inst.id,
        timeframe=timeframe,
        where=f"{row['venue']} {row['market_symbol']}",
        upsert=results["bars"],
        first=bars["ts"].min() if bars.height else None,  # type: ignore[arg-type]
        last=bars["ts"].max() if bars.height else None,  # type: ignore[arg-type]
        rejected=len(batch.rejects),
    )


def _commit(
    store_path: Path, batch: Batch, since: datetime, until: datetime
) -> dict[str, store.UpsertResult]:
    """Store the batch's rows and rejects in one transaction, logged as a `backfill` run."""
    with store.writing(store_path, "backfill") as st:
        run = st.start_run("backfill")
        results = store.commit_batch(
            st, batch.source, batch.key, batch.frames, rejects=batch.rejects
        )
        run.add(results["bars"])
        run.rejected = len(batch.rejects)
        instrument, _, timeframe = batch.key.partition("/")
        run.details = {
            "instrument": instrument,
            "timeframe": timeframe,
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        st.finish_run(run)
    return results
