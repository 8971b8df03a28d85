"""Yahoo source through yfinance's real HTTP and parsing code; `responses` serves chart-API JSON."""

from __future__ import annotations

import os

# yfinance picks its HTTP backend at import: plain requests lets `responses` intercept it.
os.environ["YF_DISABLE_CURL_CFFI"] = "1"

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
import requests
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.errors import ConfigError, SourceError
from pipelines.refresh import source_state
from pipelines.sources.yahoo_source import YahooSource, chunks, yahoo_settings

CHART = re.compile(r"https://query\d\.finance\.yahoo\.com/v8/finance/chart/(?P<sym>[^?]+)")

CONFIG = """
[database]
path = "{db}"
[yahoo]
timeframes = {timeframes}
lookback_days = {lookback}
retries = 2
backoff_seconds = 0.5
[[instruments]]
id = "XAU"
asset_class = "commodity"
source = "yahoo"
symbol = "GC=F"
fallback_symbols = ["MGC=F"]
calendar = "cme_globex"
exchange_tz = "America/New_York"
"""


def shared_chart(shared: Path, name: str) -> dict:
    """The chart-API body inside a node-yahoo-finance2 recording."""
    doc = json.loads((shared / "fixtures" / "yahoo" / name).read_text())
    resp = doc["response"]
    return resp["bodyJson"] if "bodyJson" in resp else json.loads(resp["body"])


def built_chart(symbol: str, interval: str, start: int, end: int, step: int, tz: str) -> dict:
    """A chart-API answer in Yahoo's format: bars every `step` s in [start, end), prices by index."""
    stamps = list(range(start - start % step, end, step))
    stamps = [t for t in stamps if t >= start]
    closes = [100.0 + (t // step) % 50 / 10 for t in stamps]
    day0 = start - start % 86400
    # futures trading round the clock: one regular period per New York (EST) day
    periods = [
        [{"timezone": "EST", "start": d + 18000, "end": d + 18000 + 86400, "gmtoffset": -18000}]
        for d in range(day0 - 86400, end, 86400)
    ]
    return {
        "chart": {
            "result": [
                {
                    "meta": {
                        "currency": "USD", "symbol": symbol, "exchangeName": "NYM",
                        "fullExchangeName": "NY Mercantile", "instrumentType": "FUTURE",
                        "firstTradeDate": 967003200, "regularMarketTime": end,
                        "hasPrePostMarketData": False, "gmtoffset": -18000, "timezone": "EST",
                        "exchangeTimezoneName": tz, "regularMarketPrice": closes[-1] if closes else 0,
                        "priceHint": 2, "dataGranularity": interval, "range": "",
                        "tradingPeriods": periods,
                        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
                    },
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": [c - 0.05 for c in closes],
                                "high": [c + 0.1 for c in closes],
                                "low": [c - 0.1 for c in closes],
                                "close": closes,
                                "volume": [10 + (t // step) % 100 for t in stamps],
                            }
                        ]
                    },
                }
            ],
            "error": None,
        }
    }  # fmt: skip


class YahooNet:
    """Yahoo's endpoints as seen by yfinance: cookie, crumb, consent, chart.

    yfinance memoises identical chart requests for the whole process, so each test asks with
    its own clock (hence its own period1/period2) to reach this fake network at all.
    """

    def __init__(self, rsps: responses.RequestsMock):
        self.routes: dict[str, object] = {}  # symbol -> body, or callable(params) -> body
        self.fail: list[tuple[int, str]] = []  # queued error answers for the chart endpoint
        self.chart_calls: list[dict] = []
        rsps.add(responses.GET, "https://fc.yahoo.com/", status=404, body="")
        rsps.add(
            responses.GET, re.compile(r"https://query\d\.finance\.yahoo\.com/v1/test/getcrumb"),
            body="Xcrumb0",
        )  # fmt: skip
        rsps.add_callback(responses.GET, CHART, callback=self.chart)
        # yfinance's time-zone fallback when the chart probe fails: Yahoo's "not found" answer
        missing = {
            "quoteSummary": {
                "result": None,
                "error": {"code": "Not Found", "description": "Quote not found"},
            }
        }
        rsps.add(
            responses.GET,
            re.compile(r"https://query\d\.finance\.yahoo\.com/v10/finance/quoteSummary/.*"),
            status=404,
            json=missing,
        )
        # yfinance's second cookie strategy (consent form) after an error: nothing to consent to
        for method in (responses.GET, responses.POST):
            rsps.add(
                method, re.compile(r"https://(guce|consent)\.yahoo\.com/.*"), status=404, body=""
            )

    def chart(self, request):
        symbol = CHART.match(request.url)["sym"].replace("%3D", "=")
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        if "period1" in q:  # the time-zone probe (range=1d) is not a data request
            self.chart_calls.append({"symbol": symbol, **q})
            if self.fail:
                status, text = self.fail.pop(0)
                return (status, {}, text)
        route = self.routes.get(symbol)
        if route is None:
            body = {
                "chart": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": "No data found, symbol may be delisted",
                    },
                }
            }
            return (404, {}, json.dumps(body))
        return (200, {}, json.dumps(route(q) if callable(route) else route))


