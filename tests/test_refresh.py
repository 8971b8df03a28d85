"""refresh: incremental commits, run log, exit codes, faults per policy, idempotence, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.errors import RefreshLocked
from pipelines.gate import RefreshLock
from pipelines.refresh import (
    EXIT_LOCKED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_PARTIAL,
    parse_only,
    run_refresh,
)
from pipelines.sources.http import HttpClient
from pipelines.sources.synthetic_source import SyntheticSource
from tests.ops_server import T0_MS, MarketServer, kline

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ops"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "tickerwire.toml")


def fast_client(retries: int = 2) -> HttpClient:
    """The shared HTTP client's policy with short timeouts and no real waiting between retries."""
    return HttpClient(timeout=(0.3, 0.3), retries=retries, sleep=lambda _s: None)


def table(db: Path, sql: str) -> pl.DataFrame:
    with store.reader(db) as con:
        return store.query_frame(con, sql)


def test_parse_only_accepts_kinds_and_refuses_typos():
    assert parse_only(None) == {"prices", "quotes", "news"}
    assert parse_only("prices,news") == {"prices", "news"}
    assert parse_only(["quotes"]) == {"quotes"}
    with pytest.raises(Exception, match="unknown kind"):
        parse_only("bars")


def test_refresh_commits_bars_quotes_cursor_and_run_log(tmp_path, config):
    db = tmp_path / "r.duckdb"
    with MarketServer(n_bars=2300) as srv:
        src = SyntheticSource(srv.url, ["BTC", "ETH"], client=fast_client())
        lines: list[str] = []
        summary = run_refresh(db, config, sources={"synthetic": src}, progress=lines.append)
    assert summary.exit_code == EXIT_OK
    (outcome,) = summary.outcomes
    assert (outcome.status, outcome.stored, outcome.batches) == ("ok", 2 * 2300 + 2, 8)
    # Pages of 1000 klines: 1000 + 1000 + 300 per symbol, each its own commit.
    assert sum(1 for line in lines if line.startswith("committed synthetic BTC/1m")) == 3
    bars = table(
        db, "select instrument_id, count(*) n, max(ts) last from bars group by 1 order by 1"
    )
    assert bars["n"].to_list() == [2300, 2300]
    state = table(db, "select key, cursor_ts from ingest_state order by key")
    assert state["key"].to_list() == ["BTC/1m", "ETH/1m"]
    assert state["cursor_ts"].to_list() == bars["last"].to_list()
    run = table(db, "select * from ingest_runs").row(0, named=True)
    assert (run["source"], run["status"], run["n_stored"]) == ("synthetic", "ok", 4602)
    assert json.loads(run["details"])["kinds"] == ["prices", "quotes"]
    # The last bar matches the server's deterministic kline (values survive the round trip).
    last = table(
        db,
        "select open, high, low, close, volume from bars where instrument_id = 'ETH' order by ts desc limit 1",
    )
    expected = kline("ETH", 2299)
    assert last.row(0) == tuple(float(v) for v in expected[1:6])


def test_second_refresh_is_incremental(tmp_path, config):
    db = tmp_path / "r.duckdb"
    with MarketServer(n_bars=500) as srv:
        src = SyntheticSource(srv.url, ["BTC"], client=fast_client())
        run_refresh(db, config, "prices", sources={"synthetic": src})
        srv.set_bars(620)
        summary = run_refresh(db, config, "prices", sources={"synthetic": src})
        klines_requests = srv.count("BTC", "klines")
    assert summary.outcomes[0].stored == 120  # only the new bars were asked for and written
    assert klines_requests == 2  # one page each run: the cursor moved the start
    assert table(db, "select count(*) n from bars")["n"][0] == 620


@responses.activate
def test_refresh_twice_with_the_same_recorded_responses_equals_once(tmp_path, config):
    klines = json.loads((FIXTURES / "binance_klines_BTCUSDT_1m.json").read_text())
    ticker = json.loads((FIXTURES / "binance_ticker_24hr_BTCUSDT.json").read_text())
    # The recorded answers ignore the query, so the second run receives the same rows again.
    responses.get("https://api.example.test/api/v3/klines", json=klines)
    responses.get("https://api.example.test/api/v3/ticker/24hr", json=ticker)
    db_once, db_twice = tmp_path / "once.duckdb", tmp_path / "twice.duckdb"

    def refresh(db: Path):
        src = SyntheticSource(
            "https://api.example.test", ["BTC"], client=fast_client(), page_limit=1000
        )
        return run_refresh(db, config, sources={"synthetic": src})

    refresh(db_once)
    refresh(db_twice)
    second = refresh(db_twice)
    assert second.exit_code == EXIT_OK
    assert second.outcomes[0].stored == 0 and second.outcomes[0].present == 13
    for name, cols in {
        "bars": "instrument_id, timeframe, ts, open, high, low, close, volume, source",
        "quotes": "*",
        "ingest_state": "source, key, cursor_ts, value",
        "rejects": "*",
    }.items():
        once = table(db_once, f"select {cols} from {name} order by all")
        twice = table(db_twice, f"select {cols} from {name} order by all")
        assert once.equals(twice), name
    assert table(db_once, "select count(*) n from bars")["n"][0] == 12
    assert table(db_once, "select price, change_pct from quotes").row(0) == (
        float(klines[-1][4]),
        -1.25,
    )


