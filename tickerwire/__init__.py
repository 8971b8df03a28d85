"""tickerwire as a library: what did the market do when this news broke?

    >>> import tickerwire as tw
    >>> db = tw.open("data/demo.duckdb")                     # doctest: +SKIP
    >>> story = db.events(words="china ai researchers")      # doctest: +SKIP
    >>> study = db.study(events=story, instruments=["BTC", "ETH"], car=[(0, 24)])  # doctest: +SKIP
    >>> study.car                                             # doctest: +SKIP
    >>> study.plot()["caar"].show()                           # doctest: +SKIP

`open` finds the database and the config as the `tickerwire` command does (`TICKERWIRE_DB`,
`TICKERWIRE_CONFIG`, `./tickerwire.toml`, the `[database] path`). A `Database` is read-only
unless opened with `write=True`; it holds no connection between calls (DESIGN §5: readers open
short-lived read-only connections), so a notebook never blocks a refresh.

The engine lives in the `pipelines` package (event study: `pipelines.analytics`) and the
dashboard in `dashboard`; this package is the stable way in for Python users.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.errors import (
    ConfigError,
    DataError,
    SourceError,
    StoreError,
    StoreLocked,
    TickerwireError,
)
from tickerwire._database import Database, Reaction
from tickerwire._study import Study
from tickerwire._writes import ImportReport

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Database",
    "ImportReport",
    "Reaction",
    "SourceError",
    "StoreError",
    "StoreLocked",
    "Study",
    "TickerwireError",
    "__version__",
    "open",
]


def open(  # shadows the built-in inside this module only, as `tw.open(...)` reads well
    db: str | Path | None = None,
    config: str | Path | None = None,
    *,
    write: bool = False,
    lake: str | Path | None = None,
) -> Database:
    """Open a tickerwire database (default path and config as the CLI); read-only unless write=True.
    `lake`: study a Parquet lake written by `export` (lake mode) instead of the file.

    Raises StoreError when a read-only database does not exist, ConfigError for a bad config.
    """
    return Database.open(db, config, write=write, lake=lake)
