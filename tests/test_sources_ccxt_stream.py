"""Streaming quotes through ccxt.pro's real websocket code against a local Binance stream.

The REST side (Binance's exchangeInfo, for the markets) is served by `responses`; the websocket
side by tests/ws_replay.py on 127.0.0.1, speaking Binance's documented ticker stream.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.errors import ConfigError
from pipelines.gate import RefreshLock
from pipelines.live_settings import StreamSettings
from pipelines.sources import stream_writer
from pipelines.sources.ccxt_source import CcxtSource, ExchangeRegistry
from pipelines.sources.ccxt_stream import QuoteStream
from tests.ws_replay import BinanceReplay

FIX = Path(__file__).resolve().parent / "fixtures" / "prices"
PRICES = {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "XLMUSDT": 0.12}
IDS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH", "XLMUSDT": "XLM"}

CONFIG = """
[database]
path = "{db}"
[venues]
default = ["binance"]
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"
[[instruments]]
id = "ETH"
asset_class = "crypto"
source = "ccxt"
symbol = "ETH/USDT"
[[instruments]]
id = "XLM"
asset_class = "crypto"
source = "ccxt"
symbol = "XLM/USDT"
[stream]
backoff_seconds = {backoff}
[stream.urls]
binance = "{url}"
"""


def start_stream(tmp_path: Path, replay: BinanceReplay, log: list[str], backoff: float = 0.1):
    cfg = tmp_path / "s.toml"
    db = tmp_path / "s.duckdb"
    cfg.write_text(CONFIG.format(db=db, url=replay.url, backoff=backoff))
    config = load_config(cfg)
    with store.writing(db, "test"):
        pass  # a migrated file, as `tickerwire schedule` leaves it before streaming
    source = CcxtSource(registry=ExchangeRegistry(), cache_dir=tmp_path / "cache")
    with responses.RequestsMock() as rsps:  # only the markets go over REST
        rsps.add(
            responses.GET,
            "https://api.binance.com/api/v3/exchangeInfo",
            json=json.loads((FIX / "binance_exchangeInfo.json").read_text()),
        )
        stream = QuoteStream(db, config, report=log.append, source=source).start()
    return stream, db


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def stored_quotes(db: Path) -> set[tuple[str, int, float, float]]:
    with store.reader(db) as con:
        rows = con.execute(
            "select instrument_id, epoch_ms(ts), price, change_pct from quotes "
            "where source = 'ccxt:binance' and captured_from like 'binance websocket ticker %'"
        ).fetchall()
    return {(i, ms, round(p, 8), round(c, 3)) for i, ms, p, c in rows}


def expected_quotes(replay: BinanceReplay) -> set[tuple[str, int, float, float]]:
    # Binance's fields read by hand from its documentation: s symbol, C close time, c last, P %.
    return {
        (IDS[e["s"]], e["C"], round(float(e["c"]), 8), round(float(e["P"]), 3))
        for e in replay.sent.tickers
    }


def n_rejects(db: Path) -> list[str]:
    with store.reader(db) as con:
        return [r[0] for r in con.execute("select reason from rejects order by n").fetchall()]


def test_every_ticker_lands_and_every_bad_frame_is_a_counted_reject(tmp_path):
    log: list[str] = []
    with BinanceReplay(PRICES, rate=300, malformed_every=25, limit=600) as replay:
        stream, db = start_stream(tmp_path, replay, log)
        try:
            wait_for(lambda: stream.writer.stored >= 600 and not len(stream.buffer))
            time.sleep(1.2)  # the last rejects' commit
        finally:
            stream.stop()
    assert replay.subscriptions[0] == ["BTCUSDT", "ETHUSDT", "XLMUSDT"]
    assert stored_quotes(db) == expected_quotes(replay)
    reasons = n_rejects(db)
    assert len(reasons) == len(replay.sent.malformed) >= 20
    assert any("not a JSON object" in r for r in reasons)
    assert any("JSONDecodeError" in r or "not understood" in r for r in reasons)
    assert any("FOO/USDT" in r or "FOOUSDT" in r for r in reasons), reasons
    assert any("zero or negative" in r for r in reasons)
    assert any("without a last price" in r for r in reasons)
    assert not any("Traceback" in line for line in log)


def test_commits_come_at_most_once_a_second(tmp_path):
    log: list[str] = []
    with BinanceReplay(PRICES, rate=500) as replay:
        stream, _db = start_stream(tmp_path, replay, log)
        t0 = time.monotonic()
        time.sleep(3.5)
        stream.stop()
        elapsed = time.monotonic() - t0
    # one commit per flush interval, plus the final flush at stop
    assert 2 <= stream.writer.commits <= int(elapsed) + 1
    assert stream.writer.stored > 1000


@pytest.mark.parametrize("abort", [False, True], ids=["close-frame", "tcp-abort"])
def test_a_venue_dropping_the_connection_every_second_is_reconnected(tmp_path, abort):
    log: list[str] = []
    with BinanceReplay(PRICES, rate=100, drop_every=1.0, abort=abort, limit=350) as replay:
        stream, db = start_stream(tmp_path, replay, log)
        try:
            wait_for(lambda: len(replay.sent.tickers) >= 350)
            time.sleep(1.5)
        finally:
            stream.stop()
    assert replay.connections >= 3
    lost = [line for line in log if "connection lost" in line]
    assert len(lost) >= 2 and all("reconnecting in" in line for line in lost), log
    got, sent = stored_quotes(db), expected_quotes(replay)
    if abort:
        # frames still in the cut socket's buffer never arrive; what arrives is right
        assert got <= sent and len(got) >= 0.8 * len(sent)
    else:
        assert got == sent  # a close frame comes after the frames before it: nothing lost


def test_a_failed_commit_keeps_its_rows_for_the_next_one(tmp_path, monkeypatch):
    monkeypatch.setattr(stream_writer, "WRITE_WAIT", 0.2)
    log: list[str] = []
    with BinanceReplay(PRICES, rate=200, limit=300) as replay:
        stream, db = start_stream(tmp_path, replay, log)
        blocker = RefreshLock(db, "another writer", timeout=1).acquire()
        try:
            wait_for(lambda: len(replay.sent.tickers) >= 300)
            time.sleep(1.5)
            assert stream.writer.stored == 0
        finally:
            blocker.release()
        wait_for(lambda: stream.writer.stored >= 300)
        stream.stop()
    assert stored_quotes(db) == expected_quotes(replay)
    failed = [line for line in log if "commit failed" in line]
    assert len(failed) == 1 and "another writer" in failed[0], log
    assert "stream: commits work again" in log


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("flush_seconds = 0.5", "stream.flush_seconds: 0.5 is below 1"),
        ("max_batch = 0", "stream.max_batch: must be at least 1"),
        ('[stream.urls]\nbinance = "http://x"', "stream.urls.binance: 'http://x' is not a ws://"),
        ("speed = 3", "stream.speed: unknown key"),
    ],
)
def test_stream_settings_errors_name_the_key(tmp_path, body, message):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[stream]\n{body}\n")
    with pytest.raises(ConfigError, match="^.*c.toml: " + message.replace(".", r"\.")):
        load_config(cfg)


def test_stream_settings_defaults():
    settings = StreamSettings()
    assert (settings.enabled, settings.flush_seconds, settings.urls) == (False, 1.0, {})


def test_quote_timestamps_are_the_events_close_times(tmp_path):
    """A quote's ts is Binance's C (statistics close time), in UTC."""
    log: list[str] = []
    with BinanceReplay(PRICES, rate=50, limit=10) as replay:
        stream, db = start_stream(tmp_path, replay, log)
        wait_for(lambda: stream.writer.stored >= 10)
        stream.stop()
    with store.reader(db) as con:
        newest = con.execute("select max(ts) from quotes").fetchone()[0]
    last_c = max(e["C"] for e in replay.sent.tickers)
    assert newest == datetime.fromtimestamp(last_c / 1000, UTC)


def test_stop_is_prompt_with_a_silent_venue(tmp_path):
    log: list[str] = []
    with BinanceReplay(PRICES, rate=10, limit=0) as replay:
        stream, _db = start_stream(tmp_path, replay, log)
        time.sleep(0.5)
        t0 = time.monotonic()
        stopper = threading.Thread(target=stream.stop)
        stopper.start()
        stopper.join(10)
        assert time.monotonic() - t0 < 5


def test_schedule_stream_in_the_cli_stores_streamed_quotes(tmp_path):
    """`tickerwire schedule --stream` (a subprocess): the scheduled round runs (offline, so it
    fails with its one-line reason) while the stream stores quotes from the local venue."""
    import os
    import subprocess
    import sys

    db = tmp_path / "cli.duckdb"
    cache = tmp_path / "cache" / "ccxt"  # where the ccxt source keeps markets beside the db
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.GET,
            "https://api.binance.com/api/v3/exchangeInfo",
            json=json.loads((FIX / "binance_exchangeInfo.json").read_text()),
        )
        CcxtSource(registry=ExchangeRegistry(), cache_dir=cache).markets("binance", cache)
    with BinanceReplay(PRICES, rate=100) as replay:
        cfg = tmp_path / "cli.toml"
        cfg.write_text(
            CONFIG.format(db=db, url=replay.url, backoff=0.1)
            + '[schedule]\nquotes = "4s"\nprices = "1d"\nnews = "1d"\nrun_at_start = false\n'
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipelines.cli",
                "--config",
                str(cfg),
                "schedule",
                "--stream",
                "--rounds",
                "1",
                "--source",
                "ccxt",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TICKERWIRE_DB": str(db)},
        )
    assert done.returncode == 0, done.stderr
    assert "stream: watching binance (3)" in done.stdout
    assert "stream binance: receiving tickers for 3 symbols" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    got = stored_quotes(db)
    assert len(got) >= 50 and got <= expected_quotes(replay)
