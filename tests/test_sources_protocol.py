"""A price source defined here, registered with one line, runs through refresh and backfill.

The newcomer's path for "add a price source": one module with `bars(...)` (and a `run` that
is `incremental_bars`) plus one line in `pipelines.sources.SOURCES`. Nothing else changes:
the config accepts the new name, refresh runs it, backfill asks it for a past range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import store
from pipelines.backfill import backfill
from pipelines.config import load_config
from pipelines.errors import ConfigError, SourceError
from pipelines.refresh import run_refresh
from pipelines.schemas import bars_in_range, instrument_row
from pipelines.sources import SOURCES, Batch, Registered
from pipelines.sources.incremental import incremental_bars

NOW = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def toy_close(ts: datetime) -> float:
    """The toy market's rule: the close is 100 plus the minutes since midnight."""
    return 100.0 + (ts - ts.replace(hour=0, minute=0, second=0)).total_seconds() / 60


class ToySource:
    """A price source with no network: one bar a minute, close = toy_close(open time)."""

    name = "toy"
    kinds = ("prices",)
    asked: list[tuple[datetime, datetime]] = []

    def bars(self, config, inst, timeframe, since, until) -> Batch:
        """The toy's bars of [since, until), built from the rule."""
        if inst.symbol == "BROKEN":
            raise SourceError("the toy venue refuses BROKEN")
        self.asked.append((since, until))
        first = since.replace(second=0, microsecond=0)
        opens = [first + n * MIN for n in range(int((until - first) / MIN) + 1)]
        frame = pl.DataFrame(
            {
                "instrument_id": inst.id,
                "timeframe": timeframe,
                "ts": opens,
                "open": [toy_close(t) for t in opens],
                "high": [toy_close(t) + 0.5 for t in opens],
                "low": [toy_close(t) - 0.5 for t in opens],
                "close": [toy_close(t) for t in opens],
                "volume": 1.0,
                "source": "toy",
            }
        )
        bars, rejects = bars_in_range(frame, timeframe, since, until, NOW)
        return Batch(
            source="toy",
            key=f"{inst.id}/{timeframe}",
            frames={
                "bars": bars,
                "instruments": instrument_row(inst, "toy", inst.symbol, available=True),
            },
            cursor_ts=bars["ts"].max() if bars.height else None,
            rejects=rejects,
        )

    def run(self, config, state, only):
        """Refresh: cursor → now through bars()."""
        yield from incremental_bars(
            self, config, state, timeframes=["1m"], lookback=timedelta(minutes=30), now=NOW
        )


CONFIG = """
[database]
path = "{db}"
[[instruments]]
id = "TOY"
asset_class = "other"
source = "{source}"
symbol = "{symbol}"
"""


@pytest.fixture
def toy(tmp_path: Path, monkeypatch):
    """The one registry line, and a config whose instrument names the new source."""
    monkeypatch.setitem(SOURCES, "toy", Registered(f"{__name__}:ToySource", prices=True))
    ToySource.asked = []
    db = tmp_path / "toy.duckdb"
    cfg = tmp_path / "toy.toml"
    cfg.write_text(CONFIG.format(db=db, source="toy", symbol="TOY-1"))
    return load_config(cfg), db


def _bars(db: Path) -> list[tuple[datetime, float]]:
    with store.reader(db) as con:
        rows = con.execute(
            "select ts, close from bars where instrument_id = 'TOY' order by ts"
        ).fetchall()
    return [(ts.astimezone(UTC), close) for ts, close in rows]


def _cursor(db: Path):
    with store.reader(db) as con:
        return con.execute("select cursor_ts from ingest_state where key = 'TOY/1m'").fetchall()


def test_refresh_then_backfill_through_the_registered_source(toy):
    config, db = toy
    summary = run_refresh(db, config, "prices", names=["toy"])
    assert [(o.source, o.status) for o in summary.outcomes] == [("toy", "ok")]
    # First run: the 30 minutes before now, complete bars only (00:30 … 00:59; 01:00 is open).
    refreshed = [datetime(2024, 3, 1, 0, 30, tzinfo=UTC) + n * MIN for n in range(30)]
    assert [ts for ts, _ in _bars(db)] == refreshed
    assert all(close == toy_close(ts) for ts, close in _bars(db))
    cursor = _cursor(db)[0][0].astimezone(UTC)
    assert cursor == refreshed[-1]

    res = backfill(config, db, "TOY", "1m", datetime(2024, 3, 1, tzinfo=UTC),
                   datetime(2024, 3, 1, 0, 10, tzinfo=UTC))  # fmt: skip
    assert (res.where, res.upsert.inserted, res.rejected) == ("toy TOY-1", 10, 0)
    assert (res.first, res.last) == (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 1, 0, 9, tzinfo=UTC),
    )
    assert ToySource.asked[-1] == (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 3, 1, 0, 10, tzinfo=UTC),
    )
    backfilled = [datetime(2024, 3, 1, tzinfo=UTC) + n * MIN for n in range(10)]
    assert [ts for ts, _ in _bars(db)] == backfilled + refreshed
    assert _cursor(db)[0][0].astimezone(UTC) == cursor  # backfill leaves the cursor alone

    again = run_refresh(db, config, "prices", names=["toy"])
    # The second refresh re-reads from 3 bars before the cursor: 00:56 … 00:59 and the
    # instrument's row, all already stored, so nothing new.
    assert ToySource.asked[-1] == (cursor - 3 * MIN, NOW)
    assert [(o.status, o.stored, o.present) for o in again.outcomes] == [("ok", 0, 4 + 1)]


def test_a_failing_unit_is_a_one_line_error_in_refresh_and_backfill(toy, tmp_path):
    config, db = toy
    cfg = tmp_path / "broken.toml"
    cfg.write_text(CONFIG.format(db=db, source="toy", symbol="BROKEN"))
    broken = load_config(cfg)
    summary = run_refresh(db, broken, "prices", names=["toy"])
    assert [(o.status, o.errors) for o in summary.outcomes] == [
        ("failed", ["TOY/1m: the toy venue refuses BROKEN"])
    ]
    with pytest.raises(SourceError, match=r"^TOY/1m: the toy venue refuses BROKEN$"):
        backfill(broken, db, "TOY", "1m", datetime(2024, 3, 1, tzinfo=UTC))


def test_config_names_come_from_the_registry(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "x.duckdb", source="toy", symbol="T"))
    with pytest.raises(ConfigError, match=r"'toy' is not allowed; allowed: ccxt, yahoo, file"):
        load_config(cfg)  # not registered yet
    monkeypatch.setitem(SOURCES, "toy", Registered(f"{__name__}:ToySource", prices=True))
    assert load_config(cfg).instruments[0].source == "toy"
    # A registered source that is not a price source cannot be an instrument's source.
    cfg.write_text(CONFIG.format(db=tmp_path / "x.duckdb", source="rss", symbol="T"))
    with pytest.raises(
        ConfigError, match=r"'rss' is not allowed; allowed: ccxt, yahoo, toy, file, strip, demo"
    ):
        load_config(cfg)


def test_backfill_refuses_an_instrument_whose_origin_is_not_a_price_source(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "x.duckdb", source="file", symbol="T"))
    with pytest.raises(ConfigError, match="TOY comes from 'file'; backfill knows ccxt, yahoo"):
        backfill(
            load_config(cfg), tmp_path / "x.duckdb", "TOY", "1m", datetime(2024, 3, 1, tzinfo=UTC)
        )
