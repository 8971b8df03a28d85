"""The incremental side of a price source: cursor → now, asked of the source's bounded `bars`.

A new price source writes `bars(config, instrument, timeframe, since, until)` and lets its
`run` be `yield from incremental_bars(self, config, state, ...)`: refresh then re-reads a few
bars before each stored cursor (sources revise their last bars) up to now, and backfill asks
the same `bars` for a past range (pipelines/backfill.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from pipelines.config import Config
from pipelines.errors import SourceError
from pipelines.schemas import timeframe_delta
from pipelines.sources import Batch, PriceSource, State


def incremental_bars(
    source: PriceSource,
    config: Config,
    state: State,
    *,
    timeframes: Sequence[str],
    lookback: timedelta,
    now: datetime,
    overlap_bars: int = 3,
) -> Iterator[Batch]:
    """One batch per (instrument of this source, timeframe): from its cursor (or `lookback`
    before now on a first run) to now; a unit that fails is a batch with its error."""
    for inst in (i for i in config.instruments if i.source == source.name):
        for timeframe in timeframes:
            key = f"{inst.id}/{timeframe}"
            entry = state.get(key)
            cursor = entry[0] if entry else None
            since = (
                cursor - overlap_bars * timeframe_delta(timeframe)
                if cursor is not None
                else now - lookback
            )
            yield refresh_unit(
                lambda i=inst, tf=timeframe, s=since: source.bars(config, i, tf, s, now),
                source.name,
                key,
                cursor,
            )


def refresh_unit(
    fetch: Callable[[], Batch], source: str, key: str, cursor: datetime | None
) -> Batch:
    """A bounded fetch as refresh's unit: its batch (the old cursor kept when no bar came), or
    a batch carrying the one-line error, so one failing unit never stops the others."""
    try:
        batch = fetch()
    except SourceError as exc:
        return Batch(source=source, key=key, error=str(exc))
    batch.cursor_ts = batch.cursor_ts or cursor
    return batch
