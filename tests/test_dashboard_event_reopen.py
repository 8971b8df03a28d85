"""The Event page's returns (sql/queries/events_returns.sql) for news that breaks while the
market is closed: anchored at the last close before it, plus the reaction at the reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from dashboard import data
from pipelines import store

HOUR = timedelta(hours=1)


def _returns(db: Path, t0: datetime) -> pl.DataFrame:
    params = {
        "ids": ["GC"],
        "timeframe": "1h",
        "tf_s": 3600,
        "t0": t0,
        "labels": [h for h, _ in data.HORIZONS],
        "secs": [s for _, s in data.HORIZONS],
        "max_h_s": max(s for _, s in data.HORIZONS) + 3600,
        "stale_bars": 2,
    }
    with store.reader(db) as con:
        return store.query_frame(con, store.load_sql("events_returns"), params)


@pytest.fixture
def weekend_db(db_path: Path) -> Path:
    # CME gold, CDT: Friday 29 May 2026 bars to the 20:00 one (closes 21:00 = 16:00 CT), then
    # the Sunday 31 May reopen at 22:00 UTC (17:00 CT).
    friday = [datetime(2026, 5, 29, 10, tzinfo=UTC) + i * HOUR for i in range(11)]
    sunday = [datetime(2026, 5, 31, 22, tzinfo=UTC) + i * HOUR for i in range(30)]
    closes = [100.0 + i for i in range(11)] + [120.0 + i for i in range(30)]
    with store.writer(db_path) as writer:
        writer.upsert(
            "instruments",
            pl.DataFrame({"instrument_id": ["GC"], "calendar": ["cme_globex"]}),
        )
        writer.upsert(
            "bars",
            pl.DataFrame(
                {
                    "instrument_id": "GC",
                    "timeframe": "1h",
                    "ts": friday + sunday,
                    "close": closes,
                    "source": "test",
                },  # fmt: skip
                schema_overrides={"ts": pl.Datetime("us", "UTC")},
            ),
        )
    return db_path


def test_a_saturday_event_is_measured_at_the_sunday_reopen(weekend_db):
    rets = _returns(weekend_db, datetime(2026, 5, 30, 12, tzinfo=UTC))
    by = {r["horizon"]: r for r in rets.iter_rows(named=True)}
    reopen = by["at reopen, Sun 22:00 UTC"]
    # from Friday's last close (110) to the first bar closed after the reopen (22:00 → 120)
    assert reopen["ret_pct"] == pytest.approx(100 * (120 / 110 - 1))
    assert reopen["priced_at"] == datetime(2026, 5, 31, 23, tzinfo=UTC)
    assert reopen["z"] is None  # no per-bar scale across closed hours
    # the fixed horizons fall on Saturday: no fresh price
    assert all(by[h]["ret_pct"] is None for h in ("+5m", "+15m", "+1h", "+4h"))
    # +1d (Sunday 12:00) is still closed
    assert by["+1d"]["ret_pct"] is None


def test_an_event_in_open_hours_has_no_reopen_row(weekend_db):
    rets = _returns(weekend_db, datetime(2026, 6, 1, 1, 30, tzinfo=UTC))
    assert not any(h.startswith("at reopen") for h in rets["horizon"])
    by = {r["horizon"]: r for r in rets.iter_rows(named=True)}
    # 01:30 → the 00:00 bar (122); +1h = 02:30 → the 01:00 bar (123)
    assert by["+1h"]["ret_pct"] == pytest.approx(100 * (123 / 122 - 1))


def test_a_horizon_priced_by_the_anchor_bar_is_blank_not_zero(db_path: Path) -> None:
    # 24/7 hourly bars, news at 14:25: P(t0) is the 13:00 bar (closes 14:00). At +5m and +15m no
    # bar has closed since t0 (the next closes at 15:00), so they measure nothing: blank, not the
    # 0 % that re-reading the anchor's own close would give; +1h is priced by the 14:00 bar.
    hours = [datetime(2026, 5, 20, tzinfo=UTC) + i * HOUR for i in range(7 * 24 + 2)]
    closes = [100.0 * (1.001 if i % 2 else 0.999) ** (i % 5) for i in range(len(hours))]
    with store.writer(db_path) as writer:
        writer.upsert("instruments", pl.DataFrame({"instrument_id": ["GC"], "calendar": ["24/7"]}))
        writer.upsert(
            "bars",
            pl.DataFrame(
                {
                    "instrument_id": "GC",
                    "timeframe": "1h",
                    "ts": hours,
                    "close": closes,
                    "source": "test",
                },
                schema_overrides={"ts": pl.Datetime("us", "UTC")},
            ),  # fmt: skip
        )
    t0 = datetime(2026, 5, 26, 14, 25, tzinfo=UTC)
    got = {r["horizon"]: r for r in _returns(db_path, t0).iter_rows(named=True)}
    assert got["+5m"]["ret_pct"] is None and got["+15m"]["ret_pct"] is None
    by_ts = dict(zip(hours, closes, strict=True))
    p0 = by_ts[datetime(2026, 5, 26, 13, tzinfo=UTC)]
    p1 = by_ts[datetime(2026, 5, 26, 14, tzinfo=UTC)]  # the bar that closes at 15:00 ≤ 15:25
    assert got["+1h"]["ret_pct"] == pytest.approx(100 * (p1 / p0 - 1), abs=1e-12)
