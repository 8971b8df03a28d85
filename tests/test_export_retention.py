"""Export to Hive-partitioned Parquet (read back identically) and the 1m → 1h retention roll-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import export, retention, store
from pipelines.cli import app
from pipelines.config import parse_config
from pipelines.errors import ConfigError, DataError

NOW = datetime(2026, 3, 20, 12, 34, tzinfo=UTC)


def _bars(
    instrument: str, timeframe: str, start: datetime, n: int, step_min: int = 1, base: float = 100.0
):
    return pl.DataFrame(
        {
            "instrument_id": [instrument] * n,
            "timeframe": [timeframe] * n,
            "ts": [start + timedelta(minutes=step_min * i) for i in range(n)],
            "open": [base + i for i in range(n)],
            "high": [base + i + 2 for i in range(n)],
            "low": [base + i - 1 for i in range(n)],
            "close": [base + i + 1 for i in range(n)],
            "volume": [1.0] * n,
            "source": ["ccxt:binance"] * n,
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


@pytest.fixture
def filled(db_path):
    with store.writer(db_path) as writer:
        # Bars straddling a month boundary in UTC (and in New York, a different month locally).
        writer.upsert("bars", _bars("BTC", "1m", datetime(2026, 1, 31, 23, 50, tzinfo=UTC), 30))
        writer.upsert("bars", _bars("XAU", "1h", datetime(2026, 2, 27, 20, 0, tzinfo=UTC), 5, 60))
        writer.upsert(
            "instruments",
            pl.DataFrame({"instrument_id": ["BTC", "XAU"], "calendar": ["24/7", "cme_globex"]}),
        )
        writer.upsert(
            "quotes",
            pl.DataFrame(
                {
                    "instrument_id": ["BTC"],
                    "ts": [NOW],
                    "source": ["strip:x"],
                    "price": [1.5],
                    "change_pct": [4.64],
                }
            ),
        )
        writer.upsert(
            "articles",
            pl.DataFrame(
                {
                    "article_id": ["a1", "a2"],
                    "title": ["Fed holds", "No date"],
                    "published_at": [datetime(2026, 2, 1, 0, 5, tzinfo=UTC), None],
                    "published_precision": ["second", "unknown"],
                }
            ),
        )
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["e1"],
                    "title": ["Fed holds"],
                    "event_at": [datetime(2026, 2, 1, 0, 5, tzinfo=UTC)],
                    "countries": [["US", "EU"]],
                    "n_articles": [1],
                },
                schema_overrides={"n_articles": pl.Int32},
            ),  # fmt: skip
        )
        writer.upsert("event_articles", pl.DataFrame({"event_id": ["e1"], "article_id": ["a1"]}))
    return db_path


def test_export_writes_hive_partitions_that_read_back_identically(filled, tmp_path):
    dest = tmp_path / "lake"
    with store.reader(filled) as con:
        con.execute("set TimeZone = 'America/New_York'")  # months must still be UTC months
        summary = export.export(con, dest)
    got = {r["table"]: (r["rows"], r["files"]) for r in summary.iter_rows(named=True)}
    assert (
        got["bars"] == (35, 3) and got["articles"] == (2, 2) and got["event_instruments"] == (0, 1)
    )
    partitions = sorted(str(p.parent.relative_to(dest)) for p in (dest / "bars").rglob("*.parquet"))
    assert partitions == [
        "bars/instrument_id=BTC/year=2026/month=1",
        "bars/instrument_id=BTC/year=2026/month=2",
        "bars/instrument_id=XAU/year=2026/month=2",
    ]
    assert (dest / "articles" / "year=__HIVE_DEFAULT_PARTITION__").is_dir()  # unknown date
    manifest = json.loads((dest / "_manifest.json").read_text())
    assert manifest["tables"]["bars"]["partitioned_by"] == ["instrument_id", "year", "month"]
    # Every table reads back equal to the source table, column for column, type for type.
    mem = duckdb.connect()
    mem.execute("attach ? as src (read_only)", [str(filled)])
    for table in export.LAYOUTS:
        cols = [r[0] for r in mem.execute(
            "select column_name from duckdb_columns() where database_name = 'src' and table_name = ? order by column_index",
            [table],
        ).fetchall()]  # fmt: skip
        original = mem.sql(f"select * from src.{table} order by all").pl()
        back = mem.sql(export.read_sql(dest, table, cols) + " order by all").pl()
        assert back.schema == original.schema, table
        assert back.equals(original), table
    # load.sql recreates the tables as views over the files.
    mem.execute((dest / "load.sql").read_text())
    assert mem.sql("select count(*), min(ts) from bars where instrument_id = 'BTC'").fetchall() == [
        (30, datetime(2026, 1, 31, 23, 50, tzinfo=UTC))
    ]


def test_export_again_replaces_the_previous_export(filled, tmp_path):
    dest = tmp_path / "lake"
    with store.reader(filled) as con:
        export.export(con, dest)
    with store.writer(filled) as writer:
        writer.con.execute("delete from bars where instrument_id = 'XAU'")
    with store.reader(filled) as con:
        export.export(con, dest)
    assert not (dest / "bars" / "instrument_id=XAU").exists()
    assert not list(dest.glob(".*"))  # no temporary folders left behind


def test_export_refuses_unknown_format(filled, tmp_path):
    with store.reader(filled) as con, pytest.raises(DataError, match="allowed: parquet"):
        export.export(con, tmp_path / "x", "csv")


def test_export_cli(filled, tmp_path):
    result = CliRunner().invoke(app, ["--db", str(filled), "export", "--to", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "bars" in result.output and (tmp_path / "out" / "bars" / "instrument_id=BTC").is_dir()


# ---------------------------------------------------------------------------- retention


def _policy(**retention_section):
    config = parse_config({"retention": retention_section}, Path("test.toml"))
    return retention.RetentionPolicy.from_config(config)


def test_retention_policy_validation():
    assert _policy() == retention.RetentionPolicy(enabled=False, after_days=90)
    with pytest.raises(ConfigError, match="retention.to: '1h' must be a whole multiple"):
        _policy(**{"from": "1h", "to": "1h"})
    with pytest.raises(ConfigError, match="retention.after_days: must be at least 1"):
        _policy(after_days=0)
    with pytest.raises(ConfigError, match="retention.keep: unknown key"):
        _policy(keep=3)


def test_retention_rolls_up_whole_old_hours_and_never_touches_recent_days(db_path):
    policy = _policy(enabled=True, after_days=30)
    cutoff = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)  # NOW − 30 days = 18 Feb 12:34 → floored
    assert policy.cutoff(NOW) == cutoff
    with store.writer(db_path) as writer:
        # ETH: 150 one-minute bars from 10:00 to 12:29 on 18 Feb: 10:00 and 11:00 are old,
        # 12:00-12:29 is after the cutoff and must stay as 1m bars.
        writer.upsert("bars", _bars("ETH", "1m", datetime(2026, 2, 18, 10, 0, tzinfo=UTC), 150))
        # An existing native 1h bar for 11:00 is kept (not overwritten by the roll-up).
        writer.upsert(
            "bars", _bars("ETH", "1h", datetime(2026, 2, 18, 11, 0, tzinfo=UTC), 1, 60, base=5000.0)
        )
        before_recent = writer.query(
            "select * from bars where ts >= $c order by all", {"c": cutoff}
        )
        planned = retention.plan(writer.con, policy, NOW)
        result = retention.apply(writer, policy, NOW)
        assert (planned.fine_bars, planned.buckets_written, planned.buckets_kept) == (120, 1, 1)
        assert (result.fine_bars, result.buckets_written, result.dry_run) == (120, 1, False)
        hours = writer.query(
            "select ts, open, high, low, close, volume, source from bars where timeframe = '1h' order by ts"
        )
        after_recent = writer.query("select * from bars where ts >= $c order by all", {"c": cutoff})
        old_1m = writer.query(
            "select count(*) n from bars where timeframe = '1m' and ts < $c", {"c": cutoff}
        )
        run = writer.query("select source, status, n_read, n_stored, n_present from ingest_runs")
        again = retention.apply(writer, policy, NOW)
    # 10:00 bucket: first open 100, max high 59+102 = 161, min low 99, last close 160, 60 bars of volume 1.
    assert hours.rows()[0] == (
        datetime(2026, 2, 18, 10, 0, tzinfo=UTC),
        100.0,
        161.0,
        99.0,
        160.0,
        60.0,
        "ccxt:binance",
    )
    assert hours.rows()[1][1] == 5000.0  # the native 11:00 bar was kept as it was
    assert old_1m["n"][0] == 0
    assert after_recent.equals(before_recent)  # the last 30 days are untouched
    assert run.rows() == [("retention", "ok", 120, 1, 1)]
    assert again.fine_bars == 0  # idempotent: nothing left to roll up


def test_retention_cli_is_off_by_default_and_dry_run_changes_nothing(filled):
    runner = CliRunner()
    off = runner.invoke(app, ["--db", str(filled), "retention"])
    assert off.exit_code == 0 and "retention is off" in off.output
    dry = runner.invoke(app, ["--db", str(filled), "retention", "--dry-run"])
    # The filled BTC minutes (January 2026) are older than the default 90 days.
    assert dry.exit_code == 0 and dry.output.startswith("would roll 30 1m bars"), dry.output
    with store.reader(filled) as con:
        assert con.execute("select count(*) from bars where timeframe = '1m'").fetchall() == [(30,)]