@pytest.fixture
def yahoo(tmp_path: Path):
    """Recorded Yahoo plus a helper that writes a config and runs the source like refresh does."""
    sleeps: list[float] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        net = YahooNet(rsps)

        def run(now: datetime, timeframes=("1d",), lookback="{}"):
            db = tmp_path / "tw.duckdb"
            cfg = tmp_path / "tw.toml"
            cfg.write_text(
                CONFIG.format(db=db, timeframes=json.dumps(list(timeframes)), lookback=lookback)
            )
            config = load_config(cfg)
            src = YahooSource(session=requests.Session(), clock=lambda: now, sleep=sleeps.append)
            with store.writer(db) as st:
                state = source_state(st.con, "yahoo")
            batches = list(src.run(config, state, {"prices"}))
            with store.writer(db) as st:
                for b in batches:
                    store.commit_batch(
                        st, b.source, b.key, b.frames, cursor_ts=b.cursor_ts, rejects=b.rejects
                    )
            return batches, db

        yield {"net": net, "run": run, "sleeps": sleeps}


def _q(db: Path, sql: str) -> pl.DataFrame:
    with store.reader(db) as con:
        return store.query_frame(con, sql)


def test_daily_future_in_utc_with_exchange_zone(yahoo, shared):
    """GC=F daily: Yahoo's 00:00 New York bar becomes 05:00 UTC; the zone goes on the instrument."""
    yahoo["net"].routes["GC=F"] = shared_chart(shared, "chart-GC=F-2020-01-01-to-2020-01-03.json")
    batches, db = yahoo["run"](datetime(2020, 1, 10, tzinfo=UTC), lookback="{ 1d = 10 }")
    assert [b.error for b in batches] == [None]
    bars = _q(db, "select instrument_id, timeframe, ts, open, close, volume, source from bars")
    assert bars.rows() == [
        (
            "XAU",
            "1d",
            datetime(2020, 1, 2, 5, tzinfo=UTC),
            pytest.approx(1518.0999755859375),
            1524.5,
            214.0,
            "yahoo",
        )
    ]
    inst = _q(db, "select market_symbol, exchange_tz, calendar, available from instruments")
    assert inst.rows() == [("GC=F", "America/New_York", "cme_globex", True)]
    assert batches[0].cursor_ts == datetime(2020, 1, 2, 5, tzinfo=UTC)


