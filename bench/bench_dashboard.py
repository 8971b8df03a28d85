"""Dashboard speed on big data: first meaningful render per page, 10M bars vs a tiny database.

Builds (once, into bench/out/) a database of 20 instruments × 500,000 one-minute bars (10M bars)
with 10,000 events and 20,000 articles, and a tiny one with the same shape (20 × 1,440 bars,
20 events). Serves both with `tickerwire dashboard` side by side, opens every page in headless
system Chromium (Playwright) and times the first meaningful render: the script has finished and
the page's key element (strip, chart, grid) is drawn. Each round first touches both database
files, which changes the dashboard's data key, so every measured render runs its queries cold.
Also times each query behind the pages directly (uncached) on both files.

    .venv/bin/python bench/bench_dashboard.py [--rounds 3] [--rebuild] [--pages overview,event]

Prints per-page seconds (median over rounds), the big/tiny ratio (target ≤ 1.3) and the query
milliseconds at 10M bars (target < 300 ms each).

    .venv/bin/python bench/bench_dashboard.py --floor [--floor-db data/demo.duckdb] [--rounds 5]

The floor comparison (issue 14): serves bench/floor_app.py (one small Plotly chart, one widget)
beside the dashboard on the bundled data and times, in the same run and alternating order,
each page's first meaningful render and the rerun after one widget change against the floor's.
Target: both ≤ 1.5 × the floor.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import store  # noqa: E402
from pipelines.config import load_config  # noqa: E402

OUT = ROOT / "bench" / "out"
CHROMIUM = "/usr/bin/chromium"
START = datetime(2025, 7, 1, tzinfo=UTC)
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg'
GRID = '[data-testid="stDataFrame"]'
# url path -> (selector, how many must be present) that make the page "meaningfully rendered"
PAGES: dict[str, tuple[str, int]] = {
    "overview": (CHART, 1),  # the price chart (the sparklines are inline SVG)
    "event": (CHART, 1),
    "timeline": (CHART, 1),
    "study": (CHART, 1),  # the CAAR chart
    "correlations": (CHART, 2),
    "news": (GRID, 2),
    "sql": ("textarea", 1),
    "health": (GRID, 2),
}
CATEGORIES = ["policy", "macro", "regulation", "corporate", "energy", "flows", "trade", "security"]
WORDS = [
    "tariff",
    "rates",
    "ETF",
    "outage",
    "sanctions",
    "AI",
    "stablecoin",
    "OPEC",
    "hack",
    "halving",
]


# ---------------------------------------------------------------------------- databases


def build_db(path: Path, minutes: int, n_events: int) -> None:
    """Write a synthetic database: 20 watchlist instruments × `minutes` 1m bars, events, articles."""
    if path.exists():
        path.unlink()
    config = load_config()
    instruments = config.instruments
    started = time.monotonic()
    with store.writer(path) as writer:
        con = writer.con
        run = writer.start_run("bench")
        rows = [
            (
                i.id,
                i.name,
                i.asset_class,
                "bench",
                i.calendar,
                i.exchange_tz,
                10.0 ** ((k % 6) - 1),
                k,
            )
            for k, i in enumerate(instruments)
        ]
        con.execute(
            "create temp table spec (instrument_id varchar, display_name varchar, asset_class varchar,"
            " source varchar, calendar varchar, exchange_tz varchar, p0 double, k integer)"
        )
        con.executemany("insert into spec values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "insert into instruments (instrument_id, display_name, asset_class, source, calendar, exchange_tz)"
            " select instrument_id, display_name, asset_class, source, calendar, exchange_tz from spec"
        )
        # A smooth pseudo-random path per instrument (sums of sines plus hashed noise): no window
        # functions, so 10M rows generate in seconds; inserted in (instrument, ts) order.
        con.execute(
            """
            insert into bars (instrument_id, timeframe, ts, open, high, low, close, volume, source)
            with raw as (
                select s.instrument_id, s.p0, s.k, r.n,
                       s.p0 * exp(0.08 * sin(r.n / 7000.0 + s.k) + 0.02 * sin(r.n / 450.0 + 2 * s.k)
                                  + 0.002 * ((hash(r.n, s.k) % 1000) / 1000.0 - 0.5)) as close
                from spec s cross join range(?) r(n)
            )
            select instrument_id, '1m', ?::timestamptz + to_minutes(n), close * 0.9999,
                   close * 1.0004, close * 0.9995, close, 1.0 + (hash(n) % 100), 'bench'
            from raw
            order by instrument_id, n
            """,
            [minutes, START],
        )
        end = START + timedelta(minutes=minutes)
        con.execute(
            """
            insert into events (event_id, title, event_at, category, n_articles, n_outlets, first_outlet)
            select 'bench-' || n,
                   'Bench event ' || n || ' about ' || list_extract(?, (n % 10) + 1)::varchar,
                   ?::timestamptz + to_minutes((hash(n, 'e') % ?)::bigint),
                   list_extract(?, (n % 8) + 1), 2, 2, 'Outlet ' || (n % 7)
            from range(?) r(n)
            """,
            [WORDS, START, minutes, CATEGORIES, n_events],
        )
        con.execute(
            """
            insert into event_instruments (event_id, instrument_id, reason, confidence)
            select e.event_id, s.instrument_id, 'bench', 0.5
            from events e join spec s on s.k in ((hash(e.event_id) % 20)::int, (hash(e.event_id, 'b') % 20)::int)
            """
        )
        con.execute(
            """
            insert into articles (article_id, outlet, url, title, published_at, sentiment)
            select e.event_id || '-' || a.m, 'Outlet ' || ((hash(e.event_id) + a.m) % 7),
                   'https://example.org/' || e.event_id || '/' || a.m, e.title || ' (report ' || a.m || ')',
                   e.event_at + to_minutes(a.m * 17), ((hash(e.event_id, a.m) % 200) / 100.0) - 1
            from events e cross join range(2) a(m)
            """
        )
        con.execute(
            "insert into event_articles select e.event_id, a.article_id from events e"
            " join articles a on a.article_id like e.event_id || '-%'"
        )
        con.execute(
            """
            insert into quotes (instrument_id, ts, source, price, change_pct, captured_from)
            select b.instrument_id, b.ts, 'bench', b.close, 0.5 - (s.k % 3) * 0.4, 'bench'
            from bars b join spec s using (instrument_id)
            where b.ts = ?::timestamptz + to_minutes(? - 1)
            """,
            [START, minutes],
        )
        writer.finish_run(run)
        writer.set_meta("dataset", "bench")
        con.execute("checkpoint")
        n = con.execute("select count(*) from bars").fetchall()[0][0]
    print(
        f"built {path.name}: {n:,} bars, {n_events:,} events, through {end:%Y-%m-%d} "
        f"in {time.monotonic() - started:.1f} s"
    )


# ---------------------------------------------------------------------------- servers and browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`tickerwire --db DB dashboard --port P`, waited for until healthy."""
    port = _free_port()
    cli = Path(sys.executable).parent / "tickerwire"
    proc = subprocess.Popen(
        [str(cli), "--db", str(db), "dashboard", "--port", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(ROOT),
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server for {db} did not start; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the CLI and its streamlit child."""
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def render_seconds(browser: object, url: str, selector: str, count: int) -> float:
    """Seconds from navigation to: script finished and `count` × `selector` present."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})  # type: ignore[attr-defined]
    page = context.new_page()
    started = time.monotonic()
    try:
        page.goto(url)
        page.wait_for_selector(READY, timeout=180_000)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n",
            arg=[selector, count],
            timeout=180_000,
        )
        elapsed = time.monotonic() - started
        if page.locator('[data-testid="stException"]').count():
            print(f"  ! exception on {url}")
        return elapsed
    finally:
        context.close()


# ---------------------------------------------------------------------------- the floor

# page -> (widget label, option to pick) for the widget-change rerun; None = first render only
RERUNS: dict[str, tuple[str, str] | None] = {
    "overview": ("Range", "1M"),
    "event": ("Window (before, after)", "-6h,1d"),
    "timeline": ("Range", "1M"),
    "study": ("Event window (bars)", "-2,10"),
    "correlations": None,
    "news": None,
    "sql": None,
    "health": None,
}
# Installed before a widget change: flags when the app's script has gone running → notRunning
# (a MutationObserver sees every change of the attribute, however short the rerun).
WATCH_RERUN = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  window.__twRan = false; window.__twDone = false;
  new MutationObserver(() => {
    const state = app.dataset.testScriptState;
    if (state === 'running') window.__twRan = true;
    else if (window.__twRan && state === 'notRunning') window.__twDone = true;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
RERUN_DONE = "() => window.__twDone === true"
# A rerun so short that the browser batches running → notRunning into one paint never flips
# the attribute (seen on the floor's 10 ms script): after this long the sample is dropped
# rather than counted as a 180 s render.
RERUN_WAIT_MS = 20_000


def start_floor(log: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run bench/floor_app.py` on a free port, waited for until healthy."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "bench" / "floor_app.py")]
        + ["--server.port", str(port), "--server.headless", "true"]
        + ["--browser.gatherUsageStats", "false"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=str(ROOT),
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"floor app did not start; see {log}")


def pick(page: object, label: str, option: str) -> object:
    """Ready the selectbox or segmented control labelled `label` to choose `option`: a
    selectbox is opened; returns the option's locator, whose click is the widget change."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label)  # type: ignore[attr-defined]
    if box.count():
        box.first.click()
        choice = page.get_by_role("option", name=option, exact=True)  # type: ignore[attr-defined]
    else:
        group = page.locator('[data-testid="stButtonGroup"]').filter(has_text=label)  # type: ignore[attr-defined]
        choice = group.first.get_by_text(option, exact=True)
    choice.wait_for()
    return choice


def render_and_rerun(
    browser: object, url: str, selector: str, count: int, widget: tuple[str, str] | None
) -> tuple[float, float | None]:
    """Seconds to the first meaningful render, then seconds from a widget change to the end
    of the rerun (script finished, `selector` drawn again)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        started = time.monotonic()
        page.goto(url)
        page.wait_for_selector(READY, timeout=180_000)
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n",
            arg=[selector, count],
            timeout=180_000,
        )
        first = time.monotonic() - started
        if widget is None:
            return first, None
        label, option = widget
        page.evaluate(WATCH_RERUN)
        # The clock starts when the option is clicked, the list already open, for the floor
        # and the pages alike (finding and opening the widget is not the rerun).
        choice = pick(page, label, option)
        started = time.monotonic()
        choice.click()  # type: ignore[attr-defined]
        try:
            page.wait_for_function(RERUN_DONE, timeout=RERUN_WAIT_MS)
        except Exception:  # noqa: BLE001 — see RERUN_WAIT_MS: a missed flip is no sample
            print(f"  ! rerun on {url}: script state never seen running (no sample)")
            return first, None
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length >= n",
            arg=[selector, count],
            timeout=180_000,
        )
        rerun = time.monotonic() - started
        if page.locator('[data-testid="stException"]').count():
            print(f"  ! exception on {url}")
        return first, rerun
    finally:
        context.close()


def floor_comparison(db: Path, pages: list[str], rounds: int) -> None:
    """Every page against the floor app, first render and rerun, same run, alternating order."""
    from playwright.sync_api import sync_playwright

    if not db.exists():
        subprocess.run(
            [str(Path(sys.executable).parent / "tickerwire"), "--db", str(db), "demo"], check=True
        )
    dash, dash_url = start_server(db, OUT / "server_floor_dash.log")
    floor, floor_url = start_floor(OUT / "server_floor.log")
    first: dict[str, list[float]] = {}
    rerun: dict[str, list[float]] = {}
    loads = [os.getloadavg()[0]]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            render_seconds(browser, floor_url, "h1", 1)  # warm-up: module imports
            for page in pages:
                render_seconds(browser, f"{dash_url}/{'' if page == 'overview' else page}", "h1", 1)
            for round_no in range(rounds):
                os.utime(db)  # new data key: the page's queries run cold
                for page in pages:
                    selector, count = PAGES[page]
                    cases = [
                        ("floor", floor_url, CHART, 1, ("Points", "40")),
                        (
                            page,
                            f"{dash_url}/{'' if page == 'overview' else page}",
                            selector,
                            count,
                            RERUNS[page],
                        ),
                    ]
                    if round_no % 2:
                        cases.reverse()
                    for name, url, sel, n, widget in cases:
                        try:
                            f, r = render_and_rerun(browser, url, sel, n, widget)
                        except Exception as exc:  # a render that never finishes is a result too
                            print(f"  ! {name} on {page}: {type(exc).__name__}", flush=True)
                            f, r = float("inf"), (float("inf") if widget else None)
                        key = f"floor@{page}" if name == "floor" else page
                        first.setdefault(key, []).append(f)
                        if r is not None:
                            rerun.setdefault(key, []).append(r)
                        print(
                            f"  round {round_no + 1} {key:20s} first {f:5.2f} s"
                            + (f"  rerun {r:5.2f} s" if r is not None else ""),
                            flush=True,
                        )
                loads.append(os.getloadavg()[0])
            browser.close()
    finally:
        stop_server(dash)
        stop_server(floor)
    med = statistics.median
    floor_first = med([v for k, vs in first.items() if k.startswith("floor@") for v in vs])
    floor_rerun = med([v for k, vs in rerun.items() if k.startswith("floor@") for v in vs])
    print(
        f"\nvs the floor (one small Plotly chart), median of {rounds} rounds, bundled data {db.name}:"
    )
    print(f"  floor: first render {floor_first:.2f} s, widget rerun {floor_rerun:.2f} s")
    print(f"  {'page':14s} {'first':>6s} {'×floor':>7s} {'rerun':>6s} {'×floor':>7s}")
    for page in pages:
        f = med(first[page])
        line = f"  {page:14s} {f:6.2f} {f / floor_first:7.2f}"
        if page in rerun:
            r = med(rerun[page])
            line += f" {r:6.2f} {r / floor_rerun:7.2f}"
        print(line)
    print(
        f"  load average during the run: {min(loads):.1f}–{max(loads):.1f} "
        f"on {os.cpu_count()} cores (target ≤ 1.5 × floor)"
    )


# ---------------------------------------------------------------------------- query timings


def query_timings(db: Path) -> dict[str, float]:
    """Milliseconds of each query behind the pages, run uncached on `db`."""
    os.environ["TICKERWIRE_DB"] = str(db)
    from dashboard import data, operations, prices, reactions
    from pipelines.analytics import series

    d = str(db)
    cov = data.coverage.uncached(d)
    tfs = {r["instrument_id"]: r["timeframe"] for r in cov.iter_rows(named=True)}
    ids = tuple(sorted(tfs))
    last = cov["last_ts"].max()
    first = cov["first_ts"].min()
    ev = data.events.uncached(d, limit=10)
    t0 = ev["event_at"][0]
    week = (last - timedelta(days=7), last)

    def mv() -> object:
        return reactions._movers.uncached(
            d,
            tuple(ev["event_id"]),
            ids,
            tuple(tfs[i] for i in ids),
            t0 - timedelta(days=2),
            t0 + timedelta(hours=2),
            3600,
        )

    cases: dict[str, Callable[[], object]] = {
        "coverage": lambda: data.coverage.uncached(d),
        "strip": lambda: prices._strip.uncached(d, ids, None),
        "events (latest 10)": lambda: data.events.uncached(d, limit=10),
        "events (words)": lambda: data.events.uncached(d, words=("tariff",), limit=500),
        "movers (+1h, 10 events)": mv,
        "sparklines (7 d × 20)": lambda: prices.bucket_closes.uncached(
            d, ids, tuple(tfs[i] for i in ids), last - timedelta(days=7), last, 3600
        ),
        "candles BTC 1W": lambda: prices._ohlc.uncached(d, "BTC", "1m", *week, 360),
        "candles BTC all": lambda: prices._ohlc.uncached(
            d, "BTC", "1m", first, last, series.bucket_seconds(60, first, last, 2000)
        ),
        "line BTC all (pre-bucket)": lambda: prices._ohlc.uncached(
            d, "BTC", "1m", first, last, series.bucket_seconds(60, first, last, 20_000)
        ),
        "event paths (4 inst)": lambda: reactions._paths.uncached(
            d, ids[:4], "1m", t0, 3600, 14_400
        ),
        "event returns (4 inst)": lambda: reactions._returns.uncached(d, ids[:4], "1m", t0),
        "confounders": lambda: reactions.confounders.uncached(
            d, ev["event_id"][0], t0, 3600, 14_400
        ),
        "bucket closes (6 inst, 1M, 1h)": lambda: prices.bucket_closes.uncached(
            d, ids[:6], ("1m",) * 6, last - timedelta(days=30), last, 3600
        ),
        "articles (words)": lambda: data.articles.uncached(d, words=("tariff",), limit=300),
        "health runs": lambda: operations.health_runs.uncached(d),
        "health gaps (7 d)": lambda: operations._gaps.uncached(d, last - timedelta(days=7)),
        "schema": lambda: operations.schema.uncached(d),
    }
    out = {}
    for name, fn in cases.items():
        fn()  # first run warms the OS page cache and DuckDB's catalog
        runs = []
        for _ in range(3):
            started = time.monotonic()
            fn()
            runs.append(1000 * (time.monotonic() - started))
        out[name] = statistics.median(runs)
    return out


# ---------------------------------------------------------------------------- main


def main() -> None:
    """Build (once) the two databases, time queries and page renders, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument(
        "--floor", action="store_true", help="compare every page with the floor app"
    )
    parser.add_argument("--floor-db", type=Path, default=ROOT / "data" / "demo.duckdb")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.floor:
        floor_comparison(
            args.floor_db, [p for p in args.pages.split(",") if p in PAGES], args.rounds
        )
        return
    big, tiny = OUT / "dash_big.duckdb", OUT / "dash_tiny.duckdb"
    if args.rebuild or not big.exists():
        build_db(big, minutes=500_000, n_events=10_000)
    if args.rebuild or not tiny.exists():
        build_db(tiny, minutes=1_440, n_events=20)

    if not args.skip_queries:
        print("\nqueries behind the pages (median of 3, uncached), ms:")
        q_big, q_tiny = query_timings(big), query_timings(tiny)
        print(f"  {'query':34s} {'tiny':>8s} {'10M bars':>9s}")
        for name in q_big:
            flag = "" if q_big[name] < 300 else "   over 300 ms"
            print(f"  {name:34s} {q_tiny[name]:8.1f} {q_big[name]:9.1f}{flag}")
    if args.skip_browser:
        return

    from playwright.sync_api import sync_playwright

    pages = [p for p in args.pages.split(",") if p in PAGES]
    servers = {
        name: start_server(db, OUT / f"server_{name}.log")
        for name, db in (("tiny", tiny), ("big", big))
    }
    timings: dict[tuple[str, str], list[float]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # Warm-up: Streamlit's first session imports the page modules; not what we measure.
            for _, url in servers.values():
                render_seconds(browser, url, "h1", 1)
            for round_no in range(args.rounds):
                for db in (big, tiny):  # new mtime → new data key → cold query cache
                    os.utime(db)
                for page in pages:
                    selector, count = PAGES[page]
                    order = ("tiny", "big") if round_no % 2 == 0 else ("big", "tiny")
                    for name in order:
                        url = f"{servers[name][1]}/{'' if page == 'overview' else page}"
                        try:
                            seconds = render_seconds(browser, url, selector, count)
                        except Exception as exc:  # a render that never finishes is a result too
                            print(f"  ! {page} on {name}: {type(exc).__name__}", flush=True)
                            seconds = float("inf")
                        print(
                            f"  round {round_no + 1} {page:13s} {name:5s} {seconds:6.2f} s",
                            flush=True,
                        )
                        timings.setdefault((page, name), []).append(seconds)
            browser.close()
    finally:
        for proc, _ in servers.values():
            stop_server(proc)

    print(f"\nfirst meaningful render, cold cache, median of {args.rounds} rounds (s):")
    print(f"  {'page':14s} {'tiny':>7s} {'10M bars':>9s} {'ratio':>7s}")
    ratios = []
    for page in pages:
        t_tiny = statistics.median(timings[(page, "tiny")])
        t_big = statistics.median(timings[(page, "big")])
        ratios.append(t_big / t_tiny)
        flag = "" if t_big / t_tiny <= 1.3 else "   over 1.3"
        print(f"  {page:14s} {t_tiny:7.2f} {t_big:9.2f} {t_big / t_tiny:7.2f}{flag}")
    print(f"  {'worst ratio':14s} {'':7s} {'':9s} {max(ratios):7.2f}   (target ≤ 1.3)")
    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
