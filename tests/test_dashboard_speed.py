"""What the page-speed work changed (issue 14): windows cut from one read, the mover of a story
whose linked instruments have no bars, the recorded sample's strip caption, and the window
pickers rerunning their fragment with nothing left stale (real DuckDB; a real server in
Chromium for the fragments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data, reactions
from dashboard.views.event import READ, WINDOWS
from pipelines import store
from tests.dashboard_fixture_db import SEED_EVENT, T0, build

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture database plus a story linked only to RAIN (no bars), at the seed's t0."""
    path = build(tmp_path / "speed.duckdb")
    with store.writer(path) as writer:
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["ev-rain"],
                    "title": ["Rain token delisted"],
                    "event_at": pl.Series([T0], dtype=pl.Datetime("us", "UTC")),
                    "category": ["corporate"],
                    "n_articles": [0],
                    "n_outlets": [0],
                    "first_outlet": [None],
                    "is_manual": [True],
                },
                schema_overrides={"first_outlet": pl.Utf8},
            ),
        )
        writer.upsert(
            "event_instruments",
            pl.DataFrame(
                {
                    "event_id": ["ev-rain"],
                    "instrument_id": ["RAIN"],
                    "reason": "fixture",
                    "confidence": [0.9],
                }
            ),
        )
    monkeypatch.setenv("TICKERWIRE_DB", str(path))
    return path


@pytest.mark.parametrize("window", list(WINDOWS))
def test_paths_cut_from_the_widest_read_equal_the_direct_query(db: Path, window: str) -> None:
    """Every Event window's paths and other events, cut from one read of the widest window,
    are row for row what the query for that window alone returns (1m and 5m series)."""
    before_s, after_s = WINDOWS[window]
    ids = ["BTC", "ETH", "XAU"]
    direct = reactions.event_paths(ids, T0, before_s, after_s)
    cut = reactions.event_paths(ids, T0, before_s, after_s, read=READ)
    assert direct.height > 0
    assert cut.equals(direct)
    for t0 in (T0, T0 + timedelta(hours=3)):  # the Fed event lies 3 h 35 min after the seed
        direct_conf = reactions.confounders(SEED_EVENT, t0, before_s, after_s)
        cut_conf = reactions.confounders(SEED_EVENT, t0, before_s, after_s, read=READ)
        assert cut_conf.equals(direct_conf)


def test_the_cut_keeps_the_window_edges(db: Path) -> None:
    """An event exactly at the window's edge is inside (the SQL's closed interval), one second
    past it is not — for the cut as for the query."""
    edge = T0 + timedelta(hours=3, minutes=35)  # ev-fed
    inside = reactions.confounders(SEED_EVENT, T0, 0, 3 * 3600 + 35 * 60, read=READ)
    outside = reactions.confounders(SEED_EVENT, T0, 0, 3 * 3600 + 35 * 60 - 1, read=READ)
    assert "ev-fed" in inside["event_id"].to_list()
    assert "ev-fed" not in outside["event_id"].to_list()
    assert inside.filter(pl.col("event_id") == "ev-fed")["event_at"][0] == edge


def _close_at_or_before(bars: pl.DataFrame, at: datetime) -> float:
    """The close of the last 1m bar closed at or before `at` (bar ts + 60 s ≤ at)."""
    closed = bars.filter(pl.col("ts") + timedelta(minutes=1) <= at)
    return closed.sort("ts")["close"][-1]


def test_a_story_linked_only_to_an_instrument_without_bars_gets_a_mover(db: Path) -> None:
    """ev-rain links RAIN (no bars): its biggest mover is taken over the instruments that have
    bars, like the Event page's defaults — BTC, which jumps 2 % a minute after t0."""
    movers = reactions.event_movers(data.events())
    row = movers.filter(pl.col("event_id") == "ev-rain").row(0, named=True)
    assert row["top_instrument"] == "BTC"
    with store.reader(db) as con:
        btc = store.query_frame(
            con, "select ts, close from bars where instrument_id = 'BTC' and timeframe = '1m'"
        ).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
    p0 = _close_at_or_before(btc, T0)
    p1 = _close_at_or_before(btc, T0 + timedelta(hours=1))
    assert row["top_ret_pct"] == pytest.approx(100 * (p1 / p0 - 1), rel=1e-9)
    # an event whose links have bars still reads only them (the seed: BTC and ETH)
    seed = movers.filter(pl.col("event_id") == SEED_EVENT).row(0, named=True)
    assert seed["top_instrument"] in {"BTC", "ETH"}


def test_the_recorded_sample_says_so_under_the_strip(db: Path) -> None:
    """On the bundled sample the strip's caption names the recording's date, not an age and
    a timer that never brings anything new."""
    with store.writer(db) as writer:
        writer.set_meta("dataset", "sample")
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=60)
    at.run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert not any("updates every" in c or " ago" in c for c in captions), captions
    with store.reader(db) as con:
        newest = store.query_frame(con, "select max(ts) as ts from quotes")["ts"][0]
    stamp = newest.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert f"Recorded sample: prices as of {stamp} UTC, not live" in " ".join(captions)


# ---------------------------------------------------------------- fragments in a real browser


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    """A Chromium page beside the dashboard served over the fixture database."""
    from tests.test_dashboard_browser import CHROMIUM, need_browser, serve_dashboard

    need_browser()
    from playwright.sync_api import sync_playwright

    db = build(tmp_path_factory.mktemp("frag") / "dash.duckdb")
    log = tmp_path_factory.mktemp("log") / "server.log"
    with serve_dashboard(db, log) as url, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = chromium.new_page(viewport={"width": 1400, "height": 2000})
        tab.base_url = url  # type: ignore[attr-defined]
        yield tab
        chromium.close()


