"""`tickerwire import bars|events`: real files with exact counts, bad input with counted rejects."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines import store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "imports"


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def span(db: Path, instrument: str, timeframe: str) -> tuple[int, datetime, datetime]:
    with store.reader(db) as con:
        return con.execute(
            "select count(*), min(ts), max(ts) from bars where instrument_id = ? and timeframe = ?",
            [instrument, timeframe],
        ).fetchall()[0]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# ------------------------------------------------------------------ real files from ../shared


def test_binance_parquet_imports_exactly_and_idempotently(shared, tmp_path):
    db = tmp_path / "t.duckdb"
    path = shared / "data/prices/binance_5m/BTC_USDT-5m.parquet"
    first = cli(db, "import", "bars", str(path), "--instrument", "BTC", "--timeframe", "5m")
    assert first.returncode == 0, first.stderr
    assert "read 119784 rows: stored 119784 bars" in first.stdout
    assert span(db, "BTC", "5m") == (119784, utc(2024, 12, 31), utc(2026, 2, 19, 21, 55))
    again = cli(db, "import", "bars", str(path), "--instrument", "BTC", "--timeframe", "5m")
    assert "stored 0 bars (0 new, 0 changed), 119784 already present, 0 rejected" in again.stdout


def test_eia_close_only_csv_rejects_the_negative_2020_print(shared, tmp_path):
    db = tmp_path / "t.duckdb"
    result = cli(
        db,
        "import",
        "bars",
        str(shared / "data/prices/eia_daily/wti_daily.csv"),
        "-i",
        "WTI_SPOT",
        "-t",
        "1d",
    )
    assert result.returncode == 0, result.stderr
    assert "columns ts←Date, close←Price" in result.stdout
    assert "10226 times had no zone and were taken as UTC" in result.stdout
    assert "read 10226 rows: stored 10225 bars" in result.stdout and "1 rejected" in result.stdout
    assert span(db, "WTI_SPOT", "1d") == (10225, utc(1986, 1, 2), utc(2026, 8, 18))
    with store.reader(db) as con:
        rejects = con.execute("select reason, raw from rejects").fetchall()
    assert rejects == [("close is zero or negative", rejects[0][1])]
    assert (
        "2020-04-20" in rejects[0][1]
    )  # WTI settled at -36.98 that day: kept in rejects, not lost


def test_oanda_csv_in_broker_time_with_tz(shared, tmp_path):
    # The 2025 OANDA file is in broker server time (UTC+2 winter, UTC+3 summer), not UTC.
    db = tmp_path / "t.duckdb"
    path = shared / "data/prices/oanda_1h/XAUUSD_1h_2025.csv"
    result = cli(db, "import", "bars", str(path), "-i", "XAU", "-t", "1h", "--tz", "Europe/Athens")
    assert result.returncode == 0, result.stderr
    assert "taken as Europe/Athens" in result.stdout
    # 2025-02-06 22:00 at UTC+2 → 20:00 UTC; 2025-11-01 23:00 at UTC+2 (after the October change) → 21:00 UTC
    assert span(db, "XAU", "1h") == (5000, utc(2025, 2, 6, 20), utc(2025, 11, 1, 21))
    with store.reader(db) as con:
        # 2025-07-01 10:00 broker time is summer time (UTC+3): stored as 07:00 UTC
        july = con.execute(
            "select close from bars where instrument_id = 'XAU' and ts = timestamptz '2025-07-01 07:00:00+00'"
        ).fetchall()
    assert july == [(3314.52002,)]


def test_truth_social_posts_as_events(shared, tmp_path):
    db = tmp_path / "t.duckdb"
    path = shared / "data/events/truth_social_2025.csv"
    result = cli(db, "import", "events", str(path), "--outlet", "Truth Social")
    assert result.returncode == 0, result.stderr
    assert "columns time←Created, title←Text" in result.stdout
    assert "read 1255 rows: stored 1255 events" in result.stdout
    with store.reader(db) as con:
        n, first, last = con.execute(
            "select count(*), min(event_at), max(event_at) from events"
        ).fetchall()[0]
        reports = con.execute(
            "select count(*) from articles where outlet = 'Truth Social'"
        ).fetchall()[0][0]
        pause = con.execute(
            "select title from events where event_at = timestamptz '2025-04-09 17:18:40.000+00'"
        ).fetchall()
    assert (n, reports) == (1255, 1255)
    assert first == datetime(2025, 1, 21, 19, 15, 6, 903000, tzinfo=UTC)
    assert last == datetime(2025, 10, 14, 17, 42, 22, 246000, tzinfo=UTC)
    assert len(pause) == 0 or "<" not in pause[0][0]  # HTML stripped from titles
    again = cli(db, "import", "events", str(path), "--outlet", "Truth Social")
    assert "stored 0 events (0 new, 0 changed), 1255 already present" in again.stdout


# ------------------------------------------------------------------ bad input, hand-made fixtures


def test_bad_rows_are_rejected_with_reasons_and_good_rows_land(tmp_path):
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "bars", str(FIXTURES / "bad_bars.csv"), "-i", "TEST", "-t", "1m")
    assert result.returncode == 0, result.stderr
    # 12 rows: 3 distinct good minutes (14:00, 14:01, 14:10) + 1 duplicate, 8 refused.
    assert (
        "read 12 rows: stored 3 bars (3 new, 0 changed), 1 already present, 8 rejected"
        in result.stdout
    )
    with store.reader(db) as con:
        reasons = sorted(
            r[0].split(": ")[0] for r in con.execute("select reason from rejects").fetchall()
        )
        closes = [r[0] for r in con.execute("select close from bars order by ts").fetchall()]
    assert reasons == sorted(
        [
            "missing or NaN close",
            "close is zero or negative",
            "close is zero or negative",
            "high < low",
            "unparseable time",
            "unparseable time",
            "not a number in Close",
            "negative volume",
        ]
    )
    assert closes == [100.5, 101.5, 101.9]


def test_dst_gaps_and_overlaps_are_refused_not_guessed(tmp_path):
    db = tmp_path / "t.duckdb"
    result = cli(
        db,
        "import",
        "bars",
        str(FIXTURES / "dst_bars.csv"),
        "-i",
        "T",
        "-t",
        "1h",
        "--tz",
        "America/New_York",
    )
    assert "stored 3 bars" in result.stdout and "2 rejected" in result.stdout
    assert "ambiguous or non-existent local time" in result.stdout
    assert span(db, "T", "1h")[1:] == (utc(2026, 3, 8, 6, 30), utc(2026, 11, 1, 7, 30))


def test_fixed_offset_zone(tmp_path):
    db = tmp_path / "t.duckdb"
    result = cli(
        db,
        "import",
        "bars",
        str(FIXTURES / "dst_bars.csv"),
        "-i",
        "T",
        "-t",
        "1h",
        "--tz",
        "+02:00",
    )
    assert "stored 5 bars" in result.stdout
    assert span(db, "T", "1h")[1] == utc(2026, 3, 7, 23, 30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bars", "{missing}", "-i", "X", "-t", "1m"], "file not found"),
        (["bars", "{xlsx}", "-i", "X", "-t", "1m"], "unknown format '.xlsx'"),
        (["bars", "{notime}", "-i", "X", "-t", "1m"], "no time column found"),
        (["bars", "{noprice}", "-i", "X", "-t", "1m"], "no price/close column found"),
        (["bars", "{good}", "-i", "X", "-t", "7m"], "unknown timeframe '7m'"),
        (
            ["bars", "{good}", "-i", "X", "-t", "1m", "--tz", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (["events", "{notitle}"], "no title column found"),
    ],
)
def test_unusable_files_fail_in_one_line(tmp_path, args, message):
    paths = {
        "missing": tmp_path / "absent.csv",
        "xlsx": tmp_path / "prices.xlsx",
        "notime": tmp_path / "notime.csv",
        "noprice": tmp_path / "noprice.csv",
        "good": FIXTURES / "bad_bars.csv",
        "notitle": tmp_path / "notitle.csv",
    }
    paths["xlsx"].write_bytes(b"PK\x03\x04")
    paths["notime"].write_text("a,close\n1,2\n")
    paths["noprice"].write_text("time,foo\n2026-01-01,2\n")
    paths["notitle"].write_text("time,foo\n2026-01-01,2\n")
    resolved = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    result = cli(tmp_path / "t.duckdb", "import", *resolved)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_event_jsonl_with_odd_rows(tmp_path):
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "events", str(FIXTURES / "events.jsonl"))
    assert result.returncode == 0, result.stderr
    # 8 lines: 3 good events; refused: unparseable, future, pre-1990, not JSON, empty title (+1 unknown link).
    assert "read 8 rows: stored 3 events" in result.stdout
    assert "6 rejected" in result.stdout
    with store.reader(db) as con:
        events = con.sql(
            "select title, event_at, event_at_upper, first_outlet from events order by event_at"
        ).pl()
        links = con.execute(
            "select event_id, instrument_id from event_instruments order by instrument_id"
        ).fetchall()
        precision = dict(con.execute("select outlet, published_precision from articles").fetchall())
    assert events["event_at"].to_list() == [
        utc(2026, 5, 26),
        utc(2026, 5, 26, 8),
        utc(2026, 5, 26, 14, 25),
    ]
    assert precision == {"Daily Digest": "day", "Sample Wire": "second", "The Decoder": "second"}
    assert events["event_at_upper"][0] == utc(2026, 5, 27)  # a date-only report spans its day
    assert sorted(i for _, i in links) == ["BTC", "XAU", "XAU"]  # NOPE refused, the event kept


def test_parquet_with_naive_times_uses_tz(tmp_path):
    path = tmp_path / "naive.parquet"
    pl.DataFrame(
        {
            "timestamp": [datetime(2026, 1, 5, 9, 30), datetime(2026, 1, 5, 9, 31)],
            "close": [1.0, 2.0],
        }
    ).write_parquet(path)
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "bars", str(path), "-i", "Q", "-t", "1m", "--tz", "America/New_York")
    assert result.returncode == 0, result.stderr
    assert span(db, "Q", "1m")[1] == utc(2026, 1, 5, 14, 30)


def test_events_with_many_short_titles_then_a_long_one(tmp_path):
    # Rows 1..150 have titles short enough to need no summary; row 151's text is longer than a
    # title, so only it has a summary: the frame must take its dtype from the schema.
    path = tmp_path / "posts.csv"
    lines = ["time,title"] + [
        f"2025-01-01T{i // 60:02d}:{i % 60:02d}:00Z,short post {i}" for i in range(150)
    ]
    lines.append("2025-01-02T00:00:00Z," + "a long post " * 30)
    path.write_text("\n".join(lines) + "\n")
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "events", str(path))
    assert result.returncode == 0, result.stderr
    assert "read 151 rows: stored 151 events" in result.stdout
    with store.reader(db) as con:
        summaries = con.execute("select count(summary) from articles").fetchall()[0][0]
    assert summaries == 1


# ------------------------------------------------------------------ one case per import problem
# Each case: a small file, and either the one-line error it must fail with, or the rows that
# must land (ts → close) and the reasons (with row numbers) that must be counted as rejects.
H = "time,open,high,low,close,volume\n"
BAD_FILE_CASES = {
    "epoch seconds in CSV": (
        "1h",
        H + "1767225600,1,2,1,2,5\n1767229200,2,3,2,3,5\n",
        {utc(2026, 1, 1, 0): 2.0, utc(2026, 1, 1, 1): 3.0},
        [],
    ),
    "epoch milliseconds in CSV": (
        "1h",
        H + "1767225600000,1,2,1,2,5\n1767229200000,2,3,2,3,5\n",
        {utc(2026, 1, 1, 0): 2.0, utc(2026, 1, 1, 1): 3.0},
        [],
    ),
    "a column mixing seconds and milliseconds": (
        "1h",
        H + "1767225600,1,2,1,2,5\n1767229200,2,3,2,3,5\n1767232800000,3,4,3,4,5\n",
        {utc(2026, 1, 1, 0): 2.0, utc(2026, 1, 1, 1): 3.0},
        [("epoch in milliseconds where the column uses seconds", 3)],
    ),
    "infinite prices": (
        "1h",
        H
        + "2026-01-01 00:00,1,2,1,2,5\n2026-01-01 01:00,1,inf,1,2,5\n2026-01-01 02:00,1,2,1,-inf,5\n",
        {utc(2026, 1, 1, 0): 2.0},
        [("infinite high", 2), ("infinite close", 3)],
    ),
    "open above high, close below low": (
        "1h",
        H
        + "2026-01-01 00:00,3,2,1,2,5\n2026-01-01 01:00,1,2,1,0.5,5\n2026-01-01 02:00,1,2,1,2,5\n",
        {utc(2026, 1, 1, 2): 2.0},
        [("open above high", 1), ("close below low", 2)],
    ),
    "a row off the hourly grid": (
        "1h",
        H + "2026-01-01 00:00,1,2,1,2,5\n2026-01-01 01:00,1,2,1,2,5\n2026-01-01 01:17,1,2,1,2,5\n"
        "2026-01-01 02:00,1,3,1,3,5\n",
        {utc(2026, 1, 1, 0): 2.0, utc(2026, 1, 1, 1): 2.0, utc(2026, 1, 1, 2): 3.0},
        [("off the 1h grid of this file", 3)],
    ),
    "hourly rows imported as 1m": (
        "1m",
        H + "".join(f"2026-01-01 {h:02d}:00,1,2,1,2,5\n" for h in range(6)),
        "rows are mostly 1h apart, not 1m; check --timeframe",
        None,
    ),
    "the same time twice with other values": (
        "1h",
        H + "2026-01-01 00:00,1,2,1,2,5\n2026-01-01 00:00,1,2,1,1.5,5\n2026-01-01 01:00,1,2,1,2,5\n"
        "2026-01-01 01:00,1,2,1,2,5\n",
        {utc(2026, 1, 1, 0): 2.0, utc(2026, 1, 1, 1): 2.0},  # row 4 is a harmless copy of 3
        [("same time as row 1 with other values", 2)],
    ),
    "a line with too many fields": (
        "1h",
        H + "2026-01-01 00:00,1,2,1,2,5\n2026-01-01 01:00,1,2,1,2,5,extra\n",
        {utc(2026, 1, 1, 0): 2.0},
        [("wrong number of fields (7, header has 6)", 3)],  # line 3 of the file
    ),
    "an empty file": ("1h", H, "has no rows", None),
    "day/month order that could be either": (
        "1d",
        H + "03/05/2026,1,2,1,2,5\n04/05/2026,1,2,1,2,5\n",
        {},
        [
            (
                "unparseable time (ambiguous day/month order (state it with --dayfirst or --monthfirst))",
                1,
            ),
            (
                "unparseable time (ambiguous day/month order (state it with --dayfirst or --monthfirst))",
                2,
            ),
        ],
    ),
    "day/month order shown by the column": (
        "1d",
        H + "03/05/2026,1,2,1,2,5\n26/05/2026,1,2,1,2,5\n",  # 26 cannot be a month
        {utc(2026, 5, 3): 2.0, utc(2026, 5, 26): 2.0},
        [],
    ),
}


@pytest.mark.parametrize("case", BAD_FILE_CASES, ids=list(BAD_FILE_CASES))
def test_bad_bar_files(tmp_path, case):
    timeframe, text, expected, reasons = BAD_FILE_CASES[case]
    path = tmp_path / "bars.csv"
    path.write_text(text)
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "bars", str(path), "-i", "T", "-t", timeframe)
    if isinstance(expected, str):
        assert result.returncode == 1
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert expected in result.stderr
        return
    assert result.returncode == 0, result.stderr
    with store.reader(db) as con:
        stored = dict(con.execute("select ts, close from bars order by ts").fetchall())
        refused = con.execute("select reason, raw from rejects order by n").fetchall()
    assert stored == expected
    got = [
        (reason.split(": ")[0], int(raw.split(" ", 2)[1].rstrip(":"))) for reason, raw in refused
    ]
    assert got == reasons
    assert f"{len(reasons)} rejected" in result.stdout
    by_reason: dict[str, list[str]] = {}
    for reason, row in reasons:
        by_reason.setdefault(reason, []).append(str(row))
    for reason, rows_of in by_reason.items():
        assert f"{reason} (rows {', '.join(rows_of)})" in result.stdout


def test_feather_file_imports_like_its_csv(shared, tmp_path):
    # freqtrade stores candles as Feather (Arrow IPC) with a `date` column in UTC.
    source = pl.read_parquet(shared / "data/prices/binance_1h/PAXG_USDT-1h.parquet")
    path = tmp_path / "PAXG_USDT-1h.feather"
    source.write_ipc(path, compression="zstd")
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "bars", str(path), "-i", "PAXG", "-t", "1h")
    assert result.returncode == 0, result.stderr
    assert f"read {source.height} rows: stored {source.height} bars" in result.stdout
    with store.reader(db) as con:
        stored = con.sql("select ts, close from bars order by ts").pl()
    expected = source.select(
        pl.col(source.columns[0]).dt.replace_time_zone(None).dt.replace_time_zone("UTC")
        if source.schema[source.columns[0]].time_zone is None
        else pl.col(source.columns[0]).dt.convert_time_zone("UTC"),
        "close",
    )
    assert stored["close"].to_list() == expected["close"].to_list()
    assert stored["ts"].to_list() == expected[source.columns[0]].to_list()


def test_streamed_chunks_keep_counts_and_row_numbers(tmp_path):
    # Chunks of 3 rows: the conflicting copy of row 3 sits in the next chunk, the
    # mixed-unit row in the third; counts and row numbers must be those of the whole file.
    from pipelines.sources.bar_files import iter_bar_file

    path = tmp_path / "bars.csv"
    rows = [f"{1767225600 + 3600 * i},1,2,1,2,5" for i in range(7)]
    rows.insert(3, f"{1767225600 + 7200},1,2,1,1.5,5")  # row 4: same time as row 3, other close
    rows[6] = f"{(1767225600 + 3600 * 5) * 1000},1,2,1,2,5"  # row 7: milliseconds
    path.write_text(H + "\n".join(rows) + "\n")
    chunks = list(iter_bar_file(path, "T", "1h", chunk_rows=3))
    assert [c.n_read for c in chunks] == [3, 3, 2]
    assert sum(c.bars.height for c in chunks) == 6
    got = [(r.reason.split(": ")[0], r.raw.split(":")[0]) for c in chunks for r in c.rejects]
    assert got == [
        ("same time as row 3 with other values", "row 4"),
        ("epoch in milliseconds where the column uses seconds", "row 7"),
    ]


def test_event_csv_line_with_too_many_fields_is_a_counted_reject(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "time,title\n2025-01-01T00:00:00Z,ok one\n2025-01-01T01:00:00Z,bad,extra\n"
        "2025-01-01T02:00:00Z,ok two\n"
    )
    db = tmp_path / "t.duckdb"
    result = cli(db, "import", "events", str(path))
    assert result.returncode == 0, result.stderr
    assert "read 3 rows: stored 2 events" in result.stdout and "1 rejected" in result.stdout
    with store.reader(db) as con:
        [(reason,)] = con.execute("select reason from rejects").fetchall()
    assert reason.startswith("line 3: ") and "wrong number of fields (3, header has 2)" in reason


def test_a_whole_file_read_keeps_the_date_order_it_was_given(tmp_path):
    # read_bar_file is iter_bar_file over the whole file: the same BarReading reaches it (it once
    # dropped dayfirst, so 03-05-2025 stayed ambiguous and was refused).
    from pipelines.sources.bar_files import read_bar_file
    from pipelines.sources.file_reading import BarReading

    path = tmp_path / "days.csv"
    path.write_text(H + "03-05-2025,1,2,1,2,5\n04-05-2025,1,2,1,2,5\n")
    got = read_bar_file(path, "T", "1d", BarReading(dayfirst=True))
    assert got.rejects == []
    assert [t.date().isoformat() for t in got.bars["ts"].to_list()] == ["2025-05-03", "2025-05-04"]
