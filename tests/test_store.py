"""The store: migrations, upsert semantics, lock handling."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from pipelines import store
from pipelines.errors import DataError, StoreLocked

T0 = datetime(2026, 5, 26, 14, 0, tzinfo=UTC)


def bars(closes: list[float], start: int = 0, instrument: str = "BTC") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "instrument_id": [instrument] * len(closes),
            "timeframe": ["1m"] * len(closes),
            "ts": [T0 + timedelta(minutes=start + i) for i in range(len(closes))],
            "close": closes,
        }
    )


def test_migrations_apply_once_and_are_recorded(tmp_path):
    path = tmp_path / "m.duckdb"
    with store.writer(path, migrate_first=False) as writer:
        first = writer.migrate()
        second = writer.migrate()
        recorded = [
            r[0]
            for r in writer.con.execute("select name from _migrations order by name").fetchall()
        ]
    assert first == [p.name for p in store.migration_files()]
    assert second == []
    assert recorded == first
    with store.writer(path) as writer:  # reopening migrates nothing
        assert writer.migrate() == []


def test_every_design_table_exists(db_path):
    with store.reader(db_path) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert {
        "instruments", "bars", "quotes", "articles", "events", "event_articles",
        "event_instruments", "ingest_runs", "ingest_state", "rejects",
    } <= tables  # fmt: skip


def test_upsert_dedupes_within_batch_keeping_last(db_path):
    frame = pl.concat([bars([1.0, 2.0]), bars([5.0], start=0)])
    with store.writer(db_path) as writer:
        result = writer.upsert("bars", frame)
        stored = writer.query("select ts, close from bars order by ts")
    assert (result.read, result.inserted, result.duplicates_in_batch) == (3, 2, 1)
    assert stored["close"].to_list() == [5.0, 2.0]


def test_upsert_updates_changed_rows_and_skips_identical(db_path):
    with store.writer(db_path) as writer:
        writer.upsert("bars", bars([1.0, 2.0, 3.0]))
        again = writer.upsert("bars", bars([1.0, 2.0, 3.0]))
        changed = writer.upsert("bars", bars([1.0, 20.0, 3.0, 4.0]))
        stored = writer.query("select close from bars order by ts")["close"].to_list()
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 2)
    assert stored == [1.0, 20.0, 3.0, 4.0]


def test_upsert_rejects_unknown_columns(db_path):
    with store.writer(db_path) as writer, pytest.raises(DataError, match="unknown column"):
        writer.upsert("bars", bars([1.0]).with_columns(pl.lit(1).alias("bogus")))


def test_commit_batch_is_atomic(db_path):
    with store.writer(db_path) as writer:
        bad = bars([1.0]).with_columns(pl.lit("not a time").alias("ts"))
        with pytest.raises(Exception):  # noqa: B017 - any failure must roll back everything
            store.commit_batch(
                writer,
                "test",
                "BTC/1m",
                {"bars": bars([7.0], start=5), "quotes": bad},
                cursor_ts=T0,
            )
        n_bars = writer.con.execute("select count(*) from bars").fetchall()[0][0]
        n_state = writer.con.execute("select count(*) from ingest_state").fetchall()[0][0]
    assert (n_bars, n_state) == (0, 0)


def test_reader_retries_then_names_the_lock_holder(db_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreLocked) as info:
            store.open_connection(db_path, read_only=True, retries=3, base_delay=0.05)
        assert time.monotonic() - started >= 0.1  # it did back off before giving up
        assert f"PID {holder.pid}" in str(info.value)
        assert str(db_path) in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_reader_succeeds_once_the_writer_lets_go(db_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('held', flush=True); time.sleep(0.6)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        con = store.open_connection(db_path, read_only=True, retries=10, base_delay=0.05)
        assert con.execute("select count(*) from bars").fetchall() == [(0,)]
        con.close()
    finally:
        holder.kill()
        holder.wait()


def test_load_sql_finds_queries_by_bare_name():
    assert "from bars" in store.load_sql("prices_status_bars")
    with pytest.raises(Exception, match="no SQL file"):
        store.load_sql("no_such_query")


def test_duckdb_cli_reads_the_file_read_only(db_path):
    # Users query the file ad hoc with the duckdb shell installed beside tickerwire.
    import shutil
    from pathlib import Path

    shell = Path(sys.executable).parent / "duckdb"
    if not shell.exists():
        shell = shutil.which("duckdb")
    if shell is None:
        pytest.skip("duckdb shell not installed (pip install duckdb-cli)")
    with store.writer(db_path) as writer:
        writer.upsert("bars", bars([1.0, 2.0]))
    out = subprocess.run(
        [
            str(shell),
            "-readonly",
            "-csv",
            str(db_path),
            "-c",
            "select count(*) as n, tw_in_session('24/7', now()) as o from bars",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["n,o", "2,true"]


def test_bars_key_is_unenforced_but_upsert_keeps_it_unique(db_path):
    with store.writer(db_path) as writer:
        declared = writer.con.execute(
            "select count(*) from duckdb_constraints() "
            "where table_name = 'bars' and constraint_type = 'PRIMARY KEY'"
        ).fetchall()[0][0]
        assert declared == 0  # migration 0020: no ART index on the largest table
        assert writer.primary_key("bars") == ["instrument_id", "timeframe", "ts"]
        writer.upsert("bars", bars([1.0, 2.0, 3.0]))
        writer.upsert("bars", bars([2.5, 3.5, 4.0], start=1))  # overlaps two stored keys
        writer.upsert("bars", bars([9.0], instrument="ETH"))  # same ts, another instrument
        assert store.duplicate_keys(writer.con, "bars") == 0
        stored = writer.query("select instrument_id, close from bars order by instrument_id, ts")
    assert stored.rows() == [("BTC", 1.0), ("BTC", 2.5), ("BTC", 3.5), ("BTC", 4.0), ("ETH", 9.0)]


@settings(max_examples=40, deadline=None)
@given(
    batches=hst.lists(
        hst.lists(
            hst.tuples(hst.sampled_from(["BTC", "ETH"]), hst.integers(0, 30), hst.floats(1, 100)),
            max_size=25,
        ),  # fmt: skip
        min_size=1,
        max_size=6,
    )
)
def test_upsert_matches_a_dict_of_last_values(tmp_path_factory, batches):
    """Any sequence of overlapping batches leaves exactly one row per key, the last value sent."""
    path = tmp_path_factory.mktemp("prop") / "p.duckdb"
    expected: dict[tuple[str, datetime], float] = {}
    with store.writer(path) as writer:
        for batch in batches:
            frame = pl.DataFrame(
                {
                    "instrument_id": [b[0] for b in batch],
                    "timeframe": ["1m"] * len(batch),
                    "ts": [T0 + timedelta(minutes=b[1]) for b in batch],
                    "close": [b[2] for b in batch],
                },
                schema={
                    "instrument_id": pl.Utf8,
                    "timeframe": pl.Utf8,
                    "ts": pl.Datetime("us", "UTC"),
                    "close": pl.Float64,
                },  # fmt: skip
            )
            writer.upsert("bars", frame)
            expected.update({(b[0], T0 + timedelta(minutes=b[1])): b[2] for b in batch})
        rows = writer.con.execute("select instrument_id, ts, close from bars").fetchall()
    assert len(rows) == len(expected)
    assert {(r[0], r[1].astimezone(UTC)): r[2] for r in rows} == expected


def test_migration_0020_keeps_the_bars_of_an_older_file(tmp_path):
    """A file made before 0020 (bars with a declared PRIMARY KEY) keeps every bar, in key order."""
    path = tmp_path / "old.duckdb"
    core = next(p for p in store.migration_files() if p.name.startswith("0001_"))
    with store.writer(path, migrate_first=False) as writer:
        writer.con.execute(
            "create table _migrations (name varchar primary key, applied_at timestamptz not null)"
        )
        writer.con.execute(core.read_text(encoding="utf-8"))
        writer.con.execute("insert into _migrations values (?, ?)", [core.name, T0])
        writer.upsert("bars", bars([3.0, 4.0], start=5))
        writer.upsert("bars", bars([1.0, 2.0]))
        applied = writer.migrate()
        declared = writer.con.execute(
            "select count(*) from duckdb_constraints() "
            "where table_name = 'bars' and constraint_type = 'PRIMARY KEY'"
        ).fetchall()[0][0]
        stored = writer.query("select close from bars")["close"].to_list()
        again = writer.upsert("bars", bars([1.0, 2.0, 3.0], start=0))
    assert applied[0] == "0020_bars_unenforced_key.sql"
    assert declared == 0
    assert stored == [1.0, 2.0, 3.0, 4.0]  # copied in key order
    assert (again.inserted, again.updated, again.unchanged) == (1, 0, 2)


def test_health_reports_a_bar_key_that_a_hand_made_insert_repeated(db_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    with store.writer(db_path) as writer:
        writer.upsert("bars", bars([1.0, 2.0]))
        writer.con.execute(
            "insert into bars (instrument_id, timeframe, ts, close) values ('BTC', '1m', ?, 9.0)",
            [T0],
        )
    result = CliRunner().invoke(app, ["--db", str(db_path), "health", "--keys", "--check"])
    assert "bars: 1 rows repeat a key" in result.output
    assert result.exit_code == 1
    with store.writer(db_path) as writer:  # remove the repeat: the same check now passes
        writer.con.execute("delete from bars where close = 9.0")
    clean = CliRunner().invoke(app, ["--db", str(db_path), "health", "--keys"])
    assert "keys: no repeated key in bars" in clean.output
    assert "repeat a key" not in clean.output
