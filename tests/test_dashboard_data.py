"""dashboard.data on the fixture database: given rows → expected frames, budgets, cache refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dashboard import data, operations, prices, reactions
from pipelines import store
from pipelines.analytics import correlation, series
from tests.dashboard_fixture_db import END, GAP_START, SEED_EVENT, START, T0, build

# every test here reads the dashboard fixture database (conftest.fixture_db)
pytestmark = pytest.mark.usefixtures("use_db")


def _raw_bars(db: Path, instrument: str) -> pl.DataFrame:
    with store.reader(db) as con:
        return store.query_frame(
            con, "select * from bars where instrument_id = ? order by ts", [instrument]
        ).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))


def test_meta_and_timeframes() -> None:
    """The demo flag and each instrument's finest timeframe come from the file."""
    assert data.is_demo()
    assert data.finest_timeframes() == {"BTC": "1m", "ETH": "1m", "XAU": "5m"}


def test_candles_rebucket_first_max_min_last(fixture_db: Path) -> None:
    """A week of 1m bars becomes ≤ 2,000 candles whose OHLC equal first/max/min/last of each bucket."""
    start, end = START, START + timedelta(days=7)
    pf = prices.candles("BTC", start, end)
    assert pf is not None
    assert pf.frame.height <= series.MAX_CANDLES
    assert pf.bucket_s == 360  # 10,080 minutes / 2,000 → 6-minute buckets
    raw = _raw_bars(fixture_db, "BTC").filter(pl.col("ts") < end)
    expected = (
        raw.group_by_dynamic("ts", every="6m")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.len().alias("n"),
        )
        .sort("ts")
    )
    got = pf.frame
    assert got.height == expected.height == 1_680
    assert got["t_ms"].to_list() == expected["ts"].dt.epoch("ms").to_list()
    for col in ("open", "high", "low", "close"):
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy())
    assert pf.raw_points == raw.height


def test_line_is_downsampled_to_budget() -> None:
    """A line over the whole span stays within budget; its points are real bars, ends kept."""
    pf = prices.line("BTC", START, END, n_out=1_000)
    assert pf is not None
    assert pf.frame.height <= 1_000
    full = prices.candles("BTC", START, END, max_candles=20_000).frame  # 1 bucket = 1 bar here
    joined = pf.frame.join(full.select("t_ms", pl.col("close").alias("bar_close")), on="t_ms")
    assert joined.height == pf.frame.height
    np.testing.assert_allclose(joined["close"].to_numpy(), joined["bar_close"].to_numpy())
    assert pf.frame["t_ms"][0] == full["t_ms"][0]
    assert pf.frame["t_ms"][-1] == full["t_ms"][-1]


def test_bucket_seconds() -> None:
    """Buckets are whole multiples of the bar and never more than the budget."""
    day = datetime(2026, 1, 1, tzinfo=UTC)
    assert series.bucket_seconds(60, day, day + timedelta(hours=1), 2_000) == 60
    assert series.bucket_seconds(60, day, day + timedelta(days=365), 2_000) == 60 * 263
    assert series.bucket_seconds(300, day, day + timedelta(days=1), 10) == 8_700  # 29 bars


def test_events_search_by_words_category_instrument() -> None:
    """All words must appear (any case); category and instrument narrow further."""
    assert data.events(words=("china", "AI"))["event_id"].to_list() == [SEED_EVENT]
    assert data.events(words=("china", "fed")).height == 0
    assert data.events(category="macro")["event_id"].to_list() == ["ev-fed"]
    assert data.events(instrument="ETH")["event_id"].to_list() == [SEED_EVENT]
    assert data.events()["event_id"].to_list() == ["ev-sample", "ev-fed", SEED_EVENT]


def test_event_returns_find_the_jump(fixture_db: Path) -> None:
    """BTC jumps +2 % one minute after the event: +5m ≈ +2 % and highly significant; ETH does not."""
    rets = reactions.event_returns(["BTC", "ETH"], T0)
    btc = rets.filter((pl.col("instrument_id") == "BTC") & (pl.col("horizon") == "+5m")).row(
        0, named=True
    )
    raw = _raw_bars(fixture_db, "BTC")
    p0 = raw.filter(pl.col("ts") == T0 - timedelta(minutes=1))["close"][0]  # closes at t0
    p5 = raw.filter(pl.col("ts") == T0 + timedelta(minutes=4))["close"][0]  # closes at t0 + 5m
    assert btc["ret_pct"] == pytest.approx(100 * (p5 / p0 - 1))
    assert btc["ret_pct"] > 1.5
    assert btc["mark"] == "***"
    # q is Benjamini–Hochberg over the 10 tests returned: q = min over ranks ≥ r of 10·p/rank
    ps = rets["p_value"].to_list()
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    running, want = 1.0, [0.0] * len(ps)
    for rank in range(len(ps), 0, -1):
        running = min(running, ps[order[rank - 1]] * len(ps) / rank)
        want[order[rank - 1]] = running
    assert rets["q_value"].to_list() == pytest.approx(want)
    assert rets.filter(pl.col("instrument_id") == "ETH")["horizon"].to_list() == [
        "+5m",
        "+15m",
        "+1h",
        "+4h",
        "+1d",
    ]


