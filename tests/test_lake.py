"""Lake mode: a lake written by `export` is read in place by study, sql and status; the export
is incremental; the study over an exported lake no longer fails for want of bar_coverage."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pipelines import export, lake, store
from pipelines.analytics import StudySpec, run_study
from pipelines.cli import app
from pipelines.errors import DataError, StoreError

T0 = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # the bars span the February → March boundary


def minute_bars(instrument: str, start: datetime, n: int, drift: float) -> pl.DataFrame:
    """1m bars whose closes follow a deterministic wiggle (no two returns alike)."""
    return pl.DataFrame(
        {
            "instrument_id": instrument,
            "timeframe": "1m",
            "ts": [start + timedelta(minutes=i) for i in range(n)],
            "close": [100.0 * (1 + drift) ** i * (1 + 0.001 * ((i * 7) % 5)) for i in range(n)],
            "source": "test",
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


def fill(db: Path) -> None:
    """Two instruments and a benchmark around two events, linked through event_instruments."""
    start = T0 - timedelta(hours=5)
    with store.writer(db) as st:
        for inst, drift in (("AAA", 1e-4), ("BBB", -5e-5), ("BTC", 2e-5)):
            st.upsert("bars", minute_bars(inst, start, 600, drift))
        st.upsert("instruments", pl.DataFrame({"instrument_id": ["AAA", "BBB", "BTC"],
                                               "asset_class": ["crypto"] * 3}))  # fmt: skip
        st.upsert("events", pl.DataFrame({"event_id": ["e1", "e2"], "title": ["one", "two"],
                                          "event_at": [T0, T0 + timedelta(minutes=37)]}))  # fmt: skip
        st.upsert("event_instruments", pl.DataFrame({"event_id": ["e1", "e1", "e2"],
                                                     "instrument_id": ["AAA", "BBB", "AAA"]}))  # fmt: skip


def spec() -> StudySpec:
    """A market-model study on the events' linked instruments with auto timeframe (bar_coverage)."""
    return StudySpec(event_ids=("e1", "e2"), model="market", benchmark="BTC",
                     window=(-5, 20), estimation=(-200, -10), car_windows=((0, 5), (1, 20)))  # fmt: skip


@pytest.fixture
def exported(db_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    fill(db_path)
    with store.reader(db_path) as con:
        export.export(con, tmp_path / "lake")
    return db_path, tmp_path / "lake"


def assert_same_study(a, b) -> None:
    """Two StudyResults agree frame for frame, floats to 1e-12."""
    for name in ("ar", "car", "summary", "confounders"):
        assert_frame_equal(getattr(a, name), getattr(b, name), rel_tol=1e-12, abs_tol=1e-12)
    assert a.notes == b.notes and a.timeframe == b.timeframe


def test_the_old_load_sql_lacked_bar_coverage_and_lake_mode_has_it(exported):
    db, dest = exported
    manifest = json.loads((dest / "_manifest.json").read_text())
    # What load.sql held before lake mode: one view per table and nothing else.
    old = duckdb.connect()
    for table, info in manifest["tables"].items():
        old.execute(f"create view {table} as {export.read_sql(dest, table, info['columns'])}")
    with pytest.raises(duckdb.CatalogException, match="bar_coverage"):
        run_study(old, spec())
    with store.reader(db) as con:
        on_file = run_study(con, spec())
    assert on_file.car.height == 6 and on_file.timeframe == "1m"
    # load.sql now also creates sql/views (bar_coverage, tw_in_session …): the same study.
    fresh = duckdb.connect()
    fresh.execute((dest / "load.sql").read_text())
    assert_same_study(run_study(fresh, spec()), on_file)
    with store.reader(dest) as con:  # lake mode: the one reader door
        assert_same_study(run_study(con, spec()), on_file)


def test_every_table_and_view_reads_back_as_in_the_file(exported):
    db, dest = exported
    with store.reader(db) as f, store.reader(dest) as lk:
        for name in [*export.LAYOUTS, "bar_coverage"]:
            a = f.sql(f"select * from {name} order by all").pl()
            b = lk.sql(f"select * from {name} order by all").pl()
            assert_frame_equal(a, b, check_exact=True)


def test_export_again_writes_only_new_and_changed_partitions(exported):
    db, dest = exported
    feb = dest / "bars" / "instrument_id=BBB" / "year=2026" / "month=2" / "data_0.parquet"
    before = feb.stat().st_mtime_ns
    with store.writer(db) as st:  # a new instrument, and AAA gains bars in March
        st.upsert("bars", minute_bars("CCC", T0, 10, 0.0))
        st.upsert("bars", minute_bars("AAA", T0 + timedelta(hours=6), 30, 1e-4))
    with store.reader(db) as con:
        summary = export.export(con, dest)
    bars = summary.filter(pl.col("table") == "bars").row(0, named=True)
    # AAA/2026/3 changed, CCC/2026/2 is new; the other four partitions were left alone
    assert (bars["partitions"], bars["partitions_written"]) == (7, 2)
    assert feb.stat().st_mtime_ns == before
    with store.writer(db) as st:
        st.con.execute("delete from bars where instrument_id = 'CCC'")
    with store.reader(db) as con:
        export.export(con, dest)
    assert not (dest / "bars" / "instrument_id=CCC").exists()
    assert not list(dest.rglob(".*"))  # no temporary folders left behind
    with store.reader(db) as f, store.reader(dest) as lk:
        q = "select * from bars order by all"
        assert_frame_equal(f.sql(q).pl(), lk.sql(q).pl(), check_exact=True)


def test_cli_readers_in_lake_mode_match_the_file(exported, tmp_path):
    db, dest = exported
    runner = CliRunner()
    for args in (["sql", "select instrument_id, count(*) as n from bars group by 1 order by 1"],
                 ["study", "--related", "--model", "market", "--benchmark", "BTC", "--window",
                  "-5:20", "--estimation", "-200:-10", "--level", "car", "--format", "csv"]):  # fmt: skip
        on_file = runner.invoke(app, ["--db", str(db), *args])
        on_lake = runner.invoke(
            app, ["--db", str(tmp_path / "none.duckdb"), "--lake", str(dest), *args]
        )
        assert on_file.exit_code == 0 and on_lake.exit_code == 0, on_lake.output
        assert on_lake.stdout == on_file.stdout and "AAA" in on_file.stdout
    status = runner.invoke(app, ["--lake", str(dest), "status"])
    assert status.exit_code == 0 and f"database: {dest}" in status.stdout and "BTC" in status.stdout


def test_store_lake_config_key_points_readers_at_the_lake(exported, tmp_path):
    _, dest = exported
    config = tmp_path / "tw.toml"
    config.write_text(f'[store]\nlake = "{dest}"\n')
    result = CliRunner().invoke(
        app, ["--config", str(config), "sql", "select count(*) as n from bars"]
    )
    assert result.exit_code == 0, result.output
    assert "1800" in result.stdout
    config.write_text('[store]\nlaek = "x"\n')
    with pytest.raises(Exception, match="laek: unknown key"):
        from pipelines.config import load_config

        load_config(config)


def test_no_lake_there_is_one_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="no lake at .*tickerwire export --to"):
        lake.open_reader(tmp_path / "empty")