def _choose(tab: object, label: str, option: str) -> None:
    tab.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()  # type: ignore[attr-defined]
    tab.get_by_role("option", name=option, exact=True).click()  # type: ignore[attr-defined]


def _verdict(tab: object) -> str:
    return tab.inner_text(  # type: ignore[attr-defined]
        '[data-testid="stAlertContentSuccess"] [data-testid="stMarkdownContainer"]'
    )


READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _open_drawn(tab: object, path: str) -> None:
    """Open `path` and wait until the script is done and the first chart drawn."""
    tab.goto(f"{tab.base_url}/{path}")  # type: ignore[attr-defined]
    tab.wait_for_selector(READY, timeout=90_000)  # type: ignore[attr-defined]
    tab.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)  # type: ignore[attr-defined]


def _change_until(tab: object, label: str, option: str, done_js: str) -> None:
    """Choose `option` in `label`, then wait for `done_js` to hold and the script to end."""
    _choose(tab, label, option)
    tab.wait_for_function(done_js, timeout=60_000)  # type: ignore[attr-defined]
    tab.wait_for_selector(READY, timeout=60_000)  # type: ignore[attr-defined]


@pytest.mark.browser
def test_event_window_reruns_verdict_and_chart_together(page: object) -> None:
    """A window change on the Event page redraws the verdict, the chart's x range and the
    URL for the new window; the event picked above is kept."""
    tab = page
    _open_drawn(tab, f"event?event={SEED_EVENT}&window=-1h,4h")
    assert _verdict(tab).startswith("In the 4 h after")
    _change_until(
        tab,
        "Window (before, after)",
        "-1d,3d",
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return p && p._fullLayout && p._fullLayout.xaxis.range[0] <= -1400; }",
    )
    assert _verdict(tab).startswith("In the 3 days after"), _verdict(tab)
    low, high = tab.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range"
    )  # type: ignore[attr-defined]
    # a day before t0, and after it to the fixture's last bar (34 h on), not the old 4 h
    assert low == pytest.approx(-1440, abs=30) and high > 30 * 60
    assert "window=-1d%2C3d" in tab.url or "window=-1d,3d" in tab.url  # type: ignore[attr-defined]
    assert "China classifies AI engineers" in tab.inner_text("h3")  # type: ignore[attr-defined]
    assert tab.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]


@pytest.mark.browser
def test_study_window_reruns_verdict_and_tests_together(page: object) -> None:
    """A window change on the Study page re-runs the study: the verdict and the key tests name
    the new window, none the old."""
    tab = page
    _open_drawn(tab, "study?window=-12,24")
    assert "0 to +24" in _verdict(tab)
    _change_until(
        tab,
        "Event window (bars)",
        "-2,10",
        "() => { const a = document.querySelector('[data-testid=stAlertContentSuccess]');"
        " return a && a.innerText.includes('0 to +10'); }",
    )
    verdict = _verdict(tab)
    assert "+24" not in verdict, verdict
    tests = tab.inner_text("table")  # type: ignore[attr-defined]  # the key tests
    assert "−2 to +10" in tests and "0 to +10" in tests and "+24" not in tests, tests
    low, high = tab.evaluate(  # type: ignore[attr-defined]
        "() => document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range"
    )
    assert -3 <= low <= -2 and 10 <= high < 11  # the CAAR chart spans offsets −2 … +10 now
    assert tab.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]


def test_plain_table_reads_like_the_grid() -> None:
    """Given rows → the Markdown table: headers, formats, "—" for missing, text escaped, numbers
    right-aligned."""
    from dashboard import plain_table

    frame = pl.DataFrame(
        {"window": ["0 to +10", "a|b"], "caar_pct": [1.23456, None], "n": [1200, 3]}
    )
    got = plain_table.markdown(
        frame,
        {
            "window": ("CAR window", str),
            "caar_pct": ("CAAR", "{:+.3f} %".format),
            "n": ("pairs", "{:,}".format),
        },
    )
    assert got.splitlines() == [
        "| CAR window | CAAR | pairs |",
        "|:---|---:|---:|",
        r"| 0 to \+10 | \+1\.235 % | 1,200 |",
        r"| a\|b | — | 3 |",
    ]


def test_study_runs_the_other_windows_in_the_background(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a study is drawn, the picker's other windows are run in the background: a window
    change then shows its result without one more engine run, and the result is the new
    window's (the engine is counted, not replaced)."""
    import threading

    from pipelines import analytics

    calls: list[tuple[int, int]] = []
    engine = analytics.run_study

    def counted(con, spec, config=None):
        calls.append(spec.window)
        return engine(con, spec, config)

    monkeypatch.setattr(analytics, "run_study", counted)
    at = AppTest.from_file(str(VIEWS / "study.py"), default_timeout=60)
    at.query_params["window"] = "-12,24"
    at.run()
    assert not at.exception
    for thread in threading.enumerate():
        if thread.name == "tickerwire-prefetch":
            thread.join(timeout=60)
    assert {(-2, 10), (-5, 60)} <= set(calls)  # run ahead of any click
    before = len(calls)
    at.selectbox(key="window").set_value("-2,10").run()
    assert not at.exception
    assert len(calls) == before  # the window change was a cache hit
    assert at.success[0].value.startswith("Over offsets 0 to +10")
