"""`import tickerwire as tw`: every public function on a database built from given rows.

Expected values come from the rows themselves (an independent NumPy event study and return
calculation written here) or from the CLI run on the same file, never from the facade's output.
"""

from __future__ import annotations

import importlib.metadata
import math
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import tickerwire as tw
from pipelines.cli import app

T0 = datetime(2026, 1, 5, tzinfo=UTC)
N_BARS = 400
EVENT_MIN = 300  # the study's event falls exactly on the close of bar 299


def log_returns(kind: str) -> np.ndarray:
    """Deterministic 1-minute log returns with some variance (no randomness to reproduce)."""
    j = np.arange(N_BARS)
    if kind == "BTC":
        return 0.002 * np.sin(0.7 * j) + 0.001 * np.cos(1.9 * j)
    return 0.0015 * np.sin(0.31 * j + 1) + 0.0007 * np.cos(2.3 * j)


def closes(kind: str) -> np.ndarray:
    """Close of bar j (opening at T0 + j minutes)."""
    return 100.0 * np.exp(np.cumsum(log_returns(kind)))


def write_bars(path: Path, kind: str) -> Path:
    """A CSV of N_BARS one-minute OHLCV rows with consistent highs and lows."""
    close = closes(kind)
    opens = np.concatenate([[100.0], close[:-1]])
    rows = [
        {
            "time": (T0 + timedelta(minutes=int(i))).isoformat(),
            "open": float(opens[i]),
            "high": float(max(opens[i], close[i]) * 1.0001),
            "low": float(min(opens[i], close[i]) * 0.9999),
            "close": float(close[i]),
            "volume": 1.0 + i,
        }
        for i in range(N_BARS)
    ]
    pl.DataFrame(rows).write_csv(path)
    return path


EVENTS = [
    # time (minutes after T0), title, category, instruments
    (EVENT_MIN, "Regulator approves spot ether fund", "regulation", "BTC,ETH"),
    (200, "Exchange outage halts trading", "corporate", "BTC"),
    (350, "Regulator fines an exchange", "regulation", "ETH"),
]