# ---------------------------------------------------------------------------- faults


def _two_sources(url: str):
    """Source alpha (BTC) stays healthy; source beta has a faulty ETH and a healthy SOL."""
    alpha = SyntheticSource(url, ["BTC"], name="alpha", client=fast_client())
    beta = SyntheticSource(url, ["ETH", "SOL"], name="beta", client=fast_client())
    return {"alpha": alpha, "beta": beta}


@pytest.mark.parametrize("fault", ["timeout", "429", "500", "503"])
def test_transient_fault_is_retried_and_recovers(tmp_path, config, fault):
    db = tmp_path / "f.duckdb"
    with MarketServer(n_bars=50, timeout_sleep=1.0) as srv:
        srv.inject("ETH", fault)  # the first request about ETH fails once, the retry succeeds
        summary = run_refresh(db, config, "prices", sources=_two_sources(srv.url))
        assert srv.count("ETH", "klines") == 2
    assert summary.exit_code == EXIT_OK
    assert [o.status for o in summary.outcomes] == ["ok", "ok"]
    runs = table(db, "select source, status, details from ingest_runs order by run_id")
    assert json.loads(runs["details"][1])["http"]["retries"] == 1  # recorded in the run log
    assert "retries" not in json.loads(runs["details"][0])["http"]
    counts = table(db, "select instrument_id, count(*) n from bars group by 1 order by 1")
    assert counts.rows() == [("BTC", 50), ("ETH", 50), ("SOL", 50)]


@pytest.mark.parametrize(
    ("fault", "attempts", "stat", "message"),
    [
        ("timeout", 3, "failed_requests", "timed out after 3 attempts"),
        ("429", 3, "failed_requests", "HTTP 429 Too Many Requests after 3 attempts"),
        ("503", 3, "failed_requests", "HTTP 503 Service Unavailable after 3 attempts"),
        ("malformed", 1, "malformed", "malformed response: body is not JSON"),
        ("refuse", 1, "network_unavailable", "cannot connect"),  # dropped: not retried
    ],
)
def test_persistent_fault_is_recorded_and_other_sources_are_unaffected(
    tmp_path, config, fault, attempts, stat, message
):
    db = tmp_path / "f.duckdb"
    with MarketServer(n_bars=50, timeout_sleep=1.0) as srv:
        srv.inject("ETH", *[fault] * 5)
        summary = run_refresh(db, config, "prices", sources=_two_sources(srv.url))
        # Retried per policy: 3 attempts for transient kinds, none for a malformed body.
        assert srv.count("ETH", "klines") == attempts
    assert summary.exit_code == EXIT_PARTIAL
    statuses = {o.source: o.status for o in summary.outcomes}
    assert statuses == {"alpha": "ok", "beta": "partial"}
    runs = table(db, "select source, status, errors, details from ingest_runs order by run_id")
    beta = runs.filter(pl.col("source") == "beta").row(0, named=True)
    assert beta["errors"].startswith("ETH/1m: ") and message in beta["errors"]
    assert json.loads(beta["details"])["http"][stat] == 1
    counts = table(db, "select instrument_id, count(*) n from bars group by 1 order by 1")
    assert counts.rows() == [("BTC", 50), ("SOL", 50)]  # ETH got nothing, the others everything
    assert table(db, "select count(*) n from ingest_state where key = 'ETH/1m'")["n"][0] == 0
    rejects = table(db, "select source, reason, raw from rejects")
    if fault == "malformed":
        assert rejects.rows() == [
            ("beta", "malformed response: body is not JSON", '[[1767225600000, "1.0", "1.1"')
        ]
    else:
        assert rejects.height == 0


def test_dns_failure_fails_fast_in_one_line_and_the_others_go_on(tmp_path, config):
    db = tmp_path / "f.duckdb"
    with MarketServer(n_bars=20) as srv:
        sources = _two_sources(srv.url)
        # .invalid never resolves (RFC 6761): a real name-resolution failure, no network needed.
        sources["beta"] = SyntheticSource(
            "http://api.tickerwire.invalid", ["ETH"], name="beta", client=fast_client()
        )
        summary = run_refresh(db, config, "prices", sources=sources)
    assert summary.exit_code == EXIT_PARTIAL
    beta = next(o for o in summary.outcomes if o.source == "beta")
    assert beta.status == "failed"
    # Nothing to wait for when the name does not resolve: one attempt, one clear line.
    assert beta.errors == [
        "ETH/1m: GET http://api.tickerwire.invalid/api/v3/klines: cannot connect (DNS lookup failed)"
    ]
    details = json.loads(
        table(db, "select details from ingest_runs where source = 'beta'")["details"][0]
    )
    assert details["http"] == {"network_unavailable": 1}
    assert table(db, "select count(*) n from bars")["n"][0] == 20


