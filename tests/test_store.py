"""The store: migrations, upsert semantics, lock handling."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

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
    with store.writer(path, migrate_first=False) as st:
        first = st.migrate()
        second = st.migrate()
        recorded = [
            r[0] for r in st.con.execute("select name from _migrations order by name").fetchall()
        ]
    assert first == [p.name for p in store.migration_files()]
    assert second == []
    assert recorded == first
    with store.writer(path) as st:  # reopening migrates nothing
        assert st.migrate() == []


def test_every_design_table_exists(db_path):
    with store.reader(db_path) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert {
        "instruments", "bars", "quotes", "articles", "events", "event_articles",
        "event_instruments", "ingest_runs", "ingest_state", "rejects",
    } <= tables  # fmt: skip


def test_upsert_dedupes_within_batch_keeping_last(db_path):
    frame = pl.concat([bars([1.0, 2.0]), bars([5.0], start=0)])
    with store.writer(db_path) as st:
        result = st.upsert("bars", frame)
        stored = st.query("select ts, close from bars order by ts")
    assert (result.read, result.inserted, result.duplicates_in_batch) == (3, 2, 1)
    assert stored["close"].to_list() == [5.0, 2.0]


def test_upsert_updates_changed_rows_and_skips_identical(db_path):
    with store.writer(db_path) as st:
        st.upsert("bars", bars([1.0, 2.0, 3.0]))
        again = st.upsert("bars", bars([1.0, 2.0, 3.0]))
        changed = st.upsert("bars", bars([1.0, 20.0, 3.0, 4.0]))
        stored = st.query("select close from bars order by ts")["close"].to_list()
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 1, 2)
    assert stored == [1.0, 20.0, 3.0, 4.0]


def test_upsert_rejects_unknown_columns(db_path):
    with store.writer(db_path) as st, pytest.raises(DataError, match="unknown column"):
        st.upsert("bars", bars([1.0]).with_columns(pl.lit(1).alias("bogus")))


def test_commit_batch_is_atomic(db_path):
    with store.writer(db_path) as st:
        bad = bars([1.0]).with_columns(pl.lit("not a time").alias("ts"))
        with pytest.raises(Exception):  # noqa: B017 - any failure must roll back everything
            store.commit_batch(
                st, "test", "BTC/1m", {"bars": bars([7.0], start=5), "quotes": bad}, cursor_ts=T0
            )
        n_bars = st.con.execute("select count(*) from bars").fetchall()[0][0]
        n_state = st.con.execute("select count(*) from ingest_state").fetchall()[0][0]
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
    assert "from bars" in store.load_sql("status_bars")
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
    with store.writer(db_path) as st:
        st.upsert("bars", bars([1.0, 2.0]))
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
