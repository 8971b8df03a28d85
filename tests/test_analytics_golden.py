"""Golden check: the estudy2 example (../shared/data/estudy2) reproduced to 1e-6 relative,
through the Python API and through `tickerwire study`."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import store
from pipelines.analytics import StudySpec, run_study
from pipelines.cli import app

SECURITIES = ("AMZN", "ZM", "UBER", "NFLX", "SHOP", "FB", "UPWK")
ESTIMATION = (date(2019, 4, 1), date(2020, 3, 13))
EVENT = (date(2020, 3, 16), date(2020, 3, 20))
PARAMETRIC = (
    "mean_ar",
    "bw_1980_stat",
    "bw_1985_stat",
    "t_test_stat",
    "patell_stat",
    "bmp_stat",
    "lamb_stat",
)
NONPARAMETRIC = (
    "sign_stat",
    "generalized_sign_stat",
    "corrado_sign_stat",
    "rank_stat",
    "modified_rank_stat",
    "wilcoxon_stat",
)


def rates_to_bars(rates: pl.DataFrame) -> pl.DataFrame:
    """Daily bars whose log returns are the given returns: price = exp(cumulative sum), starting
    at 1.0 on the trading day before each series' first return."""
    frames = []
    for name in rates.columns[1:]:
        series = rates.select("date", name).filter(pl.col(name).is_not_null())
        first = series["date"][0]
        before = first - timedelta(days=3 if first.weekday() == 0 else 1)
        base = pl.DataFrame({"date": [before], name: [0.0]}, schema=series.schema)
        series = pl.concat([base, series]).with_columns(pl.col(name).cum_sum().exp().alias("close"))
        frames.append(
            series.select(
                pl.lit(name).alias("instrument_id"),
                pl.lit("1d").alias("timeframe"),
                pl.col("date").cast(pl.Datetime("us", "UTC")).alias("ts"),
                "close",
                pl.lit("estudy2").alias("source"),
            )
        )
    return pl.concat(frames)


@pytest.fixture
def golden_db(db_path: Path, shared: Path) -> Path:
    rates = pl.read_csv(shared / "data" / "estudy2" / "rates.csv", try_parse_dates=True)
    with store.writer(db_path) as writer:
        writer.upsert("bars", rates_to_bars(rates))
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["covid-crash"],
                    "title": ["COVID-19 market crash week"],
                    "event_at": [datetime(2020, 3, 16, 13, 30, tzinfo=UTC)],
                }
            ),
        )
    return db_path


def expected(shared: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(shared / "data" / "estudy2" / name, try_parse_dates=True)


def assert_matches(got: pl.DataFrame, want: pl.DataFrame, columns: tuple[str, ...]) -> None:
    assert got.height == want.height == 5
    for column in columns:
        for g, w in zip(got[column].to_list(), want[column].to_list(), strict=True):
            assert g == pytest.approx(w, rel=1e-6), (column, g, w)


def golden_spec() -> StudySpec:
    return StudySpec(
        event_ids=("covid-crash",),
        instruments=SECURITIES,
        timeframe="1d",
        window_dates=EVENT,
        estimation_dates=ESTIMATION,
        model="market",
        benchmark="GSPC",
    )


def test_golden_through_the_api(golden_db: Path, shared: Path):
    with store.reader(golden_db) as con:
        result = run_study(con, golden_spec())
    summary = result.summary.with_columns(pl.col("ts").dt.date().alias("date"))
    assert summary["date"].to_list() == [EVENT[0] + timedelta(days=i) for i in range(5)]
    assert summary["offset"].to_list() == [0, 1, 2, 3, 4]
    assert_matches(summary, expected(shared, "expected_parametric.csv"), PARAMETRIC)
    assert_matches(summary, expected(shared, "expected_nonparametric.csv"), NONPARAMETRIC)
    # ZM and UBER listed during the estimation window: their fits use what exists.
    n_est = dict(result.car.select("instrument_id", "n_estimation").iter_rows())
    assert n_est["AMZN"] > n_est["ZM"] > n_est["UBER"] > 150


def test_golden_through_the_cli(golden_db: Path, shared: Path):
    args = [
        "--db",
        str(golden_db),
        "study",
        "--event",
        "covid-crash",
        "--instruments",
        ",".join(SECURITIES),
        "--timeframe",
        "1d",
        "--window-dates",
        f"{EVENT[0]}:{EVENT[1]}",
        "--estimation-dates",
        f"{ESTIMATION[0]}:{ESTIMATION[1]}",
        "--model",
        "market",
        "--benchmark",
        "GSPC",
        "--level",
        "summary",
        "--format",
        "csv",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = pl.read_csv(io.StringIO(result.stdout))
    assert_matches(summary, expected(shared, "expected_parametric.csv"), PARAMETRIC)
    assert_matches(summary, expected(shared, "expected_nonparametric.csv"), NONPARAMETRIC)


def test_golden_prices_round_trip_the_returns(golden_db: Path, shared: Path):
    rates = pl.read_csv(shared / "data" / "estudy2" / "rates.csv", try_parse_dates=True)
    with store.reader(golden_db) as con:
        result = run_study(con, golden_spec())
    amzn = result.ar.filter(pl.col("instrument_id") == "AMZN").sort("offset")
    want = rates.filter(pl.col("date").is_between(*EVENT))["AMZN"].to_list()
    assert amzn["ret"].to_list() == pytest.approx(want, rel=1e-9)
