"""`import bars --calendar`: every imported instrument's calendar can be set, and an exchange
series counted as 24/7 is flagged rather than passed silently."""

from __future__ import annotations

from pathlib import Path

from pipelines import store
from tests.test_commands_imports import cli


def _calendar(db: Path, instrument: str) -> str:
    with store.reader(db) as con:
        return con.execute(
            "select calendar from instruments where instrument_id = ?", [instrument]
        ).fetchone()[0]


def test_import_sets_and_updates_the_calendar(shared, tmp_path):
    db = tmp_path / "t.duckdb"
    nvda = shared / "data" / "prices" / "yahoo_1h" / "NVDA_1h.csv"
    plain = cli(db, "import", "bars", str(nvda), "-i", "NVDA", "-t", "1h")
    assert plain.returncode == 0, plain.stderr
    # NVDA trades in NYSE hours: no weekend bars in almost three years of them
    assert "warning: NVDA has calendar 24/7 but none of its bars fall on a weekend" in plain.stdout
    assert "created instrument NVDA (calendar 24/7)" in plain.stdout
    assert _calendar(db, "NVDA") == "24/7"
    again = cli(db, "import", "bars", str(nvda), "-i", "NVDA", "-t", "1h", "--calendar", "nyse")
    assert again.returncode == 0, again.stderr
    assert "warning" not in again.stdout
    assert _calendar(db, "NVDA") == "nyse"


def test_an_unknown_calendar_is_one_clear_line(shared, tmp_path):
    nvda = shared / "data" / "prices" / "yahoo_1h" / "NVDA_1h.csv"
    bad = cli(tmp_path / "t.duckdb", "import", "bars", str(nvda), "-i", "NVDA", "-t", "1h",
              "--calendar", "nasdaq")  # fmt: skip
    assert bad.returncode != 0
    assert "unknown calendar 'nasdaq'; known: 24/7, cme_globex" in bad.stderr
    assert "Traceback" not in bad.stderr