def test_intraday_one_minute_session_and_null_row(yahoo, shared):
    """AAPL 1m (391 recorded rows): 09:30 EDT = 13:30 UTC; the null-close row is not stored.

    The recording's last row is stamped the next day at 16:00 EDT (Yahoo's live print); at our
    clock (next day 12:00 UTC) that bar has not even started, so it is not stored either.
    """
    yahoo["net"].routes["GC=F"] = shared_chart(
        shared, "chart-AAPL-2024-10-02-to-2024-10-03-includePrePost-false-interval-1m.json"
    )
    batches, db = yahoo["run"](datetime(2024, 10, 3, 12, tzinfo=UTC), ("1m",), "{ 1m = 2 }")
    assert batches[0].error is None
    got = _q(db, "select count(*) n, min(ts) first, max(ts) last from bars").row(0)
    assert got[1] == datetime(2024, 10, 2, 13, 30, tzinfo=UTC)
    assert got[2] == datetime(2024, 10, 2, 19, 59, tzinfo=UTC)  # 15:59 EDT, the last full minute
    assert got[0] == 391 - 1 - 1


def test_chunking_per_yahoo_limits_and_idempotent_rerun(yahoo):
    """1m over 20 days → requests of at most 7 days each; a second run stores nothing new."""
    now = datetime(2026, 3, 6, 12, tzinfo=UTC)
    yahoo["net"].routes["GC=F"] = lambda q: built_chart(
        "GC=F", "1m", int(q["period1"]), int(q["period2"]), 3600, "America/New_York"
    )
    batches, db = yahoo["run"](now, ("1m",), "{ 1m = 20 }")
    calls = yahoo["net"].chart_calls
    spans = [int(c["period2"]) - int(c["period1"]) for c in calls]
    assert len(calls) == 3 and max(spans) <= 7 * 86400
    assert int(calls[0]["period1"]) == int((now - timedelta(days=20)).timestamp())
    first = _q(db, "select * exclude (ingested_at) from bars order by ts")
    assert first.height == 20 * 24 and batches[0].cursor_ts == now - timedelta(hours=1)
    calls.clear()
    batches, db = yahoo["run"](now, ("1m",), "{ 1m = 20 }")
    assert _q(db, "select * exclude (ingested_at) from bars order by ts").equals(first)
    # incremental: one request from the cursor minus the 3-bar overlap
    assert len(calls) == 1 and int(calls[0]["period1"]) == int(
        (now - timedelta(hours=1, minutes=3)).timestamp()
    )


def test_rate_limit_backs_off_then_succeeds(yahoo, shared):
    """HTTP 429 twice (yfinance retries once itself) → YFRateLimitError → our backoff → data."""
    yahoo["net"].routes["GC=F"] = shared_chart(shared, "chart-GC=F-2020-01-01-to-2020-01-03.json")
    yahoo["net"].fail = [(429, "Too Many Requests"), (429, "Too Many Requests")]
    batches, db = yahoo["run"](datetime(2020, 1, 10, 1, tzinfo=UTC), lookback="{ 1d = 10 }")
    assert batches[0].error is None and _q(db, "select count(*) from bars").item() == 1
    assert len(yahoo["sleeps"]) == 1 and 0 <= yahoo["sleeps"][0] <= 0.5


def test_rate_limit_forever_is_an_error_not_a_crash(yahoo):
    """Yahoo that only answers 429 → the unit fails with a plain reason after the retries."""
    yahoo["net"].routes["GC=F"] = yahoo["net"].routes["MGC=F"] = built_chart(
        "GC=F", "1d", 1578000000, 1578600000, 86400, "America/New_York"
    )
    yahoo["net"].fail = [(429, "Too Many Requests")] * 20
    batches, _ = yahoo["run"](datetime(2020, 1, 10, 2, tzinfo=UTC), lookback="{ 1d = 10 }")
    assert "rate-limited GC=F (HTTP 429) 3 times in a row" in batches[0].error
    assert len(yahoo["sleeps"]) == 2 * 2  # 3 attempts per symbol, GC=F then MGC=F


