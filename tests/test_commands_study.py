"""`tickerwire study`: options, output levels and formats with stable columns, clear errors."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines import store
from pipelines.analytics import (
    AR_COLUMNS,
    CAR_COLUMNS,
    CONFOUNDER_COLUMNS,
    PLACEBO_COLUMNS,
    SUMMARY_COLUMNS,
)
from pipelines.cli import app, main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "study"
START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory) -> Path:
    rng = np.random.default_rng(1)
    n = 2 * 1440
    ts = [START + timedelta(minutes=i) for i in range(n)]
    m = np.cumsum(rng.normal(0, 0.001, n))
    a = np.cumsum(rng.normal(0, 0.001, n)) + 0.8 * m
    frame = pl.DataFrame(
        {
            "instrument_id": ["MKT"] * n + ["AAA"] * n,
            "timeframe": "1m",
            "ts": ts + ts,
            "close": np.exp(np.concatenate([m, a]) + 3),
            "source": "synthetic",
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )
    db = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    with store.writer(db) as writer:
        writer.upsert("bars", frame)
        writer.upsert(
            "instruments",
            pl.DataFrame(
                {
                    "instrument_id": ["AAA", "MKT"],
                    "asset_class": ["crypto", "crypto"],
                    "calendar": ["24/7", "24/7"],
                }
            ),
        )
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["ev-a", "ev-b", "ev-c"],
                    "title": ["first", "second", "third"],
                    "event_at": [START + timedelta(hours=h, seconds=20) for h in (10, 11, 30)],
                    "category": ["policy", "policy", "macro"],
                }
            ),
        )
        writer.upsert(
            "event_instruments",
            pl.DataFrame(
                {"event_id": ["ev-a", "ev-b", "ev-c"], "instrument_id": ["AAA", "AAA", "AAA"]}
            ),
        )
    return db


def invoke(db: Path, *args: str):
    result = CliRunner().invoke(app, ["--db", str(db), "study", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(
    ("level", "columns"),
    [
        ("ar", AR_COLUMNS),
        ("car", CAR_COLUMNS),
        ("summary", SUMMARY_COLUMNS),
        ("confounders", CONFOUNDER_COLUMNS),
        ("placebo", PLACEBO_COLUMNS),
    ],
)
def test_every_level_has_its_documented_csv_columns(cli_db, level, columns):
    out = invoke(
        cli_db,
        "--category",
        "policy",
        "--related",
        "--window",
        "-5:30",
        "--estimation",
        "-120:-10",
        "--car",
        "1:10",
        "--placebo",
        "5",
        "--level",
        level,
        "--format",
        "csv",
    )
    frame = pl.read_csv(io.StringIO(out))
    assert tuple(frame.columns) == columns
    assert frame.height > 0


def test_json_output_and_market_model_with_default_benchmark(cli_db, tmp_path):
    target = tmp_path / "car.json"
    CliRunner().invoke(
        app,
        [
            "--db",
            str(cli_db),
            "study",
            "--event",
            "ev-a",
            "--event",
            "ev-c",
            "--instruments",
            "AAA",
            "--model",
            "market",
            "--benchmark",
            "MKT",
            "--window",
            "0:20",
            "--estimation",
            "-300:-5",
            "--car",
            "0:5",
            "--car",
            "6:20",
            "--level",
            "car",
            "--format",
            "json",
            "--out",
            str(target),
        ],
    )
    rows = json.loads(target.read_text())
    assert {r["event_id"] for r in rows} == {"ev-a", "ev-c"}
    assert {(r["car_from"], r["car_to"]) for r in rows} == {(0, 5), (6, 20)}
    assert all(0.3 < r["beta"] < 1.3 for r in rows)  # AAA was built with β = 0.8 on MKT


def test_events_file_and_timeframe_auto(cli_db):
    out = invoke(
        cli_db,
        "--events-file",
        str(FIXTURES / "events.csv"),
        "--instruments",
        "AAA",
        "--window",
        "0:12",
        "--estimation",
        "-200:-10",
        "--car",
        "1:12",
        "--level",
        "car",
        "--format",
        "csv",
    )
    frame = pl.read_csv(io.StringIO(out))
    assert frame.height == 3
    assert set(frame["timeframe"]) == {"1m"}
    assert frame["n_valid"].to_list() == [12, 12, 12]


def test_since_until_select_events(cli_db):
    out = invoke(
        cli_db,
        "--since",
        "2025-01-01T10:30:00",
        "--until",
        "2025-01-02T00:00",
        "--instruments",
        "AAA",
        "--window",
        "0:5",
        "--estimation",
        "-60:-5",
        "--level",
        "car",
        "--format",
        "csv",
    )
    assert pl.read_csv(io.StringIO(out))["event_id"].to_list() == ["ev-b"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "abc"], "--window"),
        (["--window", "5:1"], "start must not be after"),
        (["--model", "capm"], "--model must be one of"),
        (["--level", "everything"], "--level must be one of"),
        (["--window-dates", "2020-13-01:2020-03-20"], "dates must be YYYY-MM-DD"),
    ],
)
def test_bad_options_are_usage_errors(cli_db, args, message):
    result = CliRunner().invoke(app, ["--db", str(cli_db), "study", "--instruments", "AAA", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_unknown_event_is_a_one_line_error(cli_db, monkeypatch, capsys):
    monkeypatch.setattr(
        sys,
        "argv",
        ["tickerwire", "--db", str(cli_db), "study", "--event", "nope", "--instruments", "AAA"],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == ["error: unknown event id(s): nope"]


def test_events_file_with_naive_local_times_and_named_columns(cli_db, tmp_path):
    # The fixture's three instants, written as New York wall-clock times (EST, UTC−5) in columns
    # the detector does not know: without --tz they would be read five hours off.
    path = tmp_path / "local.csv"
    path.write_text(
        "when_et,what\n"
        "2025-01-01 07:00:20,Hand-built event one\n"
        "2025-01-01 15:30:00,Hand-built event two\n"
        "2025-01-01 22:15:45,Hand-built event three\n"
    )
    args = ["--events-file", str(path), "--instruments", "AAA", "--window", "0:12"]
    args += ["--estimation", "-200:-10", "--level", "car", "--format", "csv"]
    named = ["--time-column", "when_et", "--title-column", "what", "--tz", "America/New_York"]
    result = CliRunner().invoke(app, ["--db", str(cli_db), "study", *args, *named])
    assert result.exit_code == 0, result.output
    assert "3 times had no zone and were taken as America/New_York" in result.stderr
    frame = pl.read_csv(io.StringIO(result.stdout), try_parse_dates=True)
    assert sorted(frame["event_at"].cast(pl.Datetime("us", "UTC")).to_list()) == [
        datetime(2025, 1, 1, 12, 0, 20, tzinfo=UTC),
        datetime(2025, 1, 1, 20, 30, tzinfo=UTC),
        datetime(2025, 1, 2, 3, 15, 45, tzinfo=UTC),
    ]
    missing = CliRunner().invoke(app, ["--db", str(cli_db), "study", *args])
    assert missing.exit_code != 0 and "--time-column" in str(missing.exception)
