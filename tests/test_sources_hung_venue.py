"""A hung venue cannot hang a refresh: ccxt and yfinance calls end at their total deadline.

ccxt is pointed at a local server on 127.0.0.1 that lists Binance's markets and then never
answers the klines request; yfinance goes through its real code path to a recorded Yahoo whose
chart answer never comes. Both fail with a one-line error at the deadline and the other source
in the same refresh still lands.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import requests
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.errors import SourceError
from pipelines.refresh import run_refresh
from pipelines.retry import RetryPolicy
from pipelines.sources import Batch
from pipelines.sources.ccxt_source import CcxtSource, ExchangeRegistry
from pipelines.sources.yahoo_source import YahooSource
from tests.test_prices_yahoo import YahooNet

MARKETS = Path(__file__).resolve().parent / "fixtures" / "prices" / "binance_exchangeInfo.json"
DEADLINE = 1.5
STALL = 30.0  # how long the server holds a request: far past the deadline

CONFIG = """
[database]
path = "{db}"
[yahoo]
timeframes = ["1d"]
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"
venues = ["binance"]
[[instruments]]
id = "XAU"
asset_class = "commodity"
source = "yahoo"
symbol = "GC=F"
[[instruments]]
id = "XAG"
asset_class = "commodity"
source = "file"
symbol = "XAG"
"""


class _HungVenue(BaseHTTPRequestHandler):
    """Binance's markets at once; any other request is held (no byte sent) until released."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/api/v3/exchangeInfo"):
            body = MARKETS.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.server.held.append(self.path)  # type: ignore[attr-defined]
        self.server.release.wait(STALL)  # type: ignore[attr-defined]


@pytest.fixture
def hung_venue() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HungVenue)
    server.daemon_threads = True
    server.held, server.release = [], threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def _ccxt_at(server: ThreadingHTTPServer, tmp_path: Path) -> CcxtSource:
    """A ccxt source whose Binance instance sends every request to the local server."""
    registry = ExchangeRegistry(timeout_ms=20_000)
    exchange = registry.get("binance")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name, url in exchange.urls["api"].items():
        exchange.urls["api"][name] = url.replace("https://api.binance.com", base)
    return CcxtSource(
        timeframes=("1m",),
        registry=registry,
        retry=RetryPolicy(retries=2, base=0.01, cap=0.01),
        deadline=DEADLINE,
        cache_dir=tmp_path / "markets",
    )


class Steady:
    """A source that answers at once: its bar must land although the venues hang."""

    name = "steady"
    kinds = ("prices",)

    def run(self, config, state, only) -> Iterator[Batch]:
        """One daily XAG bar."""
        bar = pl.DataFrame(
            {
                "instrument_id": ["XAG"],
                "timeframe": ["1d"],
                "ts": [datetime(2021, 7, 6, tzinfo=UTC)],
                "open": [25.0],
                "high": [26.0],
                "low": [24.5],
                "close": [25.5],
                "volume": [10.0],
                "source": ["steady"],
            }
        )
        yield Batch(source="steady", key="XAG/1d", frames={"bars": bar})


def test_a_hung_venue_ends_at_the_deadline_and_the_others_land(tmp_path, hung_venue):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "tw.duckdb"))
    config = load_config(cfg)
    now = datetime(2021, 7, 7, 12, tzinfo=UTC)  # yfinance memoises requests: a date of its own
    chart_asked = threading.Event()

    def never_answers(_query):
        chart_asked.set()
        hung_venue.release.wait(STALL)  # type: ignore[attr-defined]
        return {}

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        yahoo_net = YahooNet(rsps)
        yahoo_net.routes["GC=F"] = never_answers
        sources = {
            "ccxt": _ccxt_at(hung_venue, tmp_path),
            "yahoo": YahooSource(session=requests.Session(), clock=lambda: now, deadline=DEADLINE),
            "steady": Steady(),
        }
        t0 = time.monotonic()
        summary = run_refresh(config.db_path, config, "prices", sources=sources)
        elapsed = time.monotonic() - t0

    # Two hung calls of 1.5 s each, plus the commits: far below the server's 30 s hold.
    assert elapsed < 2 * DEADLINE + 6, elapsed
    assert hung_venue.held and hung_venue.held[0].startswith("/api/v3/klines")  # type: ignore[attr-defined]
    assert chart_asked.is_set()
    outcomes = {o.source: o for o in summary.outcomes}
    assert {n: o.status for n, o in outcomes.items()} == {
        "ccxt": "failed",
        "yahoo": "failed",
        "steady": "ok",
    }
    for name in ("ccxt", "yahoo"):
        [error] = outcomes[name].errors
        assert "\n" not in error and f"within the {DEADLINE:g} s deadline" in error, error
    assert outcomes["ccxt"].errors[0].startswith("BTC/1m: binance (BTC/USDT): ")
    assert outcomes["yahoo"].errors[0].startswith("XAU/1d: Yahoo GC=F 1d: ")
    with store.reader(config.db_path) as con:
        landed = con.execute("select instrument_id, close from bars").fetchall()
    assert landed == [("XAG", 25.5)]


def test_within_returns_a_prompt_answer_and_raises_its_error():
    from pipelines.retry import within

    assert within(lambda: 42, 1.0, "quick") == 42
    with pytest.raises(ZeroDivisionError):
        within(lambda: 1 / 0, 1.0, "broken")
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"^slow: no complete answer within the 0.2 s deadline$"):
        within(lambda: time.sleep(5), 0.2, "slow")
    assert time.monotonic() - t0 < 1.0