def test_empty_answer_is_an_error_and_fallback_symbol_is_used(yahoo, shared):
    """No bars (a weekend 1m answer) is a SourceError with the reason; then MGC=F serves instead."""
    empty = shared_chart(
        shared, "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
    )
    yahoo["net"].routes["GC=F"] = empty
    yahoo["net"].routes["MGC=F"] = empty
    batches, _ = yahoo["run"](datetime(2025, 2, 2, 12, tzinfo=UTC), ("1m",), "{ 1m = 1 }")
    error = batches[0].error
    assert error.startswith("Yahoo: GC=F 1m: ") and "no price data found" in error
    assert "Yahoo: MGC=F 1m: " in error  # both symbols tried, both reasons given
    assert batches[0].frames == {}
    yahoo["net"].routes["MGC=F"] = lambda q: built_chart(
        "MGC=F", "1m", int(q["period1"]), int(q["period2"]), 60, "America/New_York"
    )
    batches, db = yahoo["run"](datetime(2025, 2, 2, 12, 1, tzinfo=UTC), ("1m",), "{ 1m = 1 }")
    assert batches[0].error is None
    assert _q(db, "select market_symbol from instruments").item() == "MGC=F"
    assert _q(db, "select count(*) from bars").item() == 24 * 60


def test_asking_more_than_yahoo_keeps_is_refused_plainly():
    """1m bars from 45 days ago: Yahoo keeps 30; the message says so and offers coarser bars."""
    now = datetime(2026, 3, 6, tzinfo=UTC)
    with pytest.raises(
        SourceError,
        match=r"Yahoo keeps 1m bars for the last 30 days only.*1h: 730 days or 1d: all history",
    ):
        chunks("1m", now - timedelta(days=45), now, now)
    spans = chunks("1h", now - timedelta(days=700), now, now)
    assert len(spans) == 1
    assert chunks("1d", datetime(2000, 1, 1, tzinfo=UTC), now, now) == [
        (datetime(2000, 1, 1, tzinfo=UTC), now)
    ]


def test_config_section_is_validated(tmp_path: Path):
    """A lookback beyond what Yahoo keeps, or a bar size it lacks, is a ConfigError naming the key."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[yahoo]\nlookback_days = { 1m = 40 }\n")
    with pytest.raises(
        ConfigError, match=r"yahoo\.lookback_days\.1m: 40 days is more than Yahoo keeps"
    ):
        yahoo_settings(load_config(cfg))
    cfg.write_text('[yahoo]\ntimeframes = ["4h"]\n')
    with pytest.raises(ConfigError, match=r"yahoo\.timeframes: '4h' is not served by Yahoo"):
        yahoo_settings(load_config(cfg))


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("TICKERWIRE_NETWORK_TESTS") != "1", reason="live network test")
def test_live_gold_daily(tmp_path: Path):
    """Live smoke test: a week of GC=F daily bars."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\npath = 'x.duckdb'\n")  # no [yahoo]: its defaults
    src = YahooSource()
    now = datetime.now(UTC)
    frame, tz = src.fetch(
        "GC=F", "1d", now - timedelta(days=10), now, yahoo_settings(load_config(cfg))
    )
    assert frame.height >= 3 and tz == "America/New_York"


def test_backfill_beyond_yahoo_history_says_so(tmp_path: Path):
    """`backfill` of 1m bars from 45 days ago stops before any request, with Yahoo's limit."""
    from pipelines.backfill import backfill

    db = tmp_path / "b.duckdb"
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.format(db=db, timeframes='["1m"]', lookback="{}"))
    now = datetime.now(UTC)
    with (
        responses.RequestsMock() as rsps,
        pytest.raises(SourceError, match="Yahoo keeps 1m bars for the last 30 days only"),
    ):
        backfill(load_config(cfg), db, "XAU", "1m", now - timedelta(days=45), None,
                 source=YahooSource(session=requests.Session()))  # fmt: skip
    assert len(rsps.calls) == 0  # refused before any request