def test_exit_code_is_1_when_nothing_succeeded(tmp_path, config):
    db = tmp_path / "f.duckdb"
    with MarketServer(n_bars=20) as srv:
        for sym in ("BTC", "ETH", "SOL"):
            srv.inject(sym, *["500"] * 3)
        summary = run_refresh(db, config, "prices", sources=_two_sources(srv.url))
    assert summary.exit_code == EXIT_NOTHING
    assert [o.status for o in summary.outcomes] == ["failed", "failed"]


def test_bad_rows_are_rejected_and_stored_not_dropped(tmp_path, config):
    rows = [kline("BTC", i) for i in range(5)]
    rows[2][4] = "-5"  # a negative close
    with responses.RequestsMock() as rsps:
        rsps.get("https://api.example.test/api/v3/klines", json=rows)
        src = SyntheticSource("https://api.example.test", ["BTC"], client=fast_client())
        summary = run_refresh(tmp_path / "b.duckdb", config, "prices", sources={"synthetic": src})
    assert (summary.outcomes[0].stored, summary.outcomes[0].rejected) == (4, 1)
    rejects = table(tmp_path / "b.duckdb", "select reason from rejects")
    assert rejects["reason"].to_list() == ["close is zero or negative"]


def test_stop_event_finishes_the_current_commit_and_marks_the_run_interrupted(tmp_path, config):
    db = tmp_path / "s.duckdb"
    stop = threading.Event()

    def progress(line: str) -> None:
        if line.startswith("commit "):
            stop.set()  # as a SIGTERM arriving during the first commit would

    with MarketServer(n_bars=3000) as srv:
        src = SyntheticSource(srv.url, ["BTC", "ETH"], client=fast_client())
        summary = run_refresh(
            db, config, "prices", sources={"synthetic": src}, stop=stop, progress=progress
        )
    assert summary.stopped and summary.exit_code == EXIT_PARTIAL
    assert summary.outcomes[0].status == "interrupted" and summary.outcomes[0].batches == 1
    assert table(db, "select count(*) n from bars")["n"][0] == 1000  # the batch in flight landed
    assert (
        table(db, "select cursor_ts from ingest_state")["cursor_ts"][0].timestamp() * 1000
        == T0_MS + 999 * 60_000
    )


# ---------------------------------------------------------------------------- the lock


def test_lock_names_its_holder_and_is_released(tmp_path):
    db = tmp_path / "l.duckdb"
    with RefreshLock(db, "schedule"):
        with pytest.raises(RefreshLocked) as info:
            RefreshLock(db).acquire()
        assert info.value.holder["pid"] == os.getpid()
        assert f"pid {os.getpid()} on host" in str(info.value) and "(schedule)" in str(info.value)
    RefreshLock(db).acquire().release()  # free again once released


def test_second_refresh_from_the_cli_says_who_holds_the_lock(tmp_path, db_path):
    env = dict(os.environ, TICKERWIRE_DB=str(db_path))
    with RefreshLock(db_path, "refresh"):
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "refresh"],
            env=env, capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip
    assert proc.returncode == EXIT_LOCKED
    assert f"another refresh is running: pid {os.getpid()} on host" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- news → enrichment


def test_news_refresh_runs_enrichment_after_the_articles_are_committed(tmp_path):
    from pipelines.config import parse_config
    from pipelines.sources.rss_source import RssSource

    raw = {
        "feeds": [{"url": "https://news.example.test/markets.xml", "outlet": "Example Wire"}],
        "instruments": [
            {"id": "BTC", "source": "ccxt", "symbol": "BTC/USDT", "asset_class": "crypto"}
        ],
    }
    config = parse_config(raw, tmp_path / "news.toml")
    db = tmp_path / "n.duckdb"
    with responses.RequestsMock() as rsps:
        rsps.get(
            "https://news.example.test/markets.xml",
            body=(FIXTURES / "wire_feed.xml").read_bytes(),
            content_type="application/rss+xml",
        )
        summary = run_refresh(db, config, "news", sources={"rss": RssSource()})
    assert [(o.source, o.status) for o in summary.outcomes] == [("rss", "ok"), ("enrich", "ok")]
    runs = table(db, "select source, status, n_stored from ingest_runs order by run_id")
    assert runs["source"].to_list() == ["rss", "enrich"]
    assert runs["n_stored"][0] == 2  # both articles committed before enrichment ran
    assert table(db, "select count(*) n from articles")["n"][0] == 2
    details = json.loads(
        table(db, "select details from ingest_runs where source = 'enrich'")["details"][0]
    )
    assert details["articles_pending"] == 2  # enrichment saw exactly the committed articles


def test_python_m_refresh_is_the_typer_command_with_global_options_first():
    from pipelines.refresh import cli_args

    assert cli_args(["--db", "x.duckdb", "--only", "prices", "-v"]) == [
        "--db", "x.duckdb", "refresh", "--only", "prices", "-v",
    ]  # fmt: skip
    assert cli_args(["--only=news", "--config=c.toml", "--source", "rss", "--db=y"]) == [
        "--config=c.toml", "--db=y", "refresh", "--only=news", "--source", "rss",
    ]  # fmt: skip
    assert cli_args([]) == ["refresh"]
