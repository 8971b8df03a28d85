"""The result frames do not depend on the route their inputs took: the event-window matrices
an intraday engine hands over give the same summary as matrices rebuilt from the event rows,
and the AR frame is the same whatever order the event rows come in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipelines import store
from pipelines.analytics import StudySpec, results, study

START = datetime(2025, 3, 3, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def minute_bars(instrument: str, log_prices: np.ndarray, gaps: np.ndarray) -> pl.DataFrame:
    """One-minute bars of exp(log_prices), less the bars at the `gaps` positions."""
    ts = pl.datetime_range(
        START, START + (len(log_prices) - 1) * MINUTE, "1m", eager=True, time_zone="UTC"
    )
    keep = np.ones(len(log_prices), dtype=bool)
    keep[gaps] = False
    return (
        pl.DataFrame(
            {
                "instrument_id": instrument,
                "timeframe": "1m",
                "ts": ts,
                "close": np.exp(log_prices),
                "source": "synthetic",
            }
        )
        .with_columns(pl.col("ts").dt.cast_time_unit("us"))
        .filter(pl.Series(keep))
    )


@pytest.fixture(scope="module")
def gappy_db(tmp_path_factory) -> Path:
    """A benchmark and three instruments on 4,000 minutes, with missing bars (some stale)."""
    rng = np.random.default_rng(7)
    n = 4000
    db = tmp_path_factory.mktemp("results") / "gappy.duckdb"
    with store.writer(db) as writer:
        m = rng.normal(0, 0.001, n)
        writer.upsert("bars", minute_bars("MKT", np.cumsum(m), rng.integers(0, n, 30)))
        for name in ("AAA", "BBB", "CCC"):
            r = 1.2 * m + rng.normal(0, 0.0007, n)
            gaps = rng.integers(0, n, 300)
            if name == "CCC":  # no bars for longer than the staleness limit in event e2's window
                gaps = np.concatenate([gaps, np.arange(1810, 1830)])
            writer.upsert("bars", minute_bars(name, np.cumsum(r), gaps))
    return db


def _rows(db: Path):
    events = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(6)],
            "event_at": [START + (900 + 450 * i) * MINUTE + timedelta(seconds=5) for i in range(6)],
        }
    )
    spec = StudySpec(
        events=events,
        instruments=("CCC", "AAA", "BBB"),
        timeframe="1m",
        window=(-5, 30),
        estimation=(-600, -10),
        model="market",
        benchmark="MKT",
    )
    with store.reader(db) as con:
        plan = study._plan(con, spec, None)
        rows = study.abnormal_rows(con, plan.pairs, plan.geometry, spec.model, plan.stale)
    return rows, plan.pairs.filter(pl.col("is_target"))


def test_held_event_matrices_give_the_summary_rebuilt_from_the_rows(gappy_db):
    rows, targets = _rows(gappy_db)
    assert rows.event_matrices is not None
    assert np.isnan(rows.event_matrices.ar).any()  # the gaps reach the statistics
    held = results.summary_frame(rows, targets, "market")
    rebuilt = results.summary_frame(replace(rows, event_matrices=None), targets, "market")
    assert held.height == 36
    assert held.equals(rebuilt, null_equal=True)
    # and after pairs are left out (the short-estimation rule), in another target order
    dropped = int(targets["pair_id"][1])
    fewer = rows.without({dropped})
    others = targets.filter(pl.col("pair_id") != dropped).reverse()
    assert results.summary_frame(fewer, others, "market").equals(
        results.summary_frame(replace(fewer, event_matrices=None), others, "market"),
        null_equal=True,
    )


def test_ar_frame_does_not_depend_on_the_order_of_the_event_rows(gappy_db):
    rows, targets = _rows(gappy_db)
    ordered = results.ar_frame(rows.event, targets, "1m")
    shuffled = results.ar_frame(
        rows.event.sample(fraction=1.0, shuffle=True, seed=3), targets, "1m"
    )
    assert ordered.equals(shuffled, null_equal=True)
    # rows of pairs that are no longer targets are dropped, as by an inner join
    fewer = targets.slice(1)
    expected = ordered.filter(
        pl.struct("event_id", "instrument_id").is_in(
            fewer.select(pl.struct("event_id", "instrument_id")).to_series().implode()
        )
    )
    assert results.ar_frame(rows.event, fewer, "1m").equals(expected, null_equal=True)
    # the running CAR restarts at each pair: the sum of its valid ARs so far
    one = ordered.filter(pl.col("event_id") == "e2", pl.col("instrument_id") == "BBB")
    ar = one["ar"].to_numpy()
    assert np.allclose(
        one["car"].to_numpy()[~np.isnan(ar)], np.nancumsum(ar)[~np.isnan(ar)], rtol=0, atol=1e-15
    )
