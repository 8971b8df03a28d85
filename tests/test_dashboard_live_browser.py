"""The strip updating itself in real headless Chromium while a writer adds quotes (no click).

`tickerwire dashboard` serves the fixture database with `[dashboard] refresh = "3s"`; a thread
of this test commits a new BTC quote every second through `store.writing` (the one write path,
as the stream and the scheduler do) and, once, a new event. The strip must show a committed
price within two cadences, the new event must appear as a notice with its link, and the chart
switched to 'line' before must stay a line. Screenshots in both themes in
test-output/screenshots/live_*.png.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines import store
from tests.dashboard_fixture_db import build
from tests.test_dashboard_browser import CHROMIUM, READY, SHOTS, need_browser, serve_dashboard

pytestmark = pytest.mark.browser

CADENCE_S = 3.0
# the strip shows one of the writer's prices (the strip is briefly absent while it redraws)
NEW_PRICE = (
    "() => { const s = document.querySelector('.tw-strip');"
    " return !!s && /BTC \\$80,0\\d\\d\\.00/.test(s.innerText.replace(/\\s+/g, ' ')); }"
)
LINE_CHART = (
    "() => { const p = document.querySelector('.js-plotly-plot');"
    " return !!(p && p.data && p.data.length && p.data[0].type !== 'candlestick'); }"
)


class QuoteWriter:
    """Commits a BTC quote with a new price every `every` seconds; records when each landed."""

    def __init__(self, db: Path, every: float = 1.0):
        self.db, self.every = db, every
        self.committed: dict[float, float] = {}  # price -> monotonic time its commit finished
        self.stop = threading.Event()
        self.event_at: float | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            price = 80_000.0 + n
            with store.writing(self.db, "test-writer") as writer:
                writer.upsert("quotes", _quote(price, n))
                if n == 3:
                    writer.upsert("events", _event())
            self.committed[price] = time.monotonic()
            if n == 3:
                self.event_at = time.monotonic()
            self.stop.wait(self.every)

    def __enter__(self) -> QuoteWriter:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def _quote(price: float, n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "instrument_id": ["BTC"],
            "ts": pl.Series([datetime.now(UTC)], dtype=pl.Datetime("us", "UTC")),
            "source": ["ccxt:binance"],
            "price": [price],
            "change_pct": [0.5 + n / 100],
            "captured_from": ["binance websocket ticker BTC/USDT"],
        }
    )


def _event() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ["ev-live"],
            "title": ["Gold jumps on a tariff headline"],
            "event_at": pl.Series([datetime.now(UTC)], dtype=pl.Datetime("us", "UTC")),
            "category": ["policy"],
        }
    )


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """The dashboard over a fresh fixture database, its pages updating every 3 s."""
    need_browser()
    db = build(tmp_path / "live.duckdb")
    cfg = tmp_path / "live.toml"
    cfg.write_text(f'[database]\npath = "{db}"\n[dashboard]\nrefresh = "{CADENCE_S:g}s"\n')
    monkeypatch.setenv("TICKERWIRE_CONFIG", str(cfg))  # the served pages read it
    with serve_dashboard(db, tmp_path / "server.log") as url:
        yield url, db


def _strip_text(page: object) -> str:
    return " ".join(page.inner_text(".tw-strip").split())  # type: ignore[attr-defined]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_strip_changes_without_a_click_within_two_cadences(live_server, theme):
    from playwright.sync_api import sync_playwright

    url, db = live_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, color_scheme=theme)
        page.goto(url)
        page.wait_for_selector(READY, timeout=90_000)
        page.wait_for_selector(".tw-strip", timeout=60_000)
        assert "BTC $73,275.00" in _strip_text(page)
        # the user's own pick, before anything is written: a line chart instead of candles
        page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot', timeout=60_000)
        page.locator('[data-testid="stButtonGroup"] button', has_text="line").first.click()
        page.wait_for_function(LINE_CHART, timeout=60_000)
        page.screenshot(path=str(SHOTS / f"live_strip_{theme}_before.png"))
        with QuoteWriter(db) as writer:
            page.wait_for_function(NEW_PRICE, timeout=30_000)
            seen_at = time.monotonic()
            shown = _strip_text(page)
            page.wait_for_selector("text=New since you opened this page", timeout=30_000)
            link = page.locator('a[href*="event?event=ev-live"]')
            assert link.count() >= 1 and "Gold jumps" in link.first.inner_text()
            page.wait_for_function(NEW_PRICE, timeout=30_000)  # not mid-redraw
            page.wait_for_selector(READY, timeout=30_000)
            page.screenshot(path=str(SHOTS / f"live_strip_{theme}_after.png"))
            page.locator(".tw-strip").screenshot(path=str(SHOTS / f"live_strip_{theme}.png"))
        price = float(shown.split("BTC $")[1].split()[0].replace(",", ""))
        # the price shown landed at most two cadences before the page showed it
        assert seen_at - writer.committed[price] <= 2 * CADENCE_S, (seen_at, writer.committed)
        assert page.evaluate(LINE_CHART)  # the chart kind picked before the updates stayed
        caption = page.locator('[data-testid="stCaptionContainer"]', has_text="as of ").first
        caption = caption.inner_text()
        assert caption.startswith("as of ") and f"updates every {CADENCE_S:g} s" in caption
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
