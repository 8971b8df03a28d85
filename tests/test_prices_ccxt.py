"""ccxt source through ccxt's real HTTP code path; `responses` serves exchange-format answers."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import ccxt
import polars as pl
import pytest
import requests
import responses

from pipelines import store
from pipelines.config import Instrument, load_config
from pipelines.errors import ConfigError
from pipelines.retry import RetryPolicy
from pipelines.sources.ccxt_source import CcxtSource, ExchangeRegistry, to_bar_frame, to_quote_frame

FIX = Path(__file__).resolve().parent / "fixtures" / "prices"
T0 = datetime(2024, 3, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
BINANCE = "https://api.binance.com/api/v3"
OKX = "https://www.okx.com/api/v5"

CONFIG = """
[database]
path = "{db}"
[venues]
default = ["binance", "okx"]
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"
[[instruments]]
id = "XLM"
asset_class = "crypto"
source = "ccxt"
symbol = "XLM/USDT"
[[instruments]]
id = "HYPE"
asset_class = "crypto"
source = "ccxt"
symbol = "HYPE/USDT"
[[instruments]]
id = "XAU"
asset_class = "commodity"
source = "yahoo"
symbol = "GC=F"
calendar = "cme_globex"
exchange_tz = "America/New_York"
"""


def _json(name: str):
    return json.loads((FIX / name).read_text())


class Exchanges:
    """A fake *network*: Binance and OKX answering in their documented formats, as of `now`."""

    def __init__(self, rsps: responses.RequestsMock, now: datetime, page_cap: int = 4):
        self.now = now
        self.page_cap = page_cap  # exchanges may answer fewer rows than asked for
        self.klines = _json("binance_klines_BTCUSDT_1m.json")
        self.okx_candles = _json("okx_candles_XLM-USDT_1m.json")["data"]
        self.fail_next: list[object] = []  # queued failures for the klines endpoint
        self.kline_calls: list[dict] = []
        rsps.add(responses.GET, f"{BINANCE}/exchangeInfo", json=_json("binance_exchangeInfo.json"))
        rsps.add(
            responses.GET,
            f"{OKX}/public/instruments",
            json=_json("okx_instruments_spot.json"),
        )
        rsps.add_callback(responses.GET, f"{BINANCE}/klines", callback=self.binance_klines)
        rsps.add_callback(
            responses.GET, re.compile(rf"{OKX}/market/(history-)?candles.*"), callback=self.okx
        )
        rsps.add_callback(responses.GET, f"{BINANCE}/ticker/24hr", callback=self.binance_tickers)

    def _now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def binance_klines(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.kline_calls.append(q)
        if self.fail_next:
            failure = self.fail_next.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if q["symbol"] != "BTCUSDT":
            return (400, {}, json.dumps({"code": -1121, "msg": "Invalid symbol."}))
        start = int(q.get("startTime", 0))
        rows = [r for r in self.klines if start <= r[0] <= self._now_ms()]
        rows = rows[: min(int(q.get("limit", 500)), self.page_cap)]
        return (200, {}, json.dumps(rows))

    def okx(self, request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        before, after = int(q.get("before", 0)), int(q.get("after", 2**62))
        rows = [
            r
            for r in self.okx_candles
            if before < int(r[0]) < after and int(r[0]) <= self._now_ms()
        ]
        rows = rows[
            -min(int(q.get("limit", 100)), self.page_cap) :
        ]  # the oldest page after `before`
        return (200, {}, json.dumps({"code": "0", "msg": "", "data": rows}))

    def binance_tickers(self, request):
        q = parse_qs(urlparse(request.url).query)
        wanted = json.loads(q["symbols"][0]) if "symbols" in q else ["BTCUSDT"]
        out = [
            {
                "symbol": s,
                "priceChange": "-105.00000000",
                "priceChangePercent": "-0.170",
                "weightedAvgPrice": "73300.00000000",
                "prevClosePrice": "73380.00000000",
                "lastPrice": "73275.00000000",
                "lastQty": "0.01000000",
                "bidPrice": "73274.99000000",
                "bidQty": "1.00000000",
                "askPrice": "73275.00000000",
                "askQty": "1.00000000",
                "openPrice": "73380.00000000",
                "highPrice": "73900.00000000",
                "lowPrice": "72800.00000000",
                "volume": "12000.00000000",
                "quoteVolume": "879600000.00000000",
                "openTime": self._now_ms() - 86_400_000,
                "closeTime": self._now_ms(),
                "firstId": 1,
                "lastId": 2,
                "count": 2,
            }
            for s in wanted
        ]
        return (200, {}, json.dumps(out))


@pytest.fixture
def env(tmp_path: Path):
    """A config, a migrated db, a recorded network, and a source with a fake clock and no sleeps."""
    db = tmp_path / "tw.duckdb"
    cfg_file = tmp_path / "tw.toml"
    cfg_file.write_text(CONFIG.format(db=db))
    with store.writer(db):
        pass
    sleeps: list[float] = []
    clock = {"now": T0 + 10 * MIN + timedelta(seconds=30)}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        net = Exchanges(rsps, clock["now"])

        def make_source() -> CcxtSource:
            return CcxtSource(
                timeframes=("1m",),
                lookback={"1m": timedelta(minutes=15)},
                retry=RetryPolicy(retries=3, base=0.5, cap=4, sleep=sleeps.append),
                registry=ExchangeRegistry(
                    options={
                        "binance": {"fetchMarkets": {"types": ["spot"]}},
                        "okx": {"fetchMarkets": {"types": ["spot"]}},
                    }
                ),
                clock=lambda: clock["now"],
            )

        yield {
            "config": load_config(cfg_file),
            "db": db,
            "net": net,
            "rsps": rsps,
            "sleeps": sleeps,
            "clock": clock,
            "make_source": make_source,
        }


def _refresh(source: CcxtSource, config, db: Path, only=("prices",)) -> list:
    """Run the source and commit each batch as refresh does (state read back from the db)."""
    with store.reader(db) as con:
        rows = con.execute("select key, cursor_ts, value from ingest_state").fetchall()
    state = {k: (ts, v) for k, ts, v in rows}
    batches = list(source.run(config, state, set(only)))
    with store.writer(db) as st:
        for b in batches:
            store.commit_batch(
                st, b.source, b.key, b.frames, cursor_ts=b.cursor_ts, rejects=b.rejects
            )
    return batches


def _table(db: Path, sql: str) -> pl.DataFrame:
    with store.reader(db) as con:
        return store.query_frame(con, sql)


def test_pages_drop_open_candle_fallback_and_unlisted(env):
    """BTC pages through Binance; XLM falls back to OKX after BadSymbol; HYPE is unavailable."""
    src = env["make_source"]()
    batches = {b.key: b for b in _refresh(src, env["config"], env["db"])}
    btc = batches["BTC/1m"]
    assert btc.source == "ccxt:binance" and btc.error is None
    # 00:00 … 00:09 complete; the 00:10 candle is still open at 00:10:30 and is dropped.
    assert btc.frames["bars"]["ts"].to_list() == [T0 + i * MIN for i in range(10)]
    assert btc.cursor_ts == T0 + 9 * MIN
    # three pages of at most four rows: 00:00-03, 00:04-07, 00:08-10; then the present is reached
    assert [int(c["startTime"]) for c in env["net"].kline_calls if c["symbol"] == "BTCUSDT"] == [
        int((env["clock"]["now"] - timedelta(minutes=15)).timestamp() * 1000),
        int((T0 + 4 * MIN).timestamp() * 1000),
        int((T0 + 8 * MIN).timestamp() * 1000),
    ]
    first = btc.frames["bars"].row(0, named=True)
    assert (first["open"], first["high"], first["low"], first["close"], first["volume"]) == (
        61000.0, 61000.0 - 4 + 4 + 5, 61000.0 - 4 - 5, 60996.0, 1.5,
    )  # fmt: skip
    xlm = batches["XLM/1m"]
    assert xlm.source == "ccxt:okx" and xlm.error is None
    assert xlm.frames["bars"].height == 10 and xlm.frames["bars"]["close"][0] == pytest.approx(
        0.12005
    )
    hype = batches["HYPE"]
    assert hype.skipped == "not listed on binance (HYPE/USDT), okx (HYPE/USDT)"
    inst = _table(
        env["db"],
        "select instrument_id, venue, market_symbol, available, unavailable_reason "
        "from instruments order by 1",
    )
    assert inst.rows() == [
        ("BTC", "binance", "BTC/USDT", True, None),
        ("HYPE", None, None, False, hype.skipped),
        ("XLM", "okx", "XLM/USDT", True, None),
    ]
    assert "XAU/1m" not in batches  # a yahoo instrument is not ccxt's business


def test_second_run_stores_nothing_new_and_time_moves_on(env):
    """Refresh twice at the same instant → identical tables; later → only the new bars."""
    _refresh(env["make_source"](), env["config"], env["db"])
    snapshot = _table(env["db"], "select * exclude (ingested_at) from bars order by all")
    state1 = _table(env["db"], "select source, key, cursor_ts from ingest_state order by all")
    # A new process (fresh instances) re-reads a 3-bar overlap and finds every row unchanged.
    env["net"].kline_calls.clear()
    batches = _refresh(env["make_source"](), env["config"], env["db"])
    assert _table(env["db"], "select * exclude (ingested_at) from bars order by all").equals(
        snapshot
    )
    assert _table(env["db"], "select source, key, cursor_ts from ingest_state order by all").equals(
        state1
    )
    assert int(env["net"].kline_calls[0]["startTime"]) == int((T0 + 6 * MIN).timestamp() * 1000)
    assert {b.key for b in batches if b.error} == set()
    # 20 minutes later the cursor moves to 00:29 and the bars to 30 per instrument.
    env["clock"]["now"] = env["net"].now = T0 + 40 * MIN
    _refresh(env["make_source"](), env["config"], env["db"])
    counts = _table(
        env["db"], "select instrument_id, count(*) n, max(ts) last from bars group by 1 order by 1"
    )
    assert counts.rows() == [("BTC", 30, T0 + 29 * MIN), ("XLM", 30, T0 + 29 * MIN)]
    # the last Binance request found an empty page (no bar after 00:29) and the loop stopped there
    btc_calls = [c for c in env["net"].kline_calls if c["symbol"] == "BTCUSDT"]
    assert btc_calls[-1]["startTime"] == str(int((T0 + 30 * MIN).timestamp() * 1000))


def test_rate_limit_then_success_backs_off(env):
    """HTTP 429 → ccxt RateLimitExceeded → retried after a jittered wait, then the page is read."""
    env["net"].fail_next = [(429, {}, json.dumps({"code": -1003, "msg": "Too many requests."}))]
    batches = {b.key: b for b in _refresh(env["make_source"](), env["config"], env["db"])}
    assert batches["BTC/1m"].error is None and batches["BTC/1m"].frames["bars"].height == 10
    assert len(env["sleeps"]) == 1 and 0 <= env["sleeps"][0] <= 0.5


def test_timeouts_are_retried_then_reported_without_stopping_others(env):
    """A timeout is retried; a venue that keeps timing out fails that unit only, with the reason."""
    env["net"].fail_next = [requests.exceptions.ReadTimeout("read timed out")] * 4
    batches = {b.key: b for b in _refresh(env["make_source"](), env["config"], env["db"])}
    assert batches["BTC/1m"].error.startswith("binance (BTC/USDT): RequestTimeout")
    assert len(env["sleeps"]) == 3  # 4 attempts → 3 waits, each within its doubling cap
    assert all(0 <= s <= cap for s, cap in zip(env["sleeps"], (0.5, 1.0, 2.0), strict=True))
    assert batches["XLM/1m"].error is None and batches["XLM/1m"].frames["bars"].height == 10


def test_bad_symbol_is_never_retried(env):
    """BadSymbol (Binance -1121) goes straight to the next venue, without a wait."""
    _refresh(env["make_source"](), env["config"], env["db"])
    xlm_calls = [c for c in env["net"].kline_calls if c["symbol"] == "XLMUSDT"]
    assert len(xlm_calls) == 1 and env["sleeps"] == []


def test_quotes_from_tickers(env):
    """fetch_tickers on Binance → one quote per instrument resolved there (24 h change in %)."""
    batches = _refresh(env["make_source"](), env["config"], env["db"], only=("quotes",))
    quotes = _table(
        env["db"], "select instrument_id, source, price, change_pct, captured_from from quotes"
    )
    assert ("BTC", "ccxt:binance", 73275.0, -0.17, "binance ticker BTC/USDT") in quotes.rows()
    assert not any(b.key.endswith("/1m") for b in batches)  # only quotes were asked for


def test_markets_cached_for_a_day(env):
    """load_markets goes to the network once; a new process within a day reads the cache file."""
    _refresh(env["make_source"](), env["config"], env["db"])
    cache = env["db"].parent / "cache" / "ccxt" / "binance-markets.json"
    assert "BTC/USDT" in json.loads(cache.read_text())["markets"]
    info_calls = lambda: sum("exchangeInfo" in c.request.url for c in env["rsps"].calls)  # noqa: E731
    before = info_calls()
    _refresh(env["make_source"](), env["config"], env["db"])
    assert info_calls() == before
    env["clock"]["now"] += timedelta(days=1, minutes=1)
    _refresh(env["make_source"](), env["config"], env["db"])
    assert info_calls() == before + 1


SHARED_CASES = [  # (exchange, method, case index): spot BTC/USDT cases whose markets were recorded
    ("binance", "fetchOHLCV", 0), ("binance", "fetchTicker", 0),
    ("kraken", "fetchOHLCV", 0), ("kraken", "fetchTicker", 0),
    ("kucoin", "fetchOHLCV", 0), ("kucoin", "fetchTicker", 0),
    ("okx", "fetchOHLCV", 0), ("okx", "fetchTicker", 0),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "method", "index"), SHARED_CASES, ids=lambda v: str(v))
def test_shared_ccxt_cases_through_http_and_our_transform(shared: Path, venue, method, index):
    """ccxt's own recorded responses, served over HTTP: ccxt parses them as recorded, and our
    transform keeps every value (bars: UTC open times; quotes: last and 24 h change %)."""
    doc = json.loads((shared / f"fixtures/ccxt/{venue}.response.json").read_text())
    case = doc["methods"][method][index]
    markets = json.loads((shared / f"fixtures/ccxt/{venue}.markets.json").read_text())["markets"]
    exchange = getattr(ccxt, venue)()
    exchange.set_markets(markets)
    body = case["httpResponse"]
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, re.compile(r"https://.*"), json=body)
        got = getattr(
            exchange, method.replace("OHLCV", "_ohlcv").replace("Ticker", "_ticker").lower()
        )(*case["input"])
    expected = case["parsedResponse"]
    inst = Instrument(
        id="BTC", name="Bitcoin", asset_class="crypto", source="ccxt", symbol="BTC/USDT"
    )
    if method == "fetchOHLCV":
        assert got == expected
        frame = to_bar_frame(got, "BTC", case["input"][1], venue)
        assert frame["ts"].to_list() == [
            datetime.fromtimestamp(r[0] / 1000, tz=UTC) for r in expected
        ]
        assert frame["close"].to_list() == [float(r[4]) for r in expected]
    else:
        for field in ("last", "percentage", "timestamp"):
            assert got[field] == expected[field]
        frame = to_quote_frame({"BTC/USDT": got}, [(inst, "BTC/USDT")], venue, T0)
        row = frame.row(0, named=True)
        assert (row["price"], row["change_pct"]) == (
            float(expected["last"]),
            expected["percentage"],
        )


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("TICKERWIRE_NETWORK_TESTS") != "1", reason="live network test")
def test_live_binance_btc_bars(tmp_path: Path):
    """Live smoke test: the last hour of BTC 1m bars from Binance."""
    src = CcxtSource()
    rows = src.fetch_bars("binance", "BTC/USDT", "1m", datetime.now(UTC) - timedelta(hours=1), None)
    assert len(rows) >= 50


def test_refresh_twice_through_run_refresh_is_idempotent(env):
    """The ops refresh loop over this source: the second run stores nothing and fails nothing."""
    from pipelines.refresh import run_refresh

    first = run_refresh(env["db"], env["config"], "prices", sources={"ccxt": env["make_source"]()})
    tables = "select * exclude (ingested_at) from bars order by all"
    snapshot = _table(env["db"], tables)
    second = run_refresh(env["db"], env["config"], "prices", sources={"ccxt": env["make_source"]()})
    assert [o.stored for o in first.outcomes] == [20 + 3]  # 2 × 10 bars + BTC, XLM, HYPE rows
    assert [o.stored for o in second.outcomes] == [0] and second.outcomes[0].errors == []
    assert _table(env["db"], tables).equals(snapshot)


def test_backfill_fetches_a_range_without_moving_the_cursor(env):
    """backfill 00:05–00:20 pages through that range only and leaves ingest_state alone."""
    from pipelines.backfill import backfill

    env["clock"]["now"] = env["net"].now = T0 + 40 * MIN
    res = backfill(env["config"], env["db"], "BTC", "1m", T0 + 5 * MIN, T0 + 20 * MIN,
                   source=env["make_source"](), clock=env["clock"]["now"])  # fmt: skip
    assert (res.where, res.upsert.inserted, res.first, res.last) == (
        "binance BTC/USDT", 15, T0 + 5 * MIN, T0 + 19 * MIN,
    )  # fmt: skip
    assert _table(env["db"], "select count(*) n from ingest_state").item() == 0
    with pytest.raises(ConfigError, match="'DOGE' is not in the watchlist"):
        backfill(env["config"], env["db"], "DOGE", "1m", T0, None, source=env["make_source"]())


def test_no_network_fails_fast_with_a_plain_reason(env):
    """A DNS failure is not retried (no sleeps) and the reason says there is no network."""
    env["net"].fail_next = [
        requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='api.binance.com', port=443): Max retries exceeded "
            "(Caused by NameResolutionError(\"Failed to resolve 'api.binance.com'\"))"
        )
    ]
    batches = {b.key: b for b in _refresh(env["make_source"](), env["config"], env["db"])}
    assert batches["BTC/1m"].error.startswith("binance (BTC/USDT): NetworkError: ")
    assert batches["BTC/1m"].error.endswith("(no network (DNS lookup or route failed))")
    assert env["sleeps"] == []
