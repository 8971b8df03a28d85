"""What the CLI prints for people: `events list` fits 100 columns, a typo'd category gets a
suggestion, `study --level car` reads in % with p, BH q and marks (raw columns stay in CSV)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app


def run(db: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(app, ["--db", str(db), *args])
    assert result.exit_code == code, result.output
    return result


def test_events_list_fits_100_columns_and_wide_shows_all(fixture_db: Path) -> None:
    narrow = run(fixture_db, "events", "list").stdout
    lines = narrow.rstrip("\n").splitlines()
    assert lines[0].split() == ["event_at", "category", "title", "event_id"]
    assert all(len(line.rstrip()) <= 100 for line in lines), max(map(len, lines))
    assert "2026-05-26 14:25 UTC" in narrow and "+00:00" not in narrow
    assert "ev-seed" in narrow  # ids stay whole: they are what `study --event` takes
    wide = run(fixture_db, "events", "list", "--wide").stdout
    for column in ("n_articles", "first_outlet", "instruments", "title"):
        assert column in wide.splitlines()[0]
    assert "China classifies AI engineers as national security assets" in wide


def test_a_typod_category_gets_a_suggestion(fixture_db: Path) -> None:
    # the real entry point, as a user runs it: one line on stderr, exit status 1
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(fixture_db), "events", "list"]
        + ["--category", "polcy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "did you mean 'policy'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_study_car_table_reads_in_percent_with_q_and_marks(fixture_db: Path) -> None:
    args = ("study", "--event", "ev-seed", "--instruments", "BTC,ETH", "--level", "car")
    result = run(fixture_db, *args)
    table = result.stdout
    header = table.splitlines()[0].split()
    assert header[:4] == ["event", "instrument", "window", "CAR"]
    assert "beta" not in header and "alpha" not in header  # constant model: nothing fitted
    raw = pl.read_csv(io.StringIO(run(fixture_db, *args, "--format", "csv").stdout))
    assert "beta" in raw.columns  # the CSV contract is unchanged
    btc = raw.filter((pl.col("instrument_id") == "BTC") & (pl.col("car_from") == -12)).row(
        0, named=True
    )
    # the table's CAR is the raw CAR × 100 with two significant digits and a % sign
    want = f"{100 * btc['car']:+.{1 if abs(100 * btc['car']) >= 1 else 2}f} %".replace("-", "−")
    btc_line = next(line for line in table.splitlines() if " BTC " in line and "−12 to +24" in line)
    assert want in btc_line
    assert "verdict: Over offsets −12 to +24" in result.stderr


@pytest.mark.parametrize("model", ["market"])
def test_study_car_table_shows_beta_under_the_market_model(fixture_db: Path, model: str) -> None:
    out = run(
        fixture_db,
        "study",
        "--event",
        "ev-seed",
        "--instruments",
        "ETH",
        "--benchmark",
        "BTC",
        "--model",
        model,
        "--level",
        "car",
    ).stdout
    assert "beta" in out.splitlines()[0]


def test_events_add_suggests_the_category_it_refuses(db_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(db_path), "events", "add"]
        + ["--at", "2026-05-26T14:25:00Z", "--title", "x", "--category", "macor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "did you mean 'macro'?" in result.stderr