def write_events(path: Path) -> Path:
    """A CSV of the EVENTS rows."""
    pl.DataFrame(
        [
            {
                "time": (T0 + timedelta(minutes=m)).isoformat(),
                "title": title,
                "category": cat,
                "instruments": inst,
            }
            for m, title, cat, inst in EVENTS
        ]
    ).write_csv(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The input files: BTC and ETH bars and the events."""
    folder = tmp_path_factory.mktemp("facade_in")
    return {
        "BTC": write_bars(folder / "btc.csv", "BTC"),
        "ETH": write_bars(folder / "eth.csv", "ETH"),
        "events": write_events(folder / "events.csv"),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, files: dict[str, Path]) -> dict:
    """A database filled through the facade's import methods, with their reports."""
    path = tmp_path_factory.mktemp("facade_db") / "t.duckdb"
    wdb = tw.open(path, write=True)
    reports = {
        "BTC": wdb.import_bars(files["BTC"], "BTC", "1m"),
        "ETH": wdb.import_bars(files["ETH"], "ETH", "1m"),
        "events": wdb.import_events(files["events"]),
    }
    return {"path": path, "reports": reports}


@pytest.fixture(scope="module")
def db(built: dict) -> tw.Database:
    """The built database, opened read-only (the default)."""
    return tw.open(built["path"])


def event_id(db: tw.Database, title: str) -> str:
    """The id the importer gave the event with this title."""
    return db.events(words=title)["event_id"][0]


# ---------------------------------------------------------------------------- open, package


def test_open_defaults_to_read_only_and_refuses_a_missing_file(tmp_path, db):
    assert db.writable is False
    with pytest.raises(tw.StoreError, match="does not exist"):
        tw.open(tmp_path / "nope.duckdb")
    with pytest.raises(tw.StoreError, match="read-only"):
        db.import_events(tmp_path / "x.csv")


def test_open_takes_the_database_from_the_environment_like_the_cli(built, monkeypatch):
    monkeypatch.setenv("TICKERWIRE_DB", str(built["path"]))
    assert tw.open().path == built["path"]


def test_version_is_the_installed_distribution_version():
    assert tw.__version__ == importlib.metadata.version("tickerwire")


def test_python_dash_m_tickerwire_is_the_cli(built):
    done = subprocess.run(
        [sys.executable, "-m", "tickerwire", "--db", str(built["path"]), "sql", "select 7 as n"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:3] == ["n", "-", "7"]


def test_the_package_is_typed():
    assert (Path(tw.__file__).parent / "py.typed").is_file()


# ---------------------------------------------------------------------------- imports


def test_import_reports_count_what_the_rows_say(built):
    bars = built["reports"]["BTC"]
    assert (bars.read, bars.stored, bars.present, bars.rejected) == (N_BARS, N_BARS, 0, 0)
    assert bars.inserted == N_BARS and "created instrument BTC" in bars.notes
    events = built["reports"]["events"]
    assert (events.read, events.stored, events.rejected) == (len(EVENTS), len(EVENTS), 0)


def test_import_bars_keeps_valid_rows_counts_rejects_and_says_what_the_cli_says(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time,open,high,low,close,volume\n"
        "2026-01-05T00:00:00Z,10,11,9,10.5,1\n"
        "not a time,10,11,9,10.5,1\n"
        "2026-01-05T00:01:00Z,10,11,9,-3,1\n"
        "2026-01-05T00:02:00Z,10,11,9,10.2,1\n"
    )
    lib_db, cli_db = tmp_path / "lib.duckdb", tmp_path / "cli.duckdb"
    report = tw.open(lib_db, write=True).import_bars(bad, "BTC", "1m")
    assert (report.read, report.stored, report.rejected) == (4, 2, 2)
    assert sorted(report.reasons.values()) == [1, 1]  # one bad time, one negative close
    assert any("time" in reason for reason in report.reasons), report.reasons
    cli = CliRunner().invoke(
        app, ["--db", str(cli_db), "import", "bars", str(bad), "-i", "BTC", "-t", "1m"]
    )
    assert cli.exit_code == 0, cli.output
    # The CLI's summary line carries the same counts.
    summary = re.search(
        r"read (\d+) rows: stored (\d+) bars \((\d+) new, (\d+) changed\), (\d+) already present, "
        r"(\d+) rejected",
        cli.output,
    )
    assert summary, cli.output
    assert tuple(int(g) for g in summary.groups()) == (
        report.read,
        report.stored,
        report.inserted,
        report.updated,
        report.present,
        report.rejected,
    )
    again = tw.open(lib_db, write=True).import_bars(bad, "BTC", "1m")
    assert (again.stored, again.present, again.rejected) == (0, 2, 2)
    assert tw.open(lib_db).sql("select count(*) as n from bars")["n"][0] == 2


def test_import_refuses_an_unknown_option(tmp_path, files):
    with pytest.raises(TypeError, match="colour"):
        tw.open(tmp_path / "x.duckdb", write=True).import_events(files["events"], colour="red")


# ---------------------------------------------------------------------------- reading


def test_events_match_every_word_category_and_span(db):
    assert db.events(words="regulator")["title"].to_list() == [
        "Regulator fines an exchange",
        "Regulator approves spot ether fund",
    ]  # newest first
    assert db.events(words=["REGULATOR", "ether"])["title"].to_list() == [
        "Regulator approves spot ether fund"
    ]
    assert db.events(category="corporate")["title"].to_list() == ["Exchange outage halts trading"]
    span = db.events(since=T0 + timedelta(minutes=200), until=T0 + timedelta(minutes=350))
    assert span["title"].to_list() == [
        "Regulator approves spot ether fund",
        "Exchange outage halts trading",
    ]  # until is exclusive
    assert db.events(instrument="ETH").height == 2


def test_event_has_its_linked_instruments(db):
    ev = db.event(event_id(db, "approves spot ether"))
    assert ev["event_at"] == T0 + timedelta(minutes=EVENT_MIN)
    assert sorted(ev["instruments"]) == ["BTC", "ETH"]
    with pytest.raises(tw.DataError, match="no event"):
        db.event("no-such-event")


def test_bars_returns_the_given_rows_in_a_half_open_range(db):
    got = db.bars("BTC", "1m", start=T0 + timedelta(minutes=10), end="2026-01-05T00:15:00Z")
    assert got["ts"].to_list() == [T0 + timedelta(minutes=m) for m in range(10, 15)]
    assert got["close"].to_list() == pytest.approx(closes("BTC")[10:15].tolist(), rel=1e-15)
    assert db.bars("ETH").height == N_BARS  # finest timeframe by default, whole span


def test_instruments_coverage_and_sql(db):
    assert set(db.instruments()["instrument_id"]) >= {"BTC", "ETH"}
    cov = db.coverage().filter(pl.col("instrument_id") == "BTC")
    assert cov["n_bars"].to_list() == [N_BARS]
    assert db.sql("select count(*) as n from events where category = $c", {"c": "regulation"})[
        "n"
    ].to_list() == [2]
    assert db.query("events_categories").height == 2


# ---------------------------------------------------------------------------- study


WINDOW, ESTIMATION = (-5, 10), (-100, -10)


def expected_constant_mean(kind: str) -> tuple[np.ndarray, float]:
    """AR_k for k in WINDOW and CAR over [1, 10], by DESIGN §4 on the bars given.

    P(t) is the close of the last bar closed by t; bar j closes at T0 + (j + 1) min, so
    P(t0 + kΔ) is the close of bar EVENT_MIN + k - 1, and r_k = ln P(t0 + kΔ) − ln P(t0 + (k−1)Δ).
    """
    log_p = np.log(closes(kind))

    def r(k: int) -> float:
        return log_p[EVENT_MIN + k - 1] - log_p[EVENT_MIN + k - 2]

    mean = np.mean([r(k) for k in range(ESTIMATION[0], ESTIMATION[1] + 1)])
    ar = np.array([r(k) - mean for k in range(WINDOW[0], WINDOW[1] + 1)])
    return ar, float(ar[1 - WINDOW[0] :].sum())  # offsets 1 … 10


def test_study_constant_mean_matches_an_independent_calculation(db):
    study = db.study(
        events=event_id(db, "approves spot ether"),
        instruments=["BTC", "ETH"],
        window=WINDOW,
        estimation=ESTIMATION,
        car=[(1, 10)],
    )
    assert study.timeframe == "1m"
    for kind in ("BTC", "ETH"):
        ar, car = expected_constant_mean(kind)
        got = study.ar.filter(pl.col("instrument_id") == kind).sort("offset")
        assert got["offset"].to_list() == list(range(WINDOW[0], WINDOW[1] + 1))
        np.testing.assert_allclose(got["ar"].to_numpy(), ar, rtol=0, atol=1e-12)
        row = study.car.filter((pl.col("instrument_id") == kind) & (pl.col("car_from") == 1))
        assert row["car"][0] == pytest.approx(car, abs=1e-12)
        assert row["n_estimation"][0] == ESTIMATION[1] - ESTIMATION[0] + 1


def cli_frame(db_path: Path, level: str, args: list[str], tmp_path: Path) -> pl.DataFrame:
    """`tickerwire study … --level L --format csv` on the same file, read back."""
    out = tmp_path / f"{level}.csv"
    result = CliRunner().invoke(
        app,
        ["--db", str(db_path), "study", *args, "--level", level, "--format", "csv", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    return pl.read_csv(out, try_parse_dates=True)


def assert_same_rows(lib: pl.DataFrame, cli: pl.DataFrame) -> None:
    """Same columns and rows; numbers equal to 1e-12 (the CSV carries full float precision)."""
    assert lib.columns == cli.columns
    assert lib.height == cli.height > 0
    for name in lib.columns:
        a, b = lib[name], cli[name]
        if a.dtype.is_float():
            np.testing.assert_allclose(
                a.to_numpy(), b.cast(pl.Float64).to_numpy(), rtol=0, atol=1e-12, equal_nan=True
            )
        elif a.dtype.is_temporal():
            assert a.dt.epoch("us").to_list() == b.dt.epoch("us").to_list(), name
        else:
            assert a.cast(pl.Utf8).to_list() == b.cast(pl.Utf8).to_list(), name


@pytest.mark.parametrize("model", ["constant", "market"])
def test_study_gives_the_same_numbers_as_the_cli(db, built, tmp_path, model):
    eid = event_id(db, "approves spot ether")
    cli_args = [
        "--event", eid, "--instruments", "ETH,BTC", "--model", model, "--benchmark", "BTC",
        "--window", "-5:10", "--estimation", "-100:-10", "--car", "0:10", "--car", "-5:-1",
        "--placebo", "15", "--seed", "3",
    ]  # fmt: skip
    study = db.study(
        events=[eid],
        instruments=["ETH", "BTC"],
        model=model,
        benchmark="BTC",
        window=(-5, 10),
        estimation=(-100, -10),
        car=[(0, 10), (-5, -1)],
        placebo=15,
        seed=3,
    )
    for level in ("ar", "car", "summary", "placebo"):
        assert_same_rows(getattr(study, level), cli_frame(built["path"], level, cli_args, tmp_path))


def test_study_takes_a_frame_of_events_and_refuses_an_unknown_model(db):
    found = db.events(words="regulator")
    study = db.study(events=found, window=WINDOW, estimation=ESTIMATION)  # linked instruments
    assert sorted(study.car.select("event_id", "instrument_id").unique().rows()) == sorted(
        [(event_id(db, "approves spot ether"), "BTC"), (event_id(db, "approves spot ether"), "ETH")]
        + [(event_id(db, "fines an exchange"), "ETH")]
    )
    with pytest.raises(tw.DataError, match="model must be one of"):
        db.study(events=found, model="capm")


def test_study_plot_gives_the_dashboard_figures_and_a_notebook_view(db):
    eid = event_id(db, "approves spot ether")
    study = db.study(
        events=eid, instruments=["BTC", "ETH"], window=WINDOW, estimation=ESTIMATION, placebo=10
    )
    figures = study.plot()
    assert sorted(figures) == ["caar", "car", "placebo"]
    caar = figures["caar"]
    assert type(caar).__name__ == "Figure"
    # The CAAR line is the mean of the two instruments' CARs per offset, in percent.
    mean_car = study.ar.group_by("offset").agg(pl.col("car").mean()).sort("offset")["car"]
    expected = mean_car.to_numpy() * 100
    assert any(
        t.y is not None
        and len(t.y) == len(expected)
        and np.allclose(np.asarray(t.y, dtype=float), expected, atol=1e-9)
        for t in caar.data
    )
    page = study._repr_html_()
    assert eid in page and "<table" in page
    assert "constant model" in repr(study)


# ---------------------------------------------------------------------------- reaction


def test_reaction_returns_match_the_rules_on_the_given_bars(db):
    eid = event_id(db, "approves spot ether")
    got = db.reaction(eid)
    assert got.event["event_id"] == eid
    c = closes("BTC")
    r = np.diff(np.log(c[:EVENT_MIN]))  # returns of the bars closed by t0 (all within 5 days)
    sigma = float(np.std(r, ddof=1))
    p0 = c[EVENT_MIN - 1]
    btc = got.returns.filter(pl.col("instrument_id") == "BTC")
    by_h = {row["horizon"]: row for row in btc.iter_rows(named=True)}
    for label, minutes in (("+5m", 5), ("+15m", 15), ("+1h", 60)):
        p = c[EVENT_MIN + minutes - 1]
        assert by_h[label]["ret_pct"] == pytest.approx(100 * (p / p0 - 1), abs=1e-10)
        z = math.log(p / p0) / (sigma * math.sqrt(minutes))
        assert by_h[label]["z"] == pytest.approx(z, rel=1e-9)
        assert by_h[label]["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)
    # +4h and +1d lie past the last bar: no fresh price, so no number (not a stale one)
    assert by_h["+4h"]["ret_pct"] is None and by_h["+1d"]["ret_pct"] is None
    assert sorted(got.returns["instrument_id"].unique()) == ["BTC", "ETH"]  # its linked ones
    assert db.reaction(eid, instruments="ETH").returns["instrument_id"].unique().to_list() == [
        "ETH"
    ]
    assert "Regulator approves" in got._repr_html_()
