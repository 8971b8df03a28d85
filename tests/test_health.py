"""Freshness and source health: given runs, bars and quotes → expected stale flags and reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import store
from pipelines.config import parse_config
from pipelines.errors import ConfigError
from pipelines.health import FreshnessPolicy, freshness, source_health

# Monday 12 January 2026, 12:00 UTC (CME Globex open; winter, Chicago = UTC-6).
NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)


def _config(extra: dict | None = None):
    raw = {
        "instruments": [
            {"id": "BTC", "source": "ccxt", "symbol": "BTC/USDT", "asset_class": "crypto"},
            {"id": "ETH", "source": "ccxt", "symbol": "ETH/USDT", "asset_class": "crypto"},
            {"id": "SOL", "source": "ccxt", "symbol": "SOL/USDT", "asset_class": "crypto"},
            {"id": "LEO", "source": "ccxt", "symbol": "LEO/USDT", "asset_class": "crypto"},
            {
                "id": "XAU",
                "source": "yahoo",
                "symbol": "GC=F",
                "calendar": "cme_globex",
                "exchange_tz": "America/New_York",
            },
        ],  # fmt: skip
        **(extra or {}),
    }
    return parse_config(raw, Path("test.toml"))


def _bars(rows: list[tuple[str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"instrument_id": i, "timeframe": tf, "ts": ts, "close": 1.0} for i, tf, ts in rows],
        schema={
            "instrument_id": pl.Utf8,
            "timeframe": pl.Utf8,
            "ts": pl.Datetime("us", "UTC"),
            "close": pl.Float64,
        },
    )


def _run(writer, source, started, status, kinds=None, errors=None):
    writer.con.execute(
        "insert into ingest_runs (source, started_at, finished_at, status, n_stored, errors, details) "
        "values (?, ?, ?, ?, 1, ?, ?)",
        [source, started, started + timedelta(seconds=5), status, errors,
         json.dumps({"kinds": kinds}) if kinds else None],
    )  # fmt: skip


@pytest.fixture
def filled(db_path):
    with store.writer(db_path) as writer:
        writer.upsert(
            "bars",
            _bars(
                [
                    ("BTC", "1m", NOW - timedelta(minutes=20)),  # closes 11:41 → 19 open min
                    ("BTC", "1h", NOW - timedelta(hours=3)),
                    # Gold's last bar closes Friday 9 Jan 21:59 UTC (15:59 Chicago, before the close).
                    ("XAU", "1m", datetime(2026, 1, 9, 21, 58, tzinfo=UTC)),
                ]
            ),
        )
        writer.upsert(
            "quotes",
            pl.DataFrame(
                {
                    "instrument_id": ["ETH"],
                    "ts": [NOW - timedelta(minutes=2)],
                    "source": ["ccxt:binance"],
                    "price": [3000.0],
                }
            ),
        )
        writer.upsert(
            "instruments",
            pl.DataFrame(
                {
                    "instrument_id": ["LEO"],
                    "available": [False],
                    "unavailable_reason": ["not listed on bitfinex, okx"],
                }
            ),
        )
        _run(writer, "ccxt", NOW - timedelta(minutes=21), "ok", ["prices", "quotes"])
        _run(writer, "rss", NOW - timedelta(minutes=3), "ok", ["news"])
        _run(
            writer,
            "gdelt",
            NOW - timedelta(minutes=30),
            "failed",
            ["news"],
            "timeline: timed out after 10 s",
        )
        _run(writer, "gdelt", NOW - timedelta(minutes=10), "failed", ["news"], "timeline: HTTP 429")
        _run(writer, "import:bars", NOW - timedelta(days=3), "ok")
    return db_path


def test_source_health_counts_streaks_and_last_success(filled):
    with store.reader(filled) as con:
        frame = source_health(con, NOW)
    got = frame.select(
        "source", "last_status", "failures_in_a_row", "runs_24h", "failed_24h"
    ).rows()
    assert got == [
        ("ccxt", "ok", 0, 1, 0),
        ("gdelt", "failed", 2, 2, 2),
        ("import:bars", "ok", 0, 0, 0),
        ("rss", "ok", 0, 1, 0),
    ]
    assert frame.filter(pl.col("source") == "gdelt")["last_ok_at"][0] is None
    assert frame.filter(pl.col("source") == "gdelt")["last_errors"][0] == "timeline: HTTP 429"


def test_freshness_flags_per_cadence_and_session(filled):
    with store.reader(filled) as con:
        frame = freshness(con, _config(), NOW)
    got = {(r["kind"], r["name"]): (r["stale"], r["reason"]) for r in frame.iter_rows(named=True)}
    assert got == {
        # ccxt runs every minute (its quotes), so 3 missed runs = stale; its last success was 21 min ago.
        ("source", "ccxt"): (True, "last success 21 min ago; runs every 1m, limit 3 min"),
        ("source", "gdelt"): (
            True,
            "never succeeded; last run failed; 2 failed run(s) in a row: timeline: HTTP 429",
        ),
        ("source", "rss"): (False, "runs every 2m"),
        # 24/7 crypto: 19 minutes since the 1m bar closed at 11:41 > 16 (3 × 5m prices + 1m).
        ("instrument", "BTC"): (True, "no new data for 19 open-market min (limit 16)"),
        ("instrument", "ETH"): (False, "fresh"),
        ("instrument", "SOL"): (True, "no bars or quotes stored"),
        ("instrument", "LEO"): (False, "unavailable: not listed on bitfinex, okx"),
        # Gold: Friday 21:59 → Monday 12:00 UTC is 62 h of wall time, but Globex was open only
        # Friday 21:59–22:00, Sunday 23:00–24:00 and Monday 00:00–12:00 UTC = 1 + 60 + 720 minutes.
        ("instrument", "XAU"): (True, "no new data for 781 open-market min (limit 16)"),
    }
    btc = frame.filter(pl.col("name") == "BTC").row(0, named=True)
    assert btc["last_at"] == NOW - timedelta(minutes=19) and btc["open_minutes"] == 19


def test_closed_market_time_does_not_make_an_instrument_stale(filled):
    sunday = datetime(2026, 1, 11, 20, 0, tzinfo=UTC)  # 14:00 Chicago: Globex reopens at 17:00
    with store.reader(filled) as con:
        frame = freshness(con, _config(), sunday)
    xau = frame.filter(pl.col("name") == "XAU").row(0, named=True)
    assert (xau["stale"], xau["open_minutes"], xau["market_open"]) == (False, 1, False)
    assert xau["reason"] == "market closed; data is from its last session"
    # 30 minutes after the Sunday reopen (23:00 UTC) the same data is stale.
    with store.reader(filled) as con:
        later = freshness(con, _config(), datetime(2026, 1, 11, 23, 30, tzinfo=UTC))
    assert later.filter(pl.col("name") == "XAU")["open_minutes"][0] == 31


def test_freshness_limits_come_from_config(filled):
    config = _config(
        {
            "schedule": {"prices": "*/15 * * * *", "quotes": "10m"},
            "freshness": {"grace": 2, "max_age": {"BTC": "30m", "yahoo": "1000m"}},
        }
    )
    with store.reader(filled) as con:
        frame = freshness(con, config, NOW)
    limits = {r["name"]: (r["max_age_minutes"], r["stale"]) for r in frame.iter_rows(named=True)}
    assert limits["BTC"] == (30, False)  # per-instrument override
    assert limits["XAU"] == (1000, False)  # per-source override (781 open minutes < 1000)
    assert limits["ETH"] == (31, False)  # grace 2 × 15 min cron + 1 min
    assert limits["ccxt"] == (20, True)  # 2 × 10 min quotes cadence


def test_freshness_config_errors_name_the_key():
    with pytest.raises(
        ConfigError, match=r"test.toml: freshness.lookback: 'a week' is not a duration"
    ):
        FreshnessPolicy.from_config(_config({"freshness": {"lookback": "a week"}}))
    with pytest.raises(ConfigError, match=r"freshness.stale_after: unknown key"):
        FreshnessPolicy.from_config(_config({"freshness": {"stale_after": "5m"}}))


def test_freshness_on_an_empty_database_lists_the_watchlist_as_stale(db_path):
    with store.reader(db_path) as con:
        frame = freshness(con, _config(), NOW)
    assert frame.filter(pl.col("kind") == "instrument")["stale"].to_list() == [True] * 5


def test_status_stale_and_health_check_from_the_cli(filled, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    config = tmp_path / "c.toml"
    config.write_text(
        '[[instruments]]\nid = "ETH"\nsource = "ccxt"\nsymbol = "ETH/USDT"\n'
        '[[instruments]]\nid = "SOL"\nsource = "ccxt"\nsymbol = "SOL/USDT"\n',
        encoding="utf-8",
    )
    base = ["--db", str(filled), "--config", str(config)]
    runner = CliRunner()
    stale = runner.invoke(app, [*base, "status", "--stale", "--format", "json"])
    assert stale.exit_code == 0, stale.output
    names = {row["name"] for row in json.loads(stale.output)}
    # Real clock: the fixture's runs and data are from January, so all of them are stale now.
    assert names == {"ccxt", "rss", "gdelt", "ETH", "SOL"}
    check = runner.invoke(app, [*base, "health", "--check"])
    assert check.exit_code == 1 and "freshness: 5 stale of 5" in check.output
