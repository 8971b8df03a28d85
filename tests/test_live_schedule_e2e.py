"""Done-when of issue 17: `tickerwire schedule` with the DEFAULT config keeps quotes fresh and
fires an alert to a local receiver.

The scheduler (`run_schedule`, what `tickerwire schedule` runs) reads the repository's
tickerwire.toml unchanged (only the database file is the test's). The network boundary is
`responses`: Binance answers exchangeInfo, klines and 24 h tickers in its documented formats,
with BTC up 6 % over its last 30 minutes, and every other host (the other venues, the feeds,
GDELT) answers 503. Yahoo goes through yfinance's own HTTP client, which finds no network here.
Alerts go through apprise to a local HTTP receiver (`json://127.0.0.1:PORT/`, from
TICKERWIRE_ALERT_URLS as the README says). The scheduler's clock jumps a minute per reading, so
the quotes cadence (1m) comes round at once instead of after a real minute.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.health import freshness
from pipelines.retry import RetryPolicy
from pipelines.scheduler import run_schedule
from pipelines.sources.ccxt_source import CcxtSource, ExchangeRegistry
from pipelines.sources.gdelt_source import GdeltSource
from pipelines.sources.http import HttpClient
from pipelines.sources.rss_source import RssSource
from pipelines.sources.yahoo_source import YahooSource
from tests.alert_receiver import Receiver

pytestmark = pytest.mark.slow

BINANCE = "https://api.binance.com/api/v3"
FIX = Path(__file__).resolve().parent / "fixtures" / "prices"
COINS = ["XRP", "TRX", "SOL", "BTC", "ETH", "BNB", "ADA", "DOGE", "XLM", "ZEC"]
MIN_MS = 60_000
REPO_CONFIG = Path(__file__).resolve().parent.parent / "tickerwire.toml"  # the defaults


class Binance:
    """Binance spot REST as documented, priced by a rule: flat, BTC +6 % over the last 30 min."""

    def __init__(self, rsps: responses.RequestsMock):
        self.ticker_rounds = 0
        info = json.loads((FIX / "binance_exchangeInfo.json").read_text())
        template = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
        info["symbols"] = [
            {**copy.deepcopy(template), "symbol": f"{c}USDT", "baseAsset": c} for c in COINS
        ]
        rsps.add(responses.GET, f"{BINANCE}/exchangeInfo", json=info)
        rsps.add_callback(responses.GET, f"{BINANCE}/klines", callback=self.klines)
        rsps.add_callback(responses.GET, f"{BINANCE}/ticker/24hr", callback=self.tickers)

    @staticmethod
    def price(symbol: str, t_ms: int, now_ms: int) -> float:
        base = 100.0 + COINS.index(symbol.removesuffix("USDT"))
        ramp = max(0.0, 1 - (now_ms - t_ms) / (30 * MIN_MS))  # 0 → 1 over the last 30 min
        return base * (1 + 0.06 * ramp) if symbol == "BTCUSDT" else base

    def klines(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        step = {"1m": MIN_MS, "1h": 60 * MIN_MS, "1d": 1440 * MIN_MS}[q["interval"]]
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        start = -(-int(q["startTime"]) // step) * step
        rows = []
        for t in range(start, now_ms, step)[: int(q.get("limit", 500))]:
            p = self.price(q["symbol"], t + step, now_ms)
            rows.append([t, f"{p}", f"{p}", f"{p}", f"{p}", "10.0", t + step - 1, "1000.0", 10,
                         "5.0", "500.0", "0"])  # fmt: skip
        return (200, {}, json.dumps(rows))

    def tickers(self, request):
        self.ticker_rounds += 1
        wanted = json.loads(parse_qs(urlparse(request.url).query)["symbols"][0])
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        out = []
        for s in wanted:
            last = self.price(s, now_ms, now_ms) + self.ticker_rounds / 100  # moves each round
            out.append({
                "symbol": s, "priceChange": "1.0", "priceChangePercent": "1.000",
                "weightedAvgPrice": f"{last}", "prevClosePrice": f"{last}", "lastPrice": f"{last}",
                "lastQty": "1.0", "bidPrice": f"{last}", "bidQty": "1.0", "askPrice": f"{last}",
                "askQty": "1.0", "openPrice": f"{last}", "highPrice": f"{last}",
                "lowPrice": f"{last}", "volume": "10.0", "quoteVolume": "1000.0",
                "openTime": now_ms - 86_400_000, "closeTime": now_ms, "firstId": 1, "lastId": 2,
                "count": 2,
            })  # fmt: skip
        return (200, {}, json.dumps(out))


def test_schedule_with_the_default_config_keeps_quotes_fresh_and_alerts(tmp_path, monkeypatch):
    config = load_config(REPO_CONFIG)
    db = tmp_path / "live.duckdb"
    fast = HttpClient(timeout=(0.5, 0.5), retries=1, sleep=lambda _s: None)
    sources = {
        # the registered sources with test-speed retries; nothing else differs
        "ccxt": CcxtSource(retry=RetryPolicy(retries=0, sleep=lambda _s: None),
                           registry=ExchangeRegistry(), cache_dir=tmp_path / "cache"),
        "yahoo": YahooSource(sleep=lambda _s: None),
        "rss": RssSource(client=fast),
        "gdelt": GdeltSource(client=fast, sleep=lambda _s: None),
    }  # fmt: skip
    start = datetime.now(UTC)
    ticks = (start + n * timedelta(seconds=61) for n in itertools.count())
    lines: list[str] = []
    with Receiver() as rx, responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        monkeypatch.setenv("TICKERWIRE_ALERT_URLS", rx.url)
        rsps.add_passthru("http://127.0.0.1")  # apprise's POST reaches the real receiver
        binance = Binance(rsps)
        for method in (responses.GET, responses.POST):
            # not Binance nor the receiver: responses would take turns between two matches
            other = re.compile(r"https?://(?!127\.0\.0\.1|api\.binance\.com/)")
            rsps.add(method, other, status=503, body="unavailable")
        rounds = run_schedule(db, config, stop=threading.Event(), sources=sources,
                              report=lines.append, clock=lambda: next(ticks), max_rounds=2)  # fmt: skip
    with store.reader(db) as con:
        runs = con.execute(
            "select source, status, errors from ingest_runs order by run_id"
        ).fetchall()
    assert rounds == 2 and binance.ticker_rounds == 2, "\n".join(
        lines
        + [e for r in runs for e in (r[2] or "").split("\n") if "markets unavailable" not in e]
    )
    with store.reader(db) as con:
        per_round = con.execute(
            "select instrument_id, count(*), max(ts), max_by(price, ts) from quotes "
            "where source = 'ccxt:binance' group by 1 order by 1"
        ).fetchall()
        fresh = freshness(con, config, datetime.now(UTC))
    assert sorted(r[0] for r in per_round) == sorted(COINS)
    now = datetime.now(UTC)
    for inst, n, newest, price in per_round:
        assert n == 2, inst  # one quote per round
        assert now - newest < timedelta(minutes=1), inst
        expected = Binance.price(f"{inst}USDT", 0, 0) + 0.02  # what round 2 served
        assert price == pytest.approx(expected, rel=1e-9), inst  # the second round's price
    ccxt_row = fresh.filter((fresh["kind"] == "source") & (fresh["name"] == "ccxt")).row(
        0, named=True
    )
    assert not ccxt_row["stale"], ccxt_row
    titles = [body.get("title", "") for _t, body in rx.posts]
    swings = [t for t in titles if "[crypto-swing]" in t]
    assert len(swings) == 1 and "BTC" in swings[0], titles  # once, deduped in the second round
    assert not any("Traceback" in line for line in lines)
