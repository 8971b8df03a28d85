"""The synthetic database (benchmarks, scale tests): deterministic, pinned to the strip, sessions respected, no fake reactions."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import demo, store, synthetic
from pipelines.config import load_config, parse_config
from pipelines.errors import StoreError
from pipelines.paths import REPO_ROOT
from pipelines.schemas import validate_bars

CONFIG = load_config(REPO_ROOT / "tickerwire.toml")
FUTURES = ("XAU", "XAG", "WTI", "BRENT", "NATGAS")
STABLES = ("USDS", "FIGR_HELOC")
CRYPTO = tuple(i.id for i in CONFIG.instruments if i.calendar == "24/7")
RISKY_CRYPTO = tuple(i for i in CRYPTO if i not in STABLES)
DAYS = 28  # 2026-05-12 00:00 → 2026-06-09 00:00 UTC


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> synthetic.DemoStats:
    """One demo build shared by the read-only tests of this module."""
    path = tmp_path_factory.mktemp("demo") / "synthetic.duckdb"
    return synthetic.build_synthetic(path, CONFIG)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> synthetic.DemoStats:
    """A demo of two instruments: BTC and an NYSE-listed one the strip does not know."""
    raw = {
        "instruments": [
            {"id": "BTC", "asset_class": "crypto", "source": "ccxt", "symbol": "BTC/USDT"},
            {
                "id": "SPY",
                "asset_class": "equity",
                "source": "yahoo",
                "symbol": "SPY",
                "calendar": "nyse",
                "exchange_tz": "America/New_York",
            },
        ]
    }
    folder = tmp_path_factory.mktemp("small")
    config = parse_config(raw, folder / "small.toml")
    return synthetic.build_synthetic(folder / "small.duckdb", config)


@pytest.fixture
def con(built):
    with store.reader(built.db_path) as connection:
        connection.execute("set TimeZone = 'UTC'")
        yield connection


def frame(con, sql: str, params=None) -> pl.DataFrame:
    return store.query_frame(con, sql, params)


# ---------------------------------------------------------------------------- determinism


def test_rebuild_over_the_file_gives_the_same_checksum(built, tmp_path):
    # Rebuild over an existing synthetic file: it is deleted and built again, not appended to.
    path = tmp_path / "again.duckdb"
    shutil.copy(built.db_path, path)
    again = synthetic.build_synthetic(path, CONFIG)
    assert again.checksum == built.checksum
    assert again.total_rows == built.total_rows
    with store.reader(path) as c:
        assert c.execute("select count(*) from bars").fetchall()[0][0] == built.rows["bars"]
        assert c.execute("select count(*) from ingest_runs").fetchall()[0][0] == 1
    assert not Path(str(path) + ".wal").exists()


def test_checksum_sees_content_but_not_wall_clock_columns(small, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(small.db_path, copy)
    with store.writer(copy) as w:
        w.con.execute("update bars set ingested_at = now()")
        w.con.execute("update articles set fetched_at = now()")
        assert demo.checksum(w.con) == small.checksum
        w.con.execute(
            "update bars set close = close + 0.01 "
            "where instrument_id = 'BTC' and ts = '2026-06-01 12:00:00+00'"
        )
        assert demo.checksum(w.con) != small.checksum


def test_other_seed_gives_other_prices_same_anchors(tmp_path):
    bars, _ = synthetic.simulate_bars(CONFIG, seed=7)
    base, _ = synthetic.simulate_bars(CONFIG)
    assert bars.height == base.height
    assert not bars["close"].equals(base["close"])
    anchor = bars.filter(pl.col("ts") == synthetic.ANCHOR_BAR_TS).sort("instrument_id")
    assert dict(anchor.select("instrument_id", "close").iter_rows()) == {
        k: v[0] for k, v in synthetic.STRIP.items()
    }


# ---------------------------------------------------------------------------- bars


def test_row_counts_per_instrument(con, built):
    counts = dict(frame(con, "select instrument_id, count(*) from bars group by 1").iter_rows())
    assert set(counts) == set(CONFIG.watchlist)
    for iid in CRYPTO:
        assert counts[iid] == DAYS * 1440, iid
    # CME Globex (the metals, WTI, NYMEX Brent and gas): Sunday 17:00 → Friday 16:00 Chicago,
    # less four 1 h breaks = 115 h a week. The span is exactly 4 weeks and holds Memorial Day
    # (25 May 2026), when CME halts at 13:30 CT (2.5 h early).
    for iid in ("XAU", "XAG", "WTI", "BRENT", "NATGAS"):
        assert counts[iid] == 4 * 115 * 60 - 150, iid
    assert built.rows["bars"] == sum(counts.values())
    span = frame(con, "select min(ts) as lo, max(ts) as hi from bars where instrument_id = 'BTC'")
    assert span.row(0) == (
        datetime(2026, 5, 12, tzinfo=UTC),
        datetime(2026, 6, 8, 23, 59, tzinfo=UTC),
    )


def test_futures_only_inside_sessions_crypto_every_minute(con):
    # The SQL macro is an independent implementation of the sessions the Polars side used.
    outside = frame(
        con,
        "select b.instrument_id, count(*) as n from bars b join instruments i using (instrument_id) "
        "where not tw_in_session(i.calendar, b.ts) group by 1",
    )
    assert outside.height == 0
    saturday = frame(
        con,
        "select instrument_id, count(*) as n from bars where dayofweek(ts) = 6 group by 1",
    )
    per_sat = dict(saturday.iter_rows())
    assert "XAU" not in per_sat and "BRENT" not in per_sat
    assert per_sat["BTC"] == 4 * 1440
    per_day = frame(
        con,
        "select instrument_id, ts::date as day, count(*) as n from bars "
        "where instrument_id in (select unnest($ids)) group by all",
        {"ids": list(CRYPTO)},
    )
    assert per_day.height == len(CRYPTO) * DAYS
    assert per_day["n"].unique().to_list() == [1440]


def test_strip_anchoring_is_exact(con):
    anchored = frame(
        con,
        "select instrument_id, close from bars where ts = timestamptz '2026-05-27 04:56:00+00'",
    )
    assert dict(anchored.iter_rows()) == {k: v[0] for k, v in synthetic.STRIP.items()}
    strip = frame(
        con,
        "select instrument_id, ts, price, change_pct from quotes where source = 'strip:seed-001'",
    )
    assert strip.height == 20
    assert strip["ts"].unique().to_list() == [datetime(2026, 5, 27, 4, 57, tzinfo=UTC)]
    for iid, price, change in strip.select("instrument_id", "price", "change_pct").iter_rows():
        assert (price, change) == synthetic.STRIP[iid]
    assert synthetic.STRIP["XLM"] == (0.2680, 33.37) and synthetic.STRIP["TRX"] == (0.3425, -2.16)


def test_bars_are_valid_ohlcv(con, built):
    bad = frame(
        con,
        "select count(*) as n from bars where high < greatest(open, close) "
        "or low > least(open, close) or low <= 0 or volume < 0 or source <> 'synthetic'",
    )
    assert bad["n"][0] == 0
    # Each bar opens where the previous one closed (crypto trades every minute).
    gaps = frame(
        con,
        "with seq as (select open, lag(close) over (order by ts) as prev from bars "
        "where instrument_id = 'ETH') select count(*) as n from seq where open <> prev",
    )
    assert gaps["n"][0] == 0
    bars = frame(con, "select * exclude (ingested_at) from bars where instrument_id = 'SOL'")
    good, rejects = validate_bars(bars)
    assert rejects == [] and good.height == bars.height


def _returns(con) -> pl.DataFrame:
    return frame(
        con,
        "select instrument_id, ts, ln(close / lag(close) over (partition by instrument_id "
        "order by ts)) as r from bars",
    ).drop_nulls()


def test_crypto_moves_with_btc_and_gold_does_not(con):
    ret = _returns(con)
    btc = ret.filter(pl.col("instrument_id") == "BTC").select("ts", btc="r")
    joined = ret.join(btc, on="ts")
    corr = dict(joined.group_by("instrument_id").agg(pl.corr("r", "btc").alias("c")).iter_rows())
    for iid in RISKY_CRYPTO:
        assert corr[iid] > 0.3, (iid, corr[iid])
    assert abs(corr["XAU"]) < 0.05
    assert abs(corr["USDS"]) < 0.05
    # Realistic scale: annualised vol of BTC near the configured 45 %.
    btc_vol = btc["btc"].std() * (365 * 1440) ** 0.5
    assert 0.3 < btc_vol < 0.7


def test_stablecoins_stay_pegged(con):
    span = dict(
        frame(
            con,
            "select instrument_id, max(high) / min(low) - 1 as width from bars "
            "where instrument_id in ('USDS', 'FIGR_HELOC') group by 1",
        ).iter_rows()
    )
    assert span["USDS"] < 0.005 and span["FIGR_HELOC"] < 0.015


HOUR_RETURNS = """
with starts as (
    select unnest($starts::timestamptz[]) as t0
),
pairs as (
    select i.instrument_id, s.t0 from instruments i cross join starts s
),
before_ as (
    select p.instrument_id, p.t0, b.close as p0
    from pairs p asof join bars b
      on b.instrument_id = p.instrument_id and b.ts <= p.t0 - interval 1 minute
),
after_ as (
    select p.instrument_id, p.t0, b.close as p1
    from pairs p asof join bars b
      on b.instrument_id = p.instrument_id and b.ts <= p.t0 + interval 59 minute
),
final as (
    select instrument_id, t0, ln(p1 / p0) as r
    from before_ join after_ using (instrument_id, t0)
)
select * from final
"""


def reaction_z(con) -> pl.DataFrame:
    """Per event and linked instrument: the 1 h return after event_at, as a z-score vs placebo hours."""
    # DuckDB turns an ASOF join with a small (mis-estimated) left side into a nested loop that
    # takes minutes on 740k bars; a threshold of 0 keeps the real ASOF algorithm.
    con.execute("set asof_loop_join_threshold = 0")
    events = frame(con, "select event_id, event_at from events")
    placebo_starts = pl.datetime_range(
        datetime(2026, 5, 12, 1, tzinfo=UTC),
        datetime(2026, 6, 8, 22, tzinfo=UTC),
        "1h",
        eager=True,
    )
    placebo = frame(con, HOUR_RETURNS, {"starts": placebo_starts.to_list()})
    scale = placebo.group_by("instrument_id").agg(sd=pl.col("r").std())
    after = frame(con, HOUR_RETURNS, {"starts": events["event_at"].to_list()})
    links = frame(
        con,
        "select e.event_id, e.event_at as t0, l.instrument_id from events e "
        "join event_instruments l using (event_id)",
    )
    return (
        links.join(after, on=["instrument_id", "t0"])
        .join(scale, on="instrument_id")
        .with_columns(z=pl.col("r") / pl.col("sd"))
    )


def test_no_reaction_is_injected_around_events(con):
    z = reaction_z(con)
    assert z.height == 20 + 3 + 2 + 3 + 4 + 3  # every link of every event was measured
    per_event = z.group_by("event_id").agg(mean_abs=pl.col("z").abs().mean(), n=pl.len())
    # Under no reaction E|z| ≈ 0.8; a planted 3-sigma move would push it far above 2.
    assert per_event["mean_abs"].max() < 2.0, per_event
    assert z["z"].abs().max() < 5.0


def test_the_reaction_check_can_fail(built, tmp_path):
    copy = tmp_path / "planted.duckdb"
    shutil.copy(built.db_path, copy)
    with store.writer(copy) as w:
        # Plant a +3 % jump in every crypto series right after the seed event.
        w.con.execute(
            "update bars set open = open * 1.03, high = high * 1.03, low = low * 1.03, "
            "close = close * 1.03 where ts >= timestamptz '2026-05-26 14:30:00+00' "
            "and ts < timestamptz '2026-05-26 16:30:00+00' "
            "and instrument_id in (select unnest($ids))",
            {"ids": list(RISKY_CRYPTO)},
        )
    with store.reader(copy) as c:
        z = reaction_z(c)
    seed = z.filter(pl.col("event_id") == synthetic.SEED_EVENT.event_id)
    assert seed["z"].abs().mean() > 2.0


# ---------------------------------------------------------------------------- events, meta


def test_seed_event_and_its_reports(con):
    event = frame(
        con, "select * from events where event_id = $id", {"id": synthetic.SEED_EVENT.event_id}
    )
    assert event.height == 1
    row = event.row(0, named=True)
    assert row["event_at"] == datetime(2026, 5, 26, 14, 25, tzinfo=UTC)
    assert row["event_at_lower"] == datetime(2026, 5, 26, tzinfo=UTC)
    assert row["event_at_upper"] == datetime(2026, 5, 26, 14, 25, tzinfo=UTC)
    assert (row["category"], row["countries"], row["first_outlet"]) == (
        "policy",
        ["CN"],
        "Bloomberg",
    )
    reports = frame(
        con,
        "select a.* from event_articles ea join articles a using (article_id) "
        "where ea.event_id = $id order by a.published_at",
        {"id": synthetic.SEED_EVENT.event_id},
    )
    assert reports.height == 7 == row["n_articles"]
    assert reports["outlet"].n_unique() >= 6 and reports["outlet"].n_unique() == row["n_outlets"]
    precision = dict(reports.select("outlet", "published_precision").iter_rows())
    assert precision["Bloomberg"] == "day" and precision["The Decoder"] == "minute"
    decoder = reports.filter(pl.col("outlet") == "The Decoder")["published_at"][0]
    assert decoder == row["event_at"]
    assert reports["outlet"][0] == "Bloomberg"  # the earliest report is the first outlet
    links = frame(
        con,
        "select instrument_id, reason, confidence from event_instruments where event_id = $id",
        {"id": synthetic.SEED_EVENT.event_id},
    )
    assert sorted(links["instrument_id"]) == sorted(CONFIG.watchlist)
    assert links["reason"].unique().to_list() == ["demo: broad market"]
    assert links["confidence"].unique().to_list() == [0.2]


def test_event_counts_match_their_reports_and_samples_are_labelled(con):
    check = frame(
        con,
        """
        with per_event as (
            select ea.event_id, count(*) as n_reports, count(distinct a.outlet) as n_outlets,
                   arg_min(a.outlet, a.published_at) as first_outlet
            from event_articles ea join articles a using (article_id)
            group by 1
        ),
        linked as (
            select event_id, count(*) as n_instruments from event_instruments group by 1
        ),
        final as (
            select e.event_id, e.title, e.n_articles, e.n_outlets, e.first_outlet,
                   p.n_reports, p.n_outlets as outlets_seen, p.first_outlet as first_seen,
                   l.n_instruments
            from events e join per_event p using (event_id) join linked l using (event_id)
        )
        select * from final
        """,
    )
    assert check.height == 6
    for row in check.iter_rows(named=True):
        assert row["n_articles"] == row["n_reports"], row
        assert row["n_outlets"] == row["outlets_seen"], row
        assert row["first_outlet"] == row["first_seen"], row
    samples = check.filter(pl.col("event_id") != synthetic.SEED_EVENT.event_id)
    assert 4 <= samples.height <= 6
    assert all(t.startswith("[sample] ") for t in samples["title"])
    assert samples["n_reports"].is_between(1, 3).all()
    assert (samples["n_instruments"] >= 1).all()
    sample_articles = frame(
        con, "select title, outlet, url from articles where feed = 'demo:sample'"
    )
    assert all(t.startswith("[sample] ") for t in sample_articles["title"])
    assert all("(fictional)" in o for o in sample_articles["outlet"])
    assert sample_articles["url"].null_count() == sample_articles.height


def test_meta_run_log_and_data_version(con, built):
    meta = dict(frame(con, "select key, value from meta").iter_rows())
    assert meta["dataset"] == "synthetic"
    assert "seed-001 strip" in meta["demo_built_from"]
    runs = frame(con, "select source, status, n_stored, n_rejected from ingest_runs")
    # The run counts every data row it wrote (all tables but ingest_runs itself).
    assert runs.rows() == [("synthetic", "ok", built.total_rows - 1, 0)]
    assert store.data_version(con).startswith("1:2")


def test_latest_quote_is_the_last_close_with_a_24h_change(con):
    quotes = frame(
        con,
        """
        with last_bar as (
            select instrument_id, arg_max(close, ts) as close, max(ts) as ts from bars group by 1
        ),
        day_before as (
            select l.instrument_id, b.close as prior
            from last_bar l asof join bars b
              on b.instrument_id = l.instrument_id and b.ts <= l.ts - interval 24 hour
        ),
        final as (
            select q.instrument_id, q.ts, q.price, q.change_pct, l.ts + interval 1 minute as expect_ts,
                   l.close as expect_price, (l.close / d.prior - 1) * 100 as expect_change
            from quotes q join last_bar l using (instrument_id) join day_before d using (instrument_id)
            where q.source = 'synthetic'
        )
        select * from final
        """,
    )
    assert quotes.height == 20
    for r in quotes.iter_rows(named=True):
        assert (r["ts"], r["price"]) == (r["expect_ts"], r["expect_price"])
        assert r["change_pct"] == pytest.approx(r["expect_change"], abs=1e-4)
    latest = frame(con, "select instrument_id, source from latest_quotes")
    assert latest.height == 20 and latest["source"].unique().to_list() == ["synthetic"]


def test_refuses_to_replace_a_database_that_is_not_the_demo(db_path):
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="not a demo database"):
        synthetic.build_synthetic(db_path, CONFIG)
    assert db_path.read_bytes() == before


def test_seed_reports_are_paraphrased_not_copied(shared):
    # No record may share a run of 6 words with the seed documents it paraphrases.
    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", text.lower())

    def shingles(text: str, k: int = 6) -> set[tuple[str, ...]]:
        w = words(text)
        return {tuple(w[i : i + k]) for i in range(len(w) - k + 1)}

    seeds = set()
    for path in sorted((shared / "seeds").glob("*.txt")):
        seeds |= shingles(path.read_text(encoding="utf-8"))
    assert seeds
    for art in synthetic.SEED_EVENT.articles:
        copied = shingles(art.title) | shingles(art.summary)
        assert not copied & seeds, (art.outlet, copied & seeds)


@given(st.floats(min_value=1e-5, max_value=1e7, allow_nan=False))
def test_tick_rounding_keeps_seven_significant_digits(price):
    rounded = round(price, synthetic.tick_decimals(price))
    assert abs(rounded - price) <= price * 5e-7 + 1e-12


def test_a_config_with_other_instruments(small):
    # An instrument the strip does not list starts from 100.0 at its last open bar before the
    # strip instant; an NYSE one trades 13:30–20:00 UTC (EDT) on weekdays only, and not on
    # Memorial Day (25 May 2026): 19 sessions.
    stats = small
    assert stats.rows["instruments"] == 2 and stats.rows["bars"] == DAYS * 1440 + 19 * 390
    with store.reader(stats.db_path) as c:
        anchor = c.execute(
            "select ts, close from bars where instrument_id = 'SPY' and ts <= ? "
            "order by ts desc limit 1",
            [synthetic.ANCHOR_BAR_TS],
        ).fetchall()[0]
        links = frame(c, "select event_id, instrument_id from event_instruments")
        strip = frame(c, "select instrument_id from quotes where source = 'strip:seed-001'")
    assert anchor == (datetime(2026, 5, 26, 19, 59, tzinfo=UTC), 100.0)
    assert strip["instrument_id"].to_list() == ["BTC"]
    seed_links = links.filter(pl.col("event_id") == synthetic.SEED_EVENT.event_id)
    assert sorted(seed_links["instrument_id"]) == ["BTC", "SPY"]
    assert set(links["instrument_id"]) <= {"BTC", "SPY"}  # sample links to absent ids are dropped
