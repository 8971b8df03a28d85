"""`tickerwire demo`: the bundled real sample, built through the import commands, labelled, stable.

The sample files are in the repo, so these tests need no ../shared — except the one that
re-cuts the sample from ../shared and checks it gives the committed bytes.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import demo, sample, store
from pipelines.analytics import StudySpec, run_study
from pipelines.cli import app
from pipelines.config import load_config
from pipelines.errors import StoreError
from pipelines.paths import REPO_ROOT
from pipelines.sample import build as sample_build

CONFIG = load_config(REPO_ROOT / "tickerwire.toml")
SEED_T0 = datetime(2026, 5, 26, 14, 25, tzinfo=UTC)  # The Decoder, the first timed report
PAUSE_T0 = datetime(2025, 4, 9, 17, 18, 40, 629000, tzinfo=UTC)  # the tariff-pause post


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> demo.DemoStats:
    """One demo build shared by the read-only tests of this module."""
    return demo.build_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb", CONFIG)


@pytest.fixture
def con(built):
    with store.reader(built.db_path) as connection:
        connection.execute("set TimeZone = 'UTC'")
        yield connection


def rows(con, sql: str, params=None) -> list[tuple]:
    return store.query_frame(con, sql, params).rows()


# ---------------------------------------------------------------------------- the files


def test_sample_is_small_and_listed_with_checksums():
    files = sample.files()
    total = sum(f.path.stat().st_size for f in files)
    assert total <= 12_000_000, total
    for f in files:
        assert sample_build.sha256(f.path) == f.sha256, f.path
    kinds = {f.kind for f in files}
    assert kinds == {"bars", "articles", "events", "strip"}
    five_minute = {f.instrument for f in files if f.timeframe == "5m"}
    assert {"BTC", "ETH"} <= five_minute
    provenance = sample.provenance_text()
    assert "ODC-PDDL" in provenance
    assert "Copyright (c) 2025 stoicelephant" in provenance  # the posts' MIT notice is kept
    assert "Permission is hereby granted, free of charge" in provenance
    for f in files:
        assert f"`{f.path.relative_to(sample.DATA_DIR).as_posix()}`" in provenance


def test_seed_reports_are_our_words_not_the_seed_text(shared: Path):
    """No sentence of the seed documents is carried: no 8-word run of a seed appears."""
    reports = pl.read_parquet(sample.DATA_DIR / "news" / "seed_story.parquet")
    ours = " ".join(reports["title"].to_list() + reports["summary"].to_list()).lower().split()
    grams = {" ".join(ours[i : i + 8]) for i in range(len(ours) - 7)}
    for seed in (shared / "seeds").glob("*.txt"):
        text = " ".join(seed.read_text(encoding="utf-8").lower().split())
        assert not [g for g in grams if g in text], seed.name


def test_each_sample_market_has_the_calendar_its_bars_keep():
    """At most 0.5 % of each market's intraday bars fall outside its configured calendar.

    Yahoo's BZ=F is NYMEX Brent on CME Globex: under the ICE calendar 708 of the sample's 8,262
    hourly Brent bars (the opening hours from 18:00 New York) fell outside every session. Real feeds carry a few stray bars (Yahoo's WTI has three 17:00 New York bars, in
    CME's daily break), hence at most 0.5 % outside rather than none.
    """
    from pipelines import calendars

    instruments = sample.manifest()["instruments"]
    misfits = {}
    for f in sample.files():
        if f.kind != "bars" or f.timeframe == "1d":
            continue
        ts = pl.read_parquet(f.path)["ts"].dt.convert_time_zone("UTC")
        configured = instruments[f.instrument]["calendar"]
        outside = int((~calendars.in_session(configured, ts)).sum())
        if outside > 0.005 * len(ts):
            misfits[f.instrument] = (configured, outside, len(ts))
    assert misfits == {}


@pytest.mark.slow
def test_rebuilding_the_sample_from_shared_gives_the_committed_bytes(shared: Path, tmp_path):
    result = sample_build.build(shared, tmp_path)
    committed = json.loads(sample.MANIFEST.read_text(encoding="utf-8"))
    assert result["checksum"] == committed["checksum"]
    assert [f["sha256"] for f in result["files"]] == [f["sha256"] for f in committed["files"]]
    assert (tmp_path / "PROVENANCE.md").read_text() == sample.provenance_text()


# ---------------------------------------------------------------------------- the database


def test_built_through_the_import_commands(con, built):
    runs = dict(rows(con, "select source, count(*) from ingest_runs group by 1"))
    n_bars = sum(1 for f in sample.files() if f.kind == "bars")
    assert runs == {
        "import:bars": n_bars,
        "import:events": 1,
        "import:articles": 2,
        "import:strip": 1,
    }
    assert rows(con, "select count(*) from ingest_runs where status <> 'ok'") == [(0,)]
    # every bar file landed whole, under its sample source: the sample is cut with the importer's
    # own reader, so what it refuses (Yahoo's early-close bars at :30, off the hourly grid) was
    # left out at cut time and listed in PROVENANCE
    for f in sample.files():
        if f.kind == "bars":
            got = rows(
                con,
                "select count(*), min(source), max(source) from bars "
                "where instrument_id = $i and timeframe = $t",
                {"i": f.instrument, "t": f.timeframe},
            )
            assert got == [(f.rows, f.source, f.source)], f.path.name
    assert rows(con, "select count(*) from rejects") == [(0,)]
    assert "BRENT 1h bars" in sample.provenance_text()
    assert "24 off the 1h grid of this file" in sample.provenance_text()
    # the posts were clustered by the news pipeline: each is an event's report or a near-duplicate
    posts = rows(
        con,
        "select count(*), count(ea.event_id), count(a.duplicate_of), count(distinct ea.event_id) "
        "from articles a left join event_articles ea using (article_id) "
        "where a.feed = 'file:truth_social_2025.parquet'",
    )
    total, linked, duplicates, n_events = posts[0]
    assert total == 1255 and linked + duplicates == total
    assert 0 < n_events < linked  # some posts joined others' events


def test_labelled_as_the_bundled_sample(con):
    meta = dict(rows(con, "select key, value from meta"))
    assert meta["dataset"] == "sample"
    assert "Binance" in meta["sample_sources"] and "Truth Social" in meta["sample_sources"]
    assert meta["sample_checksum"] == sample.manifest()["checksum"]
    assert not rows(con, "select * from bars where source not like 'sample:%'")


def test_instruments_without_bars_are_flagged_not_filled(con):
    flagged = dict(
        rows(con, "select instrument_id, unavailable_reason from instruments where not available")
    )
    for iid in ("HYPE", "USDS", "RAIN", "XLM", "LEO", "FIGR_HELOC", "TRX"):
        assert flagged[iid] == demo.NO_BARS
    assert not rows(
        con, "select * from bars where list_contains($ids, instrument_id)", {"ids": list(flagged)}
    )


def test_seed_story_has_its_real_times_and_precision(con, built):
    reports = rows(
        con,
        "select a.outlet, a.published_at, a.published_precision from articles a "
        "where a.feed = 'file:seed_story.parquet' order by 1",
    )
    assert reports == [
        ("Bloomberg", datetime(2026, 5, 26, tzinfo=UTC), "day"),
        ("The Decoder", SEED_T0, "minute"),
    ]
    featured = dict(rows(con, "select key, value from meta"))["featured_event"]
    event = rows(
        con,
        "select event_at, event_at_lower, n_articles from events where event_id = $e",
        {"e": featured},
    )
    assert event == [(SEED_T0, datetime(2026, 5, 26, tzinfo=UTC), 2)]


def test_strip_is_dated_from_the_bars_never_invented(con, built):
    at = rows(con, "select distinct ts from quotes where source = 'strip:seed-001'")
    assert at == [(datetime(2026, 5, 30, 4, 57, tzinfo=UTC),)]
    assert "dated from stored bars" in built.strip_note and "runner-up" in built.strip_note


def test_rebuild_gives_the_same_checksum_and_cli_reports_it(built, tmp_path):
    path = tmp_path / "again.duckdb"
    shutil.copy(built.db_path, path)
    result = CliRunner().invoke(app, ["--db", str(path), "demo"])
    assert result.exit_code == 0, result.output
    assert f"content checksum: {built.checksum}" in result.output
    assert f"rows: {built.total_rows:,}" in result.output
    assert "build time:" in result.output and "seed-001 strip dated 2026-05-30" in result.output
    assert not Path(str(path) + ".building").exists()


def test_refuses_to_replace_a_database_that_is_not_a_demo(db_path):
    before = db_path.read_bytes()
    with pytest.raises(StoreError, match="not a demo database"):
        demo.build_demo(db_path, CONFIG)
    assert db_path.read_bytes() == before


# ---------------------------------------------------------------------------- headline numbers

# An independent implementation of DESIGN §4, written here from the rules: P(t) is the close of
# the last bar closed at or before t (missing when that close is more than 2 bars old); returns
# on the grid t0 + kΔ; constant-mean model fitted on the estimation window; CAR = sum of ARs.


def price_at(close_at: np.ndarray, close: np.ndarray, t: np.ndarray, step: int) -> np.ndarray:
    i = np.searchsorted(close_at, t, side="right") - 1
    ok = (i >= 0) & (t - close_at[np.maximum(i, 0)] <= 2 * step)
    return np.where(ok, close[np.maximum(i, 0)], np.nan)


def car_numpy(file: str, t0: datetime, step: int, est: tuple[int, int], car: tuple[int, int]):
    bars = pl.read_parquet(sample.DATA_DIR / "bars" / file)
    opens = bars["ts"].dt.epoch("us").to_numpy() // 1_000_000
    close = bars["close"].cast(pl.Float64).to_numpy()
    t = int(t0.timestamp() * 1_000_000) / 1_000_000
    ks = np.arange(est[0], car[1] + 1)
    p = price_at(opens + step, close, t + ks * step, step)
    p_prev = price_at(opens + step, close, t + (ks - 1) * step, step)
    r = np.log(p) - np.log(p_prev)
    in_est = (ks >= est[0]) & (ks <= est[1])
    mu = np.nanmean(r[in_est])
    in_car = (ks >= car[0]) & (ks <= car[1])
    return float(np.sum(r[in_car] - mu))


def engine_car(con, event_id: str, iid: str, timeframe: str, est, car) -> float:
    result = run_study(
        con,
        StudySpec(
            event_ids=(event_id,),
            instruments=(iid,),
            timeframe=timeframe,
            window=(est[1] + 1, car[1]),
            estimation=est,
            model="constant",
            car_windows=(car,),
        ),
    )
    return result.car["car"][0]


@pytest.mark.parametrize("iid", ["BTC", "ETH"])
def test_seed_story_reaction_matches_an_independent_computation(con, iid):
    featured = dict(rows(con, "select key, value from meta"))["featured_event"]
    want = car_numpy(f"{iid}_1h.parquet", SEED_T0, 3600, (-168, -3), (1, 2))
    got = engine_car(con, featured, iid, "1h", (-168, -3), (1, 2))
    assert np.isfinite(want)
    assert got == pytest.approx(want, abs=1e-9)


def test_tariff_pause_post_on_btc_5m_matches_an_independent_computation(con):
    event_id = rows(
        con,
        "select ea.event_id from articles a join event_articles ea using (article_id) "
        "where a.published_at = $t",
        {"t": PAUSE_T0},
    )[0][0]
    want = car_numpy("BTC_5m.parquet", PAUSE_T0, 300, (-288, -13), (1, 12))
    got = engine_car(con, event_id, "BTC", "5m", (-288, -13), (1, 12))
    assert want > 0.03  # the pause lifted bitcoin several percent within the hour
    assert got == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------------------- the dashboard on it


@pytest.fixture
def on_sample(built, monkeypatch):
    monkeypatch.setenv("TICKERWIRE_DB", str(built.db_path))
    return built.db_path


def event_page(**params: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / "event.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_overview_points_to_the_featured_story(on_sample):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(
        str(REPO_ROOT / "dashboard" / "views" / "overview.py"), default_timeout=60
    )
    at.run()
    assert not at.exception
    with store.reader(on_sample) as c:
        featured = c.execute("select value from meta where key = 'featured_event'").fetchall()[0][0]
    start = [m.value for m in at.info if m.value.startswith("**Start here:**")]
    assert len(start) == 1 and "China reportedly requires approval" in start[0]
    assert f"(event?event={featured})" in start[0]


def test_event_page_opens_on_the_seed_story_with_instruments_that_have_bars(on_sample):
    at = event_page()
    assert not at.exception
    banner = at.warning[0].value
    assert "Bundled sample: recorded real prices and news, not live" in banner
    assert "Truth Social" in banner and "No bars in the bundled sample: FIGR_HELOC, HYPE" in banner
    assert at.expander[0].label.startswith("Sources of the bundled sample")
    assert any("China reportedly requires approval" in m.value for m in at.markdown)
    assert at.multiselect[0].value == ["BTC", "ETH", "XAU", "WTI", "NAS100"]
    assert "HYPE" not in at.multiselect[0].options  # never offered, never filled in


def test_event_page_reads_the_5m_bars_of_2025_and_the_1h_bars_of_2026(on_sample):
    from dashboard import data, reactions

    assert data.timeframes_near(PAUSE_T0)["BTC"] == "5m"
    assert data.timeframes_near(SEED_T0)["BTC"] == "1h"
    paths = reactions.event_paths(["BTC"], PAUSE_T0, 3600, 14400)
    assert set(paths["timeframe"]) == {"5m"} and paths.height > 40


def test_charts_read_the_timeframe_that_covers_the_range(on_sample):
    from dashboard import data, prices

    week_2026 = (datetime(2026, 6, 23, tzinfo=UTC), datetime(2026, 6, 30, 23, tzinfo=UTC))
    week_2025 = (datetime(2025, 4, 7, tzinfo=UTC), datetime(2025, 4, 14, tzinfo=UTC))
    assert data.timeframe_for("BTC", *week_2026) == "1h"  # BTC's 5m bars end in 2025
    assert data.timeframe_for("BTC", *week_2025) == "5m"
    candles = prices.candles("BTC", *week_2026)
    # one hourly bar per hour of [start, end): 7 days and 23 hours
    assert candles is not None and candles.timeframe == "1h" and candles.raw_points == 7 * 24 + 23
