"""Sources: one module each, extract (all I/O) → transform (pure), registered in SOURCES.

A source never touches the database. `refresh` asks each registered source for batches
(network work, no lock held), then commits each batch with `store.commit_batch` (short
transaction: rows + ingest_state cursor + rejects together).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from pipelines.config import Config
from pipelines.errors import ConfigError
from pipelines.store import Reject

# What `refresh --only` can select.
KINDS = ("prices", "quotes", "news")

# name -> "module:Class". Adding a source is one module plus one line here. Imported lazily
# so that a command which needs no network library does not pay for importing it.
SOURCES: dict[str, str] = {
    "ccxt": "pipelines.sources.ccxt_source:CcxtSource",
    "yahoo": "pipelines.sources.yahoo_source:YahooSource",
    "rss": "pipelines.sources.rss_source:RssSource",
    "gdelt": "pipelines.sources.gdelt_source:GdeltSource",
    "synthetic": "pipelines.sources.synthetic_source:SyntheticSource",  # off unless TICKERWIRE_SYNTHETIC_URL
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


def get_source(name: str) -> Source:
    """Instantiate a registered source by name."""
    try:
        target = SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; registered: {', '.join(SOURCES)}") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
