"""Yahoo quotes (last price, 24 h change) through yfinance's real code; `responses` serves Yahoo."""

from __future__ import annotations

import os

os.environ["YF_DISABLE_CURL_CFFI"] = "1"  # before yfinance loads: `responses` intercepts requests

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses

from pipelines.config import load_config
from pipelines.sources.yahoo_source import NO_NETWORK, YahooSource
from tests.test_sources_yahoo import YahooNet, built_chart, shared_chart

CONFIG = """
[database]
path = "{db}"
[[instruments]]
id = "XAU"
asset_class = "commodity"
source = "yahoo"
symbol = "{xau}"
fallback_symbols = ["{xau_fallback}"]
calendar = "cme_globex"
exchange_tz = "America/New_York"
[[instruments]]
id = "WTI"
asset_class = "commodity"
source = "yahoo"
symbol = "{wti}"
calendar = "cme_globex"
exchange_tz = "America/New_York"
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"
"""


def quotes(tmp_path: Path, now: datetime, xau: str, xau_fallback: str, wti: str):
    """Run the source for quotes only. yfinance memoises answers per symbol for the whole
    process, so each test uses its own symbols."""
    cfg = tmp_path / "q.toml"
    cfg.write_text(
        CONFIG.format(db=tmp_path / "q.duckdb", xau=xau, xau_fallback=xau_fallback, wti=wti)
    )
    src = YahooSource(session=requests.Session(), clock=lambda: now, sleep=lambda _s: None)
    return list(src.run(load_config(cfg), {}, {"quotes"}))


def test_quote_price_and_24h_change_from_hourly_bars_with_fallback(tmp_path):
    now = datetime(2026, 2, 3, 15, 30, tzinfo=UTC)
    end = int(now.timestamp())
    start = int((now - timedelta(days=6)).timestamp())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        net = YahooNet(rsps)
        # SI=F is not found: the fallback SIL=F answers. HG=F has no route and no fallback.
        net.routes["SIL=F"] = lambda q: built_chart(
            "SIL=F",
            "1h",
            int(q.get("period1", end - 86400)),  # the time-zone probe asks for range=1d
            int(q.get("period2", end)),
            3600,
            "America/New_York",
        )
        (batch,) = quotes(tmp_path, now, "SI=F", "SIL=F", "HG=F")
    assert batch.key == "quotes" and batch.error is None
    assert "HG=F" in (batch.skipped or "")
    (row,) = batch.frames["quotes"].to_dicts()
    # Independent: built_chart's closes are 100 + (t // 3600) % 50 / 10 for bar opens t in
    # [start, end); the price is the last close at regularMarketTime = end; the reference is the
    # last bar closing at or before end − 24 h.
    opens = [t for t in range(start - start % 3600, end, 3600) if t >= start]
    price = 100.0 + (opens[-1] // 3600) % 50 / 10
    ref_open = max(t for t in opens if t + 3600 <= end - 86400)
    ref = 100.0 + (ref_open // 3600) % 50 / 10
    assert row["instrument_id"] == "XAU" and row["source"] == "yahoo"
    assert row["ts"] == now and row["price"] == pytest.approx(price)
    assert row["change_pct"] == pytest.approx(100 * (price / ref - 1))
    assert row["captured_from"] == "Yahoo chart SIL=F"


def test_recorded_chart_answer_gives_price_and_24h_change(tmp_path, shared):
    """A recorded AAPL chart answer (Yahoo's real format): the meta's price, the change against
    the last bar closing at or before 24 h earlier (bars are read as the hourly bars asked for)."""
    body = shared_chart(
        shared, "chart-AAPL-2024-10-02-to-2024-10-03-includePrePost-false-interval-1m.json"
    )
    result = body["chart"]["result"][0]
    meta = result["meta"]
    now = datetime.fromtimestamp(meta["regularMarketTime"] + 60, UTC)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        net = YahooNet(rsps)
        net.routes["AAPL"] = body
        (batch,) = quotes(tmp_path, now, "AAPL", "AAPL.X", "AAPL.Y")
    (row,) = [r for r in batch.frames["quotes"].to_dicts() if r["instrument_id"] == "XAU"]
    assert row["price"] == meta["regularMarketPrice"]
    assert row["ts"] == datetime.fromtimestamp(meta["regularMarketTime"], UTC)
    cut = meta["regularMarketTime"] - 86400
    closes = result["indicators"]["quote"][0]["close"]
    ref = [c for t, c in zip(result["timestamp"], closes, strict=True) if t + 3600 <= cut and c]
    assert ref, "the recording covers the day before"
    assert row["change_pct"] == pytest.approx(100 * (meta["regularMarketPrice"] / ref[-1] - 1))


def test_offline_is_one_clear_line(tmp_path):
    def no_dns(_request):
        raise requests.exceptions.ConnectionError(
            "Failed to resolve 'query2.finance.yahoo.com' (NameResolutionError)"
        )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in (responses.GET, responses.POST):
            rsps.add_callback(method, re.compile(r"https://.*yahoo\.com/.*"), callback=no_dns)
        (batch,) = quotes(tmp_path, datetime(2026, 2, 4, 9, 1, tzinfo=UTC), "PA=F", "PL=F", "BZ=F")
    assert batch.error == NO_NETWORK
    assert "\n" not in batch.error
