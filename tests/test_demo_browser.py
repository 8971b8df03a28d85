"""What a person sees on the bundled sample: the real dashboard in headless system Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import pytest

from pipelines import demo, sample
from pipelines.config import load_config
from pipelines.paths import REPO_ROOT
from tests.test_dashboard_browser import CHROMIUM, READY, SHOTS, need_browser, serve_dashboard

pytestmark = pytest.mark.browser

PAUSE_EVENT = "ev-dbd4e5d0f2142835"  # the 2025-04-09 17:18 UTC tariff-pause post


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Iterator[object]:
    need_browser()
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("sample-browser")
    db = demo.build_demo(folder / "demo.duckdb", load_config(REPO_ROOT / "tickerwire.toml")).db_path
    with serve_dashboard(db, folder / "server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1600})
        tab.base = url  # type: ignore[attr-defined]
        yield tab
        browser.close()


def _open(tab, path: str) -> str:
    tab.goto(tab.base + path)
    tab.wait_for_selector(READY, timeout=90_000)
    tab.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=60_000)
    return tab.inner_text('[data-testid="stMainBlockContainer"]')


def test_event_page_opens_on_the_seed_story_labelled_as_the_sample(page):
    text = _open(page, "/event")
    assert "Bundled sample: recorded real prices and news, not live" in text
    assert "No bars in the bundled sample" in text and "HYPE" in text
    assert "China reportedly requires approval for top AI researchers" in text
    assert "2026-05-26 14:25 UTC" in text
    assert not page.query_selector('[data-testid="stException"]')
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "sample_event_seed.png"))


def test_tariff_pause_post_shows_the_5m_move(page):
    text = _open(page, f"/event?event={PAUSE_EVENT}")
    assert "2025-04-09 17:18 UTC" in text and "Truth Social" in text
    legend = page.inner_text('[data-testid="stPlotlyChart"]')
    assert "BTC" in legend and "ETH" in legend
    # The anchor is the close of the last 5-minute bar closed by 17:18:40 (opened 17:10), read
    # from the sample file here: the page uses the 5m bars of 2025, not the hourly ones of 2026.
    bars = pl.read_parquet(sample.DATA_DIR / "bars" / "BTC_5m.parquet")
    opened = datetime(2025, 4, 9, 17, 10, tzinfo=UTC)
    p0 = float(bars.filter(pl.col("ts") == opened)["close"].cast(pl.Float64)[0])
    assert f"BTC {p0:,.6g} at 17:15" in text
    assert not page.query_selector('[data-testid="stException"]')
    page.screenshot(path=str(SHOTS / "sample_event_pause.png"))
