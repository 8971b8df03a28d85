"""Property: on 24/7 bars with random gaps, bars off the grid, random event instants (mid-bar
too) and staleness limits, the engine's array alignment gives exactly the rows of the SQL
statement of the full rule (sql/queries/study_align_intraday.sql + study_paired.sql), target
and benchmark returns alike."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import store
from tests.test_analytics_align import _paired

FIVE = timedelta(minutes=5)
START = datetime(2025, 1, 6, tzinfo=UTC)
N_BARS = 120


def _bars(instrument: str, rng: np.random.Generator, drop: float, shift_s: int) -> pl.DataFrame:
    keep = rng.random(N_BARS) >= drop
    opens = [START + i * FIVE + timedelta(seconds=shift_s) for i in range(N_BARS) if keep[i]]
    closes = np.exp(np.cumsum(rng.normal(0, 0.01, N_BARS)))[keep] * 100
    return pl.DataFrame(
        {"instrument_id": instrument, "timeframe": "5m", "ts": opens, "close": closes,
         "source": "test"},
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    drop=st.sampled_from([0.0, 0.05, 0.3, 0.8]),
    off_grid=st.booleans(),
    t0_s=st.integers(40 * 300, 80 * 300),
    stale=st.integers(0, 3),
)
def test_array_alignment_equals_the_sql_full_rule(seed, drop, off_grid, t0_s, stale):
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.duckdb"
        with store.writer(db) as w:
            w.upsert("bars", _bars("AAA", rng, drop, 60 if off_grid else 0))
            w.upsert("bars", _bars("MKT", rng, drop / 2, 0))
        t0 = START + timedelta(seconds=t0_s)
        pairs = pl.DataFrame(
            [(0, "AAA", t0, 1, True), (1, "MKT", t0, None, False), (2, "MKT", t0, None, True)],
            schema={"pair_id": pl.Int64, "instrument_id": pl.Utf8,
                    "t0": pl.Datetime("us", "UTC"), "bench_pair_id": pl.Int64,
                    "is_target": pl.Boolean},
            orient="row",
        ).with_columns(pl.lit("24/7").alias("calendar"))  # fmt: skip
        binds = {"timeframe": "5m", "step_us": 300_000_000, "k_lo": -31, "k_hi": 30,
                 "stale": stale, "l1": -30, "l2": -6, "t1": -5, "t2": 30}  # fmt: skip
        got = _paired(db, pairs, binds, full_rule=False)
        want = _paired(db, pairs, binds, full_rule=True)
    assert got.keys() == want.keys()
    for key, want_row in want.items():
        for got_value, want_value in zip(got[key], want_row, strict=True):
            if want_value is None:
                assert got_value is None, key
            else:
                # Relative to the value, with an absolute floor of 1e-14: a zero-move return
                # is 0.0 by one path and a few ulps of the price ratio (8.9e-16) by the other.
                assert abs(got_value - want_value) <= 1e-12 * abs(want_value) + 1e-14, key


def test_rows_survive_the_trip_through_estimation_rows():
    """What a partitioned engine ships (event rows, params, estimation rows) rebuilds the same
    Rows on the driver."""
    from pipelines.analytics.abnormal import Rows, instrument_rows
    from pipelines.analytics.alignment import Bars, Grid

    rng = np.random.default_rng(1)
    step = 60_000_000
    ts = np.arange(2_000, dtype=np.int64) * step
    bars = Bars(ts, 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 2_000))))
    bench = Bars(ts, 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 2_000))))
    grid = Grid(step_us=step, k_lo=-201, k_hi=30, l1=-200, l2=-11, t1=-10, t2=30)
    t0 = np.array([500, 900, 1_700], dtype=np.int64) * step + 7_000_000
    rows = instrument_rows(bars, bench, np.array([4, 7, 9]), t0, grid, "market")
    again = Rows.from_frames(rows.event, rows.estimation_rows(), rows.params)
    assert np.array_equal(again.est_k, rows.est_k)
    assert np.array_equal(again.est_ar, rows.est_ar, equal_nan=True)
    assert rows.est_ar.shape == (190, 3) and not np.isnan(rows.est_ar).all()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    drop=st.sampled_from([0.0, 0.0, 0.01, 0.2]),
    off_grid=st.sampled_from([0.0, 0.0, 0.02]),
    width=st.integers(1, 40),
)
def test_as_of_equals_a_search_per_instant(seed, drop, off_grid, width):
    """Many events' rows at once, regular runs, gaps and bars off the grid mixed: the price
    of each instant is the last bar opening at or before it, as a plain search finds it."""
    from pipelines.analytics.alignment import NO_TIME, Bars, _as_of

    rng = np.random.default_rng(seed)
    step = 60
    slots = np.arange(300, dtype=np.int64) * step
    slots = slots + np.where(rng.random(300) < off_grid, rng.integers(1, step, 300), 0)
    ts = np.unique(slots[rng.random(300) >= drop])
    bars = Bars(ts, rng.uniform(1, 2, len(ts)))
    starts = rng.integers(-5 * step, 320 * step, 12)  # before the first bar and past the last
    latest_open = starts[:, None] + np.arange(width) * step
    bar_ts, close = _as_of(bars, latest_open, step)
    idx = np.searchsorted(ts, latest_open, side="right") - 1
    assert np.array_equal(bar_ts, np.where(idx >= 0, ts[np.maximum(idx, 0)], NO_TIME))
    want = np.where(idx >= 0, bars.close[np.maximum(idx, 0)], np.nan)
    assert np.array_equal(close, want, equal_nan=True)
