"""Property tests of the event-study maths on synthetic data (hypothesis): CAR additivity,
invariance to price scale, recovery of known market-model α and β, uniform placebo p-values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from scipy import stats as sps

from pipelines import store
from pipelines.analytics import StudySpec, run_study

START = datetime(2025, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
N_BARS = 3000
SLOW = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def minute_bars(instrument: str, log_prices: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "instrument_id": instrument,
            "timeframe": "1m",
            "ts": pl.datetime_range(
                START, START + (len(log_prices) - 1) * MINUTE, "1m", eager=True, time_zone="UTC"
            ),
            "close": np.exp(log_prices),
            "source": "synthetic",
        }
    ).with_columns(pl.col("ts").dt.cast_time_unit("us"))


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory) -> Path:
    """Benchmark MKT (random walk), AAA = 0.0002 + 1.5·MKT + noise, and AAA scaled by 37.5."""
    rng = np.random.default_rng(20250101)
    m = rng.normal(0, 0.001, N_BARS)
    r = 0.0002 + 1.5 * m + rng.normal(0, 0.0005, N_BARS)
    db = tmp_path_factory.mktemp("study") / "synthetic.duckdb"
    with store.writer(db) as writer:
        writer.upsert("bars", minute_bars("MKT", np.log(50.0) + np.cumsum(m)))
        writer.upsert("bars", minute_bars("AAA", np.log(10.0) + np.cumsum(r)))
        writer.upsert("bars", minute_bars("AAA_X", np.log(10.0 * 37.5) + np.cumsum(r)))
    return db


def event_at(minute: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"event_id": ["e"], "event_at": [START + minute * MINUTE + timedelta(seconds=17)]}
    )


@SLOW
@given(
    a=hs.integers(-10, 20),
    width1=hs.integers(0, 15),
    width2=hs.integers(1, 15),
    model=hs.sampled_from(["constant", "market-adjusted", "market"]),
)
def test_car_is_additive_over_adjacent_sub_windows(synthetic_db, a, width1, width2, model):
    b = a + width1
    c = b + width2
    with store.reader(synthetic_db) as con:
        result = run_study(
            con,
            StudySpec(
                events=event_at(1500),
                instruments=("AAA",),
                timeframe="1m",
                window=(-10, 40),
                estimation=(-400, -20),
                model=model,
                benchmark="MKT",
                car_windows=((a, b), (b + 1, c), (a, c)),
            ),
        )
    car = {(r["car_from"], r["car_to"]): r["car"] for r in result.car.iter_rows(named=True)}
    assert car[(a, c)] == pytest.approx(car[(a, b)] + car[(b + 1, c)], abs=1e-12)
    # and the running CAR of the AR frame agrees with the window sums
    ar = result.ar.filter(pl.col("offset").is_between(a, c))
    assert ar["ar"].sum() == pytest.approx(car[(a, c)], abs=1e-12)


@SLOW
@given(
    minute=hs.integers(500, 2500), model=hs.sampled_from(["constant", "market-adjusted", "market"])
)
def test_abnormal_returns_do_not_depend_on_the_price_scale(synthetic_db, minute, model):
    with store.reader(synthetic_db) as con:
        spec = dict(
            events=event_at(minute),
            timeframe="1m",
            window=(-5, 30),
            estimation=(-300, -10),
            model=model,
            benchmark="MKT",
        )
        plain = run_study(con, StudySpec(instruments=("AAA",), **spec)).ar
        scaled = run_study(con, StudySpec(instruments=("AAA_X",), **spec)).ar
    assert plain["ar"].to_list() == pytest.approx(scaled["ar"].to_list(), abs=1e-12)
    assert scaled["price"].to_list() == pytest.approx((plain["price"] * 37.5).to_list(), rel=1e-12)


@settings(max_examples=6, deadline=None)
@given(
    alpha=hs.floats(-1e-3, 1e-3),
    beta=hs.floats(-2.0, 3.0),
    seed=hs.integers(0, 2**31 - 1),
)
def test_market_model_recovers_known_alpha_and_beta(tmp_path_factory, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    n = 900
    m = rng.normal(0, 0.002, n)
    r = alpha + beta * m + rng.normal(0, 1e-5, n)
    db = tmp_path_factory.mktemp("mm") / "mm.duckdb"
    with store.writer(db) as writer:
        writer.upsert("bars", minute_bars("IDX", np.cumsum(m)))
        writer.upsert("bars", minute_bars("SEC", np.cumsum(r)))
    with store.reader(db) as con:
        result = run_study(
            con,
            StudySpec(
                events=event_at(800),
                instruments=("SEC",),
                timeframe="1m",
                window=(0, 10),
                estimation=(-700, -5),
                model="market",
                benchmark="IDX",
            ),
        )
    row = result.car.row(0, named=True)
    assert row["beta"] == pytest.approx(beta, abs=5e-3)
    assert row["alpha"] == pytest.approx(alpha, abs=5e-6)
    assert row["n_estimation"] == 696
    # with the true model, the event-window ARs are just the small noise
    assert result.ar["ar"].abs().max() < 1e-4


def test_placebo_p_values_are_uniform_under_the_null(tmp_path: Path):
    """Events at random instants of a random walk: the empirical p-values look uniform."""
    rng = np.random.default_rng(7)
    n = 40_000
    db = tmp_path / "h0.duckdb"
    with store.writer(db) as writer:
        writer.upsert("bars", minute_bars("RW", np.cumsum(rng.normal(0, 0.001, n))))
    minutes = np.sort(rng.choice(np.arange(200, n - 200), size=80, replace=False))
    events = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(minutes))],
            "event_at": [START + int(x) * MINUTE + timedelta(seconds=30) for x in minutes],
        }
    )
    with store.reader(db) as con:
        result = run_study(
            con,
            StudySpec(
                events=events,
                instruments=("RW",),
                timeframe="1m",
                window=(0, 10),
                estimation=(-60, -5),
                car_windows=((1, 10),),
                placebo=49,
                seed=11,
            ),
        )
    p = result.placebo["placebo_p"].drop_nulls().to_numpy()
    assert len(p) == 80
    assert result.placebo["n_placebo"].min() >= 40
    assert ((p > 0) & (p <= 1)).all()
    assert sps.kstest(p, "uniform").pvalue > 0.01
    # and the p-values land on the CAR frame too
    assert result.car["placebo_p"].drop_nulls().len() == 80
    # the draws behind each p-value are returned too: their count and the p-value recomputed
    # from them agree with the summary row
    draws = result.placebo_draws.join(
        result.placebo.select(
            "event_id", "instrument_id", "car_from", "car_to", pl.col("car").alias("observed")
        ),
        on=["event_id", "instrument_id", "car_from", "car_to"],
    )
    recomputed = draws.group_by("event_id").agg(
        pl.len().alias("n"),
        ((pl.col("car").abs() >= pl.col("observed").abs()).sum() + 1).alias("k"),
    )
    check = result.placebo.join(recomputed, on="event_id")
    assert (check["n"] == check["n_placebo"]).all()
    assert np.allclose(check["k"] / (check["n"] + 1), check["placebo_p"])