def test_two_sided_p() -> None:
    """Two-sided normal p-values of the returns' z-scores."""
    from pipelines.analytics import verdict

    assert verdict.two_sided_p(1.96) == pytest.approx(0.05, abs=1e-4)
    assert verdict.two_sided_p(-3.0) == pytest.approx(0.0026998, abs=1e-6)
    assert verdict.two_sided_p(None) is None


def test_event_paths_rebased_at_anchor() -> None:
    """Paths are 0 % at the anchor bar (the one closing at t0) and in minutes from the event."""
    paths = reactions.event_paths(["BTC"], T0, 3_600, 3_600)
    at_zero = paths.filter(pl.col("minutes") == 0)
    assert at_zero["ret_pct"].to_list() == [0.0]
    assert paths["minutes"].min() == -60
    assert paths["minutes"].max() == 60
    assert paths.filter(pl.col("minutes") == 5)["ret_pct"][0] > 1.5


def test_movers_pick_the_biggest_linked_move() -> None:
    """The seed event's biggest mover in the hour after is BTC (it jumped 2 %)."""
    ev = data.events()
    movers = reactions.event_movers(ev)
    seed = movers.filter(pl.col("event_id") == SEED_EVENT).row(0, named=True)
    assert seed["top_instrument"] == "BTC"
    assert seed["top_ret_pct"] > 1.5


def test_strip_follows_watchlist_and_marks_unavailable() -> None:
    """Watchlist order; RAIN unavailable with its reason; prices from the newest quotes."""
    strip = prices.strip()
    ids = strip["instrument_id"].to_list()
    assert ids.index("BTC") < ids.index("ETH") < ids.index("XAU")  # seed-001 order
    btc = strip.filter(pl.col("instrument_id") == "BTC").row(0, named=True)
    assert (btc["price"], btc["change_pct"]) == (73_275.0, -0.17)
    rain = strip.filter(pl.col("instrument_id") == "RAIN").row(0, named=True)
    assert rain["available"] is False
    assert rain["unavailable_reason"] == "no configured venue lists RAIN"


def test_health_counts_the_gap() -> None:
    """ETH's missing half hour is one gap of 30 bars; BTC has none."""
    health = operations.health_instruments()
    eth = health.filter(pl.col("instrument_id") == "ETH").row(0, named=True)
    assert (eth["n_gaps"], eth["missing_bars"], eth["longest_gap_bars"]) == (1, 30, 30)
    assert eth["longest_gap_after"] == GAP_START - timedelta(minutes=1)
    btc = health.filter(pl.col("instrument_id") == "BTC").row(0, named=True)
    assert btc["n_gaps"] == 0
    runs = operations.health_runs()
    rss = runs.filter(pl.col("source") == "rss").row(0, named=True)
    assert rss["status"] == "failed"
    assert "HTTP 503" in rss["errors"]


def test_correlation_matrix_given_rows() -> None:
    """Perfectly co-moving returns correlate at 1, opposite ones at −1, diagonal 1."""
    returns = pl.DataFrame(
        {
            "t_ms": [1, 2, 3, 4],
            "A": [0.1, -0.2, 0.3, 0.0],
            "B": [0.2, -0.4, 0.6, 0.0],
            "C": [-0.1, 0.2, -0.3, 0.0],
        }
    )
    matrix = correlation.correlation_matrix(returns)
    assert matrix.filter(pl.col("instrument_id") == "A").select("A", "B", "C").row(
        0
    ) == pytest.approx((1.0, 1.0, -1.0))


def test_cache_sees_new_data_without_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write (new run, new event) changes the data key, so the next read shows the new rows."""
    db = build(tmp_path / "fresh.duckdb")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    before_key = data.data_key()
    assert data.events().height == 3
    with store.writer(db) as writer:
        run = writer.start_run("import:events")
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["ev-new"],
                    "title": ["Brand new"],
                    "event_at": [T0 + timedelta(days=1)],
                },
                schema_overrides={"event_at": pl.Datetime("us", "UTC")},
            ),
        )
        writer.finish_run(run)
    assert data.data_key() != before_key
    assert data.events()["event_id"].to_list()[0] == "ev-new"


def test_strip_falls_back_to_bars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without quotes, the strip shows the newest bar close and its change over 24 h."""
    db = build(tmp_path / "noquotes.duckdb")
    with store.writer(db) as writer:
        writer.con.execute("delete from quotes")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    strip = prices.strip()
    btc = strip.filter(pl.col("instrument_id") == "BTC").row(0, named=True)
    raw = _raw_bars(db, "BTC")
    last, day_before = (
        raw["close"][-1],
        raw.filter(pl.col("ts") <= raw["ts"][-1] - timedelta(days=1))["close"][-1],
    )
    assert btc["price"] == pytest.approx(last)
    assert btc["change_pct"] == pytest.approx(100 * (last / day_before - 1))
    assert btc["priced_from"] == "bars"
