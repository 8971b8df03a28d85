"""Real data: Binance 5-minute BTC around two 2025 Truth Social posts (../shared), constant-mean
model, estimation −288…−13, CAR over +1…+12 — values from an independent computation of
DESIGN §4 (the issue), matched to 1e-4 absolute."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines import store
from pipelines.analytics import StudySpec, run_study

POSTS = {
    "2025-04-09 17:18:40": (0.0471, 5.2),  # tariff pause
    "2025-03-02 15:24:20": (0.0477, 12.6),  # crypto reserve
}


@pytest.fixture(scope="module")
def btc_db(tmp_path_factory, shared: Path) -> Path:
    prices = pl.read_parquet(shared / "data" / "prices" / "binance_5m" / "BTC_USDT-5m.parquet")
    bars = prices.filter(
        pl.col("ts").is_between(
            datetime(2025, 2, 25, tzinfo=UTC), datetime(2025, 4, 12, tzinfo=UTC)
        )
    ).select(
        pl.lit("BTC").alias("instrument_id"),
        pl.lit("5m").alias("timeframe"),
        pl.col("ts").dt.cast_time_unit("us"),
        "open",
        "high",
        "low",
        "close",
        "volume",
        pl.lit("binance").alias("source"),
    )
    posts = pl.read_csv(shared / "data" / "events" / "truth_social_2025.csv").select(
        pl.col("Tweet_ID").cast(pl.Utf8).alias("event_id"),
        pl.col("Text").fill_null("").str.slice(0, 100).alias("title"),
        pl.col("Created")
        .str.to_datetime(time_zone="UTC")
        .dt.cast_time_unit("us")
        .alias("event_at"),
        pl.lit("truth social").alias("category"),
    )
    db = tmp_path_factory.mktemp("btc") / "btc.duckdb"
    with store.writer(db) as writer:
        writer.upsert("bars", bars)
        writer.upsert("events", posts)
    return db


def test_btc_car_after_the_two_posts(btc_db: Path):
    with store.reader(btc_db) as con:
        ids = store.query_frame(
            con,
            "select event_id, strftime(event_at, '%Y-%m-%d %H:%M:%S') as at from events "
            "where list_contains($at, strftime(event_at, '%Y-%m-%d %H:%M:%S'))",
            {"at": list(POSTS)},
        )
        assert ids.height == 2
        result = run_study(
            con,
            StudySpec(
                event_ids=tuple(ids["event_id"]),
                instruments=("BTC",),
                timeframe="auto",
                window=(-12, 24),
                estimation=(-288, -13),
                model="constant",
                car_windows=((1, 12),),
            ),
        )
    assert result.timeframe == "5m"
    at_of = dict(ids.iter_rows())
    for row in result.car.iter_rows(named=True):
        want_car, want_t = POSTS[at_of[row["event_id"]]]
        assert row["car"] == pytest.approx(want_car, abs=1e-4)
        assert row["z"] == pytest.approx(want_t, abs=0.05)
        assert row["n_valid"] == 12
        assert row["n_estimation"] == 276
    # the two posts have other posts inside their windows: they are listed as confounders
    assert result.confounders.height > 0
    assert set(result.confounders["event_id"]) <= set(ids["event_id"])
