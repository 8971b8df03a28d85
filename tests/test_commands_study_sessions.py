"""`tickerwire study` on a session calendar: the reaction at reopen is labelled in the CLI, the
`ar` level carries reopen_at, and --stale-bars sets the staleness limit."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import store
from pipelines.cli import app

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def gold_db(tmp_path_factory) -> Path:
    # CME gold bars, CDT: Wednesday 27 May 2026 to Friday 29 May 21:00 UTC (no 21:00 bar: the
    # daily break), then Sunday 31 May from the 22:00 UTC reopen.
    week = [datetime(2026, 5, 27, 0, tzinfo=UTC) + i * HOUR for i in range(69)]
    # Thursday 10:00 and 11:00 UTC are missing although CME is open (a data gap)
    gap = {datetime(2026, 5, 28, 10, tzinfo=UTC), datetime(2026, 5, 28, 11, tzinfo=UTC)}
    opens = [t for t in week if t.hour != 21 and t not in gap]
    opens += [datetime(2026, 5, 31, 22, tzinfo=UTC) + i * HOUR for i in range(6)]
    closes = [100.0 + 0.3 * ((7 * i) % 5) for i in range(len(opens) - 6)]
    closes += [110.0 + i for i in range(6)]
    db = tmp_path_factory.mktemp("gold") / "gold.duckdb"
    with store.writer(db) as writer:
        writer.upsert(
            "bars",
            pl.DataFrame(
                {
                    "instrument_id": "GC",
                    "timeframe": "1h",
                    "ts": opens,
                    "close": closes,
                    "source": "test",
                },  # fmt: skip
                schema_overrides={"ts": pl.Datetime("us", "UTC")},
            ),
        )
        writer.upsert(
            "instruments",
            pl.DataFrame(
                {"instrument_id": ["GC"], "asset_class": ["commodity"], "calendar": ["cme_globex"]}
            ),  # fmt: skip
        )
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["opec"],
                    "title": ["Sunday meeting"],
                    "event_at": [datetime(2026, 5, 31, 12, tzinfo=UTC)],
                }
            ),  # fmt: skip
        )
    return db


def _study(db: Path, *extra: str):
    args = ["--db", str(db), "study", "--event", "opec", "--instruments", "GC", "--timeframe",
            "1h", "--window", "1:13", "--estimation", "-80:-40", "--level", "ar", "--format",
            "csv", *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def test_the_reaction_at_reopen_is_labelled(gold_db):
    result = _study(gold_db)
    ar = pl.read_csv(io.StringIO(result.stdout), try_parse_dates=True)
    # 12:00 + 11 h = 23:00: the first bar after the 22:00 reopen has closed
    row = ar.filter(pl.col("offset") == 11).row(0, named=True)
    assert row["reopen_at"] is not None and "22:00" in str(row["reopen_at"])
    assert ar.filter(pl.col("offset") < 11)["ret"].null_count() == 10
    assert "note: opec/GC: offset 11 is the reaction at reopen, Sun 22:00 UTC" in result.stderr


def test_stale_bars_option_sets_the_limit(gold_db):
    # The Thursday gap: at limit 2 the 09:00 close stays fresh at 11:00 and 12:00 (1 and 2 open
    # bars missing); at 0 those two prices are missing, and with them the returns at 11:00,
    # 12:00 and 13:00. The 21:00 breaks are closed slots: they never count.
    def n_estimation(limit: str) -> int:
        out = _study(gold_db, "--stale-bars", limit, "--level", "car").stdout
        return pl.read_csv(io.StringIO(out))["n_estimation"][0]

    assert n_estimation("2") - n_estimation("0") == 3
    bad = CliRunner().invoke(app, ["--db", str(gold_db), "study", "--event", "opec",
                                   "--stale-bars", "-1"])  # fmt: skip
    assert bad.exit_code != 0
