"""Sources: one module each, extract (all I/O) → transform (pure), registered in SOURCES.

A source never touches the database. `refresh` asks each registered source for batches
(network work, no lock held), then commits each batch with `store.commit_batch` (short
transaction: rows + ingest_state cursor + rejects together).

A price source (`prices=True` in its registry line) also answers `bars(config, instrument,
timeframe, since, until)`: the bars of one bounded range. Refresh asks it for cursor → now,
`tickerwire backfill` for the range the user names (pipelines/backfill.py); watchlist entries
may name it as their `source`. Adding a source is one module plus one line in SOURCES (its
config section and that section's checker are declared there too).

This module imports nothing heavy at run time: the config loader reads the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pipelines.errors import ConfigError

if TYPE_CHECKING:  # types only: pipelines.config reads this registry, so no import back
    import polars as pl

    from pipelines.config import Config, Instrument
    from pipelines.store import Reject

# What `refresh --only` can select.
KINDS = ("prices", "quotes", "news")


@dataclass(frozen=True)
class Registered:
    """A registry line: where the source class is, and what of the config belongs to it."""

    target: str  # "module:Class", imported on first use
    prices: bool = False  # a price source: has bars(); watchlist entries may name it
    section: str | None = None  # its own [section] of tickerwire.toml, if any
    check: str | None = None  # "module:callable(config)" validating that section on load


# name -> where it lives. Adding a source is one module plus one line here. Imported lazily
# so that a command which needs no network library does not pay for importing it.
SOURCES: dict[str, Registered] = {
    "ccxt": Registered("pipelines.sources.ccxt_source:CcxtSource", prices=True),
    "yahoo": Registered(
        "pipelines.sources.yahoo_source:YahooSource",
        prices=True,
        section="yahoo",
        check="pipelines.sources.yahoo_source:yahoo_settings",
    ),
    "rss": Registered(
        "pipelines.sources.rss_source:RssSource",
        section="feeds",
        check="pipelines.sources.rss_source:feeds_from_config",
    ),
    "gdelt": Registered(
        "pipelines.sources.gdelt_source:GdeltSource",
        section="gdelt",
        check="pipelines.sources.gdelt_source:GdeltSettings.from_config",
    ),
    # off unless TICKERWIRE_SYNTHETIC_URL is set
    "synthetic": Registered("pipelines.sources.synthetic_source:SyntheticSource"),
}

State = Mapping[str, tuple[datetime | None, dict[str, Any] | None]]


@dataclass
class Batch:
    """One unit of a source's work (an instrument+timeframe, a feed): rows plus its new cursor."""

    source: str  # e.g. 'ccxt:binance', 'yahoo', 'rss'
    key: str  # e.g. 'BTC/1m', a feed URL
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)  # table -> rows
    cursor_ts: datetime | None = None
    state: dict[str, Any] | None = None
    rejects: list[Reject] = field(default_factory=list)
    error: str | None = None  # set when this unit failed (the others go on)
    skipped: str | None = None  # set when this unit was deliberately not fetched, with why


class Source(Protocol):
    """What refresh needs of a source."""

    name: str
    kinds: tuple[str, ...]

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """Yield batches; never raise for one failing unit (set Batch.error instead)."""
        ...


@runtime_checkable
class PriceSource(Source, Protocol):
    """A source of bars that can fetch any bounded range (refresh: cursor → now; backfill)."""

    def bars(
        self, config: Config, inst: Instrument, timeframe: str, since: datetime, until: datetime
    ) -> Batch:
        """Complete bars with open times in [since, until) as one batch (frames `bars` and
        `instruments`, cursor = the newest bar); raises SourceError (NetworkUnavailable when
        offline) when no symbol or venue of the instrument serves them."""
        ...


def get_source(name: str) -> Source:
    """Instantiate a registered source by name."""
    try:
        target = SOURCES[name].target
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; registered: {', '.join(SOURCES)}") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


def price_sources() -> tuple[str, ...]:
    """The registered price sources (what a watchlist entry's `source` may name besides files)."""
    return tuple(name for name, entry in SOURCES.items() if entry.prices)


def source_sections() -> dict[str, str | None]:
    """Config sections owned by registered sources → the checker of each (None: no checker)."""
    return {e.section: e.check for e in SOURCES.values() if e.section is not None}
