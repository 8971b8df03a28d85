"""The real dashboard in headless Chromium: every page renders, no exception, one interaction.

Starts `tickerwire --db FIXTURE dashboard --port P` (the command a user runs) and drives the
system Chromium through Playwright. Screenshots land in test-output/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_pages import app_pages
from tests.dashboard_fixture_db import SEED_EVENT, build

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# The element that says a page has rendered, by page script; the pages come from app.py.
KEY_ELEMENT = {
    "overview": ".tw-strip",
    "event": '[data-testid="stPlotlyChart"]',
    "timeline": '[data-testid="stPlotlyChart"]',
    "study": '[data-testid="stMainBlockContainer"] h1',
    "correlations": '[data-testid="stPlotlyChart"]',
    "news": '[data-testid="stDataFrame"]',
    "sql": "textarea",
    "health": '[data-testid="stDataFrame"]',
    "alerts": '[data-testid="stMainBlockContainer"] h1',
}
# (URL path, key element) per page; the default page is served at "/".
PAGES = [("" if p.default else p.url_path, KEY_ELEMENT[p.name]) for p in app_pages()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_dashboard(db: Path, log_path: Path) -> Iterator[str]:
    """`tickerwire --db DB dashboard` on a free port until the block ends; yields its URL."""
    port = _free_port()
    cli = Path(sys.executable).parent / "tickerwire"
    log = open(log_path, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(cli), "--db", str(db), "dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the streamlit child is stopped with it
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dashboard did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def need_browser() -> None:
    """Skip unless Debian's chromium and Playwright are installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it when run as root)")
    pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served on a free port over the fixture database; stopped afterwards."""
    need_browser()
    db = build(tmp_path_factory.mktemp("browser") / "dash.duckdb")
    with serve_dashboard(db, tmp_path_factory.mktemp("log") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    """The system Chromium, once for the module (one Playwright loop per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser_page(browser: object) -> Iterator[object]:
    """One Chromium page for the module."""
    page = browser.new_page(viewport={"width": 1400, "height": 2000})  # type: ignore[attr-defined]
    yield page
    page.close()


def _open(page: object, url: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_selector(READY, timeout=90_000)  # type: ignore[attr-defined]


def _charts_drawn(page: object) -> None:
    """Wait until every Plotly container on the page has drawn its figure (they load lazily)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('[data-testid=stPlotlyChart]').length <= "
        "document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot .main-svg').length",
        timeout=60_000,
    )


def test_every_page_renders(server: str, browser_page: object) -> None:
    """Each page shows its key element, the demo banner, and no exception box."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    for path, key in PAGES:
        _open(page, f"{server}/{path}")
        page.wait_for_selector(key, timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        assert "Synthetic demo data" in page.inner_text('[data-testid="stMainBlockContainer"]'), (
            path
        )
        page.screenshot(path=str(SHOTS / f"browser_{path or 'overview'}.png"), full_page=True)
    _open(page, server)
    strip = page.inner_text(".tw-strip")
    assert "BTC $73,275.00 ▼ 0.17%" in " ".join(strip.split())
    assert "Prices as of 04:57 UTC" in page.inner_text(".tw-strip-asof")


def _chart_traces(page: object) -> list[str]:
    return page.evaluate(  # type: ignore[attr-defined]
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')[0].data)"
        ".map(t => t.name + ':' + (t.y ? Array.from(t.y).slice(0, 5).join(',') : ''))"
    )


def test_pick_an_event_changes_the_chart(server: str, browser_page: object) -> None:
    """Choosing another event in the picker redraws the chart for it and updates the URL."""
    page = browser_page
    _open(page, f"{server}/event?event={SEED_EVENT}")
    page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot')
    assert "China classifies AI engineers" in page.inner_text("h3")
    before = _chart_traces(page)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Event").last
    picker.click()
    page.keyboard.type("Fed minutes")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('h3') && document.querySelector('h3').innerText.includes('Fed minutes')",
        timeout=60_000,
    )
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot')
    after = _chart_traces(page)
    assert after != before
    assert "event=ev-fed" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(SHOTS / "browser_event_after_pick.png"), full_page=True)


# What a reader must never see in page text (grids draw on a canvas; their cells are pinned by
# the formatter's unit tests).
NONE_WORD = re.compile(r"\bNone\b")
VERDICTS = {"event": "In the ", "study": "Over offsets "}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_reads_cleanly_in_both_themes(server: str, browser: object, theme: str) -> None:
    """Per theme: no exception box, no visible 'None' or '+00:00', the verdict on Event and
    Study, figures coloured for the theme; a full-page screenshot of each page."""
    from dashboard import charts

    SHOTS.mkdir(parents=True, exist_ok=True)
    # a context per theme: the OS colour scheme the viewer's browser reports
    page = browser.new_page(viewport={"width": 1400, "height": 2400}, color_scheme=theme)  # type: ignore[attr-defined]
    try:
        for path, key in PAGES:
            url = f"{server}/{path}" + (f"?event={SEED_EVENT}" if path == "event" else "")
            _open(page, url)
            page.wait_for_selector(key, timeout=60_000)
            _charts_drawn(page)
            main = page.inner_text('[data-testid="stMainBlockContainer"]')
            assert page.locator('[data-testid="stException"]').count() == 0, path
            assert not NONE_WORD.search(main), (path, NONE_WORD.findall(main))
            assert "+00:00" not in main, path
            if path == "":  # the sparklines survive the page's HTML sanitiser as images
                # they render after the page's first elements: wait for them (a loaded machine
                # checked before they arrived), then count them
                page.wait_for_selector(".tw-spark img", timeout=60_000)
                page.wait_for_function(
                    "() => document.querySelectorAll('.tw-spark img').length >= 3", timeout=30_000
                )
                assert page.locator(".tw-spark img").count() == 3
            if path in VERDICTS:
                verdict = page.inner_text(
                    '[data-testid="stAlertContentSuccess"] [data-testid="stMarkdownContainer"]'
                )
                assert verdict.startswith(VERDICTS[path]), verdict
            if page.locator(".js-plotly-plot").count():
                font = page.evaluate(
                    "() => document.querySelector('.js-plotly-plot')._fullLayout.font.color"
                )
                assert font == charts.THEMES[theme]["text"], (path, font)
            page.screenshot(path=str(SHOTS / f"{theme}_{path or 'overview'}.png"), full_page=True)
    finally:
        page.close()


def test_theme_switch_changes_every_page(server: str, browser: object) -> None:
    """The sidebar switch turns a dark-system viewer's app light, and other pages follow."""

    def background(page: object) -> str:
        return page.evaluate(  # type: ignore[attr-defined]
            "() => getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
        )

    # a fresh context: its own localStorage, which the switch writes
    page = browser.new_context(color_scheme="dark").new_page()  # type: ignore[attr-defined]
    try:
        _open(page, f"{server}/event?event={SEED_EVENT}")
        dark = background(page)
        page.locator('[data-testid="stSidebar"]').get_by_text("Light", exact=True).click()
        page.wait_for_function(
            "(dark) => getComputedStyle(document.querySelector('[data-testid=stApp]'))"
            ".backgroundColor !== dark",
            arg=dark,
            timeout=30_000,
        )
        light = background(page)
        assert light == "rgb(255, 255, 255)"
        _open(page, f"{server}/study")
        assert background(page) == light
    finally:
        page.context.close()


def test_overview_url_opens_the_overview(server: str, browser_page: object) -> None:
    """A typed or shared /overview link opens the Overview with its query, not 'Page not found'."""
    page = browser_page
    _open(page, f"{server}/overview?range=All")
    page.wait_for_selector(".tw-strip", timeout=60_000)
    assert "Page not found" not in page.inner_text("body")
    assert page.locator("h1").first.inner_text() == "Overview"
    assert "range=All" in page.url
