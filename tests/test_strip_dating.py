"""Undated strips are dated from stored bars: best day, runner-up, refusals; status --quotes diffs."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import store
from pipelines.cli import app
from pipelines.errors import DataError
from pipelines.schemas import UTC_TS
from pipelines.strip_dating import date_strip, day_fits

CLOCK = time(4, 57)
FIRST = date(2026, 5, 18)  # a Monday


def hourly(iid: str, days: int, price_of_day, *, weekdays_only: bool = False) -> pl.DataFrame:
    """1h bars for `days` days; every bar of day d closes at price_of_day(d)."""
    rows = []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        if weekdays_only and day.weekday() >= 5:
            continue
        for h in range(24):
            opened = datetime.combine(day, time(h), tzinfo=UTC)
            rows.append((iid, opened + timedelta(hours=1), price_of_day(d)))
    return pl.DataFrame(
        rows,
        schema={"instrument_id": pl.Utf8, "close_at": UTC_TS, "close": pl.Float64},
        orient="row",
    )


def test_best_day_is_the_one_whose_prices_match():
    bars = pl.concat(
        [hourly("BTC", 10, lambda d: 100.0 + 3 * d), hourly("ETH", 10, lambda d: 50.0 + d)]
    )
    # The strip's prices are those of day 4 (2026-05-22) at 04:57: the 03:00 bar, closed 04:00.
    dating = date_strip({"BTC": 112.0, "ETH": 54.0}, CLOCK, bars)
    assert dating.best.day == date(2026, 5, 22) and dating.best.error_pct == 0.0
    assert dating.best.n == 2
    # The runner-up is a neighbouring day: median of |ln| errors of BTC and ETH, in percent.
    r = dating.runner_up
    assert r is not None and r.day in (date(2026, 5, 21), date(2026, 5, 23))
    off = FIRST + timedelta(days=4) - r.day
    d = 4 - off.days
    want = (abs(math.log(112 / (100 + 3 * d))) + abs(math.log(54 / (50 + d)))) / 2 * 100
    assert r.error_pct == pytest.approx(want, rel=1e-12)
    assert "runner-up" in dating.note() and "2026-05-22" in dating.note()
    assert dating.detail.filter(pl.col("instrument_id") == "BTC")["bar_close"][0] == 112.0


def test_a_closed_market_shows_its_last_close_on_the_weekend():
    # WTI trades on weekdays only; on Saturday 05-23 at 04:57 the strip shows Friday's close.
    bars = pl.concat([
        hourly("BTC", 10, lambda d: 100.0 + 3 * d),
        hourly("WTI", 10, lambda d: 80.0 + d, weekdays_only=True),
    ])  # fmt: skip
    dating = date_strip({"BTC": 115.0, "WTI": 84.0}, CLOCK, bars)  # Saturday: BTC day 5, WTI Fri
    assert dating.best.day == date(2026, 5, 23) and dating.best.n == 2
    assert dating.best.error_pct == 0.0


def test_refuses_when_no_day_is_clearly_best():
    flat = pl.concat([hourly("BTC", 6, lambda d: 100.0), hourly("ETH", 6, lambda d: 50.0)])
    with pytest.raises(DataError, match="no day is clearly best"):
        date_strip({"BTC": 100.0, "ETH": 50.0}, CLOCK, flat)


def test_refuses_when_even_the_best_day_is_far_off():
    bars = pl.concat([hourly("BTC", 6, lambda d: 100.0 + d), hourly("ETH", 6, lambda d: 50.0 + d)])
    with pytest.raises(DataError, match="even the best day"):
        date_strip({"BTC": 200.0, "ETH": 90.0}, CLOCK, bars)


def test_refuses_without_bars_or_with_one_symbol_only():
    empty = pl.DataFrame(schema={"instrument_id": pl.Utf8, "close_at": UTC_TS, "close": pl.Float64})
    with pytest.raises(DataError, match="no stored bars"):
        date_strip({"BTC": 1.0, "XYZ": 2.0}, CLOCK, empty)
    one = hourly("BTC", 6, lambda d: 100.0 + d)
    assert day_fits({"BTC": 101.0, "XYZ": 2.0}, CLOCK, one).height == 0
    with pytest.raises(DataError, match="no day has bars for 2"):
        date_strip({"BTC": 101.0, "XYZ": 2.0}, CLOCK, one)


def _bars_csv(path: Path, iid_prices: dict[str, float]) -> None:
    """A 1h CSV per instrument for 2026-05-18 … 05-27 whose closes rise 1 % a day."""
    for iid, base in iid_prices.items():
        rows = []
        for d in range(10):
            for h in range(24):
                at = datetime.combine(FIRST + timedelta(days=d), time(h), tzinfo=UTC)
                price = round(base * 1.01**d, 4)
                rows.append(f"{at:%Y-%m-%d %H:%M:%S},{price},{price},{price},{price},1")
        (path / f"{iid}.csv").write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")


def test_cli_dates_an_undated_strip_and_status_shows_the_differences(tmp_path):
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    _bars_csv(tmp_path, {"BTC": 70000.0, "ETH": 2000.0})
    for iid in ("BTC", "ETH"):
        done = runner.invoke(
            app,
            [
                "--db",
                str(db),
                "import",
                "bars",
                str(tmp_path / f"{iid}.csv"),
                "-i",
                iid,
                "-t",
                "1h",
            ],
        )
        assert done.exit_code == 0, done.output
    day = 6  # 2026-05-24
    btc, eth = round(70000 * 1.01**day, 4), round(2000 * 1.01**day, 4)
    page = tmp_path / "strip.txt"
    page.write_text(f"BTC${btc:,.2f}▲ 1.00%ETH${eth:,.2f}▼ 0.50%\nPrices as of 04:57 UTC\n")
    undated = runner.invoke(app, ["--db", str(db), "import", "strip", str(page)])
    assert undated.exit_code == 0, undated.output
    assert "date: 2026-05-24 (dated from stored bars: median error" in undated.output
    assert "runner-up 2026-05-2" in undated.output
    with store.reader(db) as con:
        at = con.execute("select distinct ts from quotes").fetchall()
    assert at == [(datetime(2026, 5, 24, 4, 57, tzinfo=UTC),)]
    # With --date the user's day is taken as given; status --quotes shows how far off it is.
    dated = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "import",
            "strip",
            str(page),
            "--date",
            "2026-05-26",
            "--outlet",
            "given",
        ],
    )
    assert dated.exit_code == 0 and "2026-05-26 (from --date)" in dated.output
    assert "tickerwire status --quotes --days" in dated.output
    status = runner.invoke(
        app, ["--db", str(db), "status", "--quotes", "--days", "3650", "--format", "csv"]
    )
    assert status.exit_code == 0, status.output
    table = pl.read_csv(status.output.encode())
    given = table.filter(pl.col("quote_source") == "strip:given", pl.col("instrument_id") == "BTC")
    # 05-26 04:57 sees the 03:00 bar of day 8: the strip (day 6) is 1.01^-2 − 1 of it.
    assert given["diff_pct"][0] == pytest.approx(round(100 * (1.01**-2 - 1), 3), abs=2e-3)
    own = table.filter(pl.col("quote_source") == "strip:strip", pl.col("instrument_id") == "BTC")
    assert own["diff_pct"][0] == pytest.approx(0.0, abs=1e-3)
