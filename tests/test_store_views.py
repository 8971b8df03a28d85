"""A reader of a file last written by an older tickerwire (pipelines/views.py): the current views
are laid over the stored ones for the reader only, and missing migrations are named."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from pipelines import export, store, views
from pipelines.cli import app
from tests.dashboard_fixture_db import build

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"
# What an older version stored: latest_runs without the columns the current one has.
OLD_LATEST_RUNS = "create or replace view latest_runs as select source from ingest_runs"


def age_views(db: Path) -> None:
    """Make the file look last written by an older version: an old view and its old digest."""
    with store.writing(db, "test") as writer:
        writer.con.execute(OLD_LATEST_RUNS)
        writer.set_meta(views.DIGEST_KEY, "digest-of-an-older-version")


def age_schema(db: Path) -> None:
    """Make the file look written before migration 0150 (no events.stored_at)."""
    with store.writing(db, "test") as writer:
        writer.con.execute("alter table events drop column stored_at")
        writer.con.execute("delete from _migrations where name = '0150_events_stored_at.sql'")


def latest_runs_columns(con) -> list[str]:
    return [d[0] for d in con.execute("select * from latest_runs limit 0").description]


def test_a_reader_sees_the_current_views_and_the_file_is_left_as_it_was(tmp_path):
    db = tmp_path / "old.duckdb"
    with store.writing(db, "test") as writer:
        current = latest_runs_columns(writer.con)
    age_views(db)
    assert current != ["source"]
    with store.reader(db) as con:
        assert latest_runs_columns(con) == current
        stored = con.execute(
            "select sql from duckdb_views() where view_name = 'latest_runs' and not temporary"
        ).fetchall()[0][0]
        assert views.stored_digest(con) == "digest-of-an-older-version"
    assert "select source from ingest_runs" in stored.lower().replace('"', "")  # unchanged
    with store.writing(db, "test") as writer:  # the next write stores the current ones
        assert views.stored_digest(writer.con) == views.definitions()[1]
    with store.reader(db) as con:
        assert latest_runs_columns(con) == current


def test_a_current_file_gets_no_temporary_views(tmp_path):
    db = tmp_path / "new.duckdb"
    with store.writing(db, "test"):
        pass
    with store.reader(db) as con:
        assert views.apply_for_reader(con) is False
        temporary = "select count(*) from duckdb_views() where temporary and not internal"
        assert con.execute(temporary).fetchall() == [(0,)]


def test_status_on_a_file_behind_the_migrations_works_and_says_how_to_update(tmp_path):
    db = tmp_path / "old.duckdb"
    with store.writing(db, "test"):
        pass
    age_views(db)
    age_schema(db)
    got = CliRunner().invoke(app, ["--db", str(db), "status"])
    assert got.exit_code == 0, got.output
    assert "0150_events_stored_at.sql" in got.stderr and "tickerwire init" in got.stderr
    assert "0150" not in got.stdout
    assert CliRunner().invoke(app, ["--db", str(db), "init"]).exit_code == 0
    again = CliRunner().invoke(app, ["--db", str(db), "status"])
    assert again.exit_code == 0 and "tickerwire init" not in again.stderr


def test_the_dashboard_on_a_file_behind_the_migrations_says_to_run_init(tmp_path, monkeypatch):
    db = build(tmp_path / "old.duckdb")
    age_views(db)
    age_schema(db)
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption)
    assert "New events are not announced" in captions and "tickerwire init" in captions


def test_a_lake_of_an_older_file_or_an_older_export_says_so_and_the_pages_still_work(
    tmp_path, monkeypatch
):
    db = build(tmp_path / "old.duckdb")
    age_schema(db)
    lake = tmp_path / "lake"
    with store.reader(db) as con:
        export.export(con, lake)
    with store.reader(lake) as con:
        note = views.update_note(con)
    assert note is not None and "0150_events_stored_at.sql" in note and "export again" in note
    monkeypatch.delenv("TICKERWIRE_DB", raising=False)
    monkeypatch.setenv("TICKERWIRE_LAKE", str(lake))
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=60)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("New events are not announced" in c.value for c in at.caption)
    # an export written before lakes carried the migration log
    manifest = json.loads((lake / "_manifest.json").read_text())
    del manifest["tables"]["_migrations"]
    (lake / "_manifest.json").write_text(json.dumps(manifest))
    with store.reader(lake) as con:
        assert "exported by an older tickerwire" in (views.update_note(con) or "")


def test_a_current_lake_needs_no_update(tmp_path):
    db = build(tmp_path / "new.duckdb")
    with store.reader(db) as con:
        export.export(con, tmp_path / "lake")
        assert views.update_note(con) is None
    with store.reader(tmp_path / "lake") as con:
        assert views.update_note(con) is None


def test_views_a_file_cannot_take_yet_leave_its_stored_ones_in_place(tmp_path):
    # The current latest_runs needs ingest_runs.started_at, which this (older) file lacks: the
    # reader keeps every stored view rather than half of the new ones.
    db = tmp_path / "older.duckdb"
    with store.writing(db, "test"):
        pass
    age_views(db)
    with store.writing(db, "test", migrate=False) as writer:
        writer.con.execute("alter table ingest_runs drop column started_at")
    with store.reader(db) as con:
        assert latest_runs_columns(con) == ["source"]
        temporary = "select count(*) from duckdb_views() where temporary and not internal"
        assert con.execute(temporary).fetchall() == [(0,)]