def test_spark_engine_without_pyspark_says_how_to_install_it(exported, monkeypatch):
    _, dest = exported
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    result = CliRunner().invoke(
        app, ["--lake", str(dest), "study", "--related", "--engine", "spark"]
    )
    assert isinstance(result.exception, DataError)
    assert (
        str(result.exception)
        == "the spark engine needs pyspark: pip install 'tickerwire[spark]' (and Java 17)"
    )


def test_spark_engine_needs_a_lake(exported):
    db, _ = exported
    result = CliRunner().invoke(app, ["--db", str(db), "study", "--related", "--engine", "spark"])
    assert isinstance(result.exception, DataError) and "give --lake DIR" in str(result.exception)


def test_refresh_appends_new_bars_to_the_lake(tmp_path, monkeypatch):
    from tests.ops_server import MarketServer

    db, dest = tmp_path / "r.duckdb", tmp_path / "lake"
    runner = CliRunner()
    args = [
        "--db",
        str(db),
        "--lake",
        str(dest),
        "refresh",
        "--source",
        "synthetic",
        "--only",
        "prices",
    ]
    with MarketServer(n_bars=300) as srv:
        monkeypatch.setenv("TICKERWIRE_SYNTHETIC_URL", srv.url)
        monkeypatch.setenv("TICKERWIRE_SYNTHETIC_SYMBOLS", "BTC")
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert "lake " in first.stderr and "appended" in first.stderr
        srv.set_bars(400)
        again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "1 of 1 bar partitions written" in again.stderr  # only the grown month
    with store.reader(db) as f, store.reader(dest) as lk:
        q = "select * from bars order by all"
        assert f.sql(q).pl().height == 400
        assert_frame_equal(f.sql(q).pl(), lk.sql(q).pl(), check_exact=True)


def test_the_sql_console_reads_the_lake_and_nothing_else(exported):
    from dashboard import sandbox

    _, dest = exported
    ok = sandbox.run_sandboxed(str(dest), "select count(*) as n from bars")
    assert ok.error is None and ok.frame["n"].to_list() == [1800]
    refused = sandbox.run_sandboxed(str(dest), "select * from read_csv('/etc/hostname')")
    assert refused.error and refused.frame.height == 0


def test_lake_mode_on_a_folder_without_a_lake_says_so(tmp_path):
    result = CliRunner().invoke(app, ["--lake", str(tmp_path / "nolake"), "sql", "select 1"])
    assert isinstance(result.exception, StoreError)
    assert str(result.exception).startswith(f"no lake at {tmp_path / 'nolake'} (no _manifest.json)")
