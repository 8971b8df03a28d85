"""Trading calendars: Python and SQL agree; holidays, early closes and breaks as published."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import calendars, store


@pytest.mark.parametrize(
    ("calendar", "at", "expected"),
    [
        ("cme_globex", datetime(2026, 5, 30, 12, 0, tzinfo=UTC), False),  # Saturday
        (
            "cme_globex",
            datetime(2026, 5, 31, 21, 59, tzinfo=UTC),
            False,
        ),  # Sunday 16:59 Chicago (CDT)
        (
            "cme_globex",
            datetime(2026, 5, 31, 22, 0, tzinfo=UTC),
            True,
        ),  # Sunday 17:00 Chicago: opens
        (
            "cme_globex",
            datetime(2026, 5, 26, 21, 30, tzinfo=UTC),
            False,
        ),  # Tuesday 16:30 Chicago: break
        ("cme_globex", datetime(2026, 5, 26, 14, 25, tzinfo=UTC), True),  # the seed event
        (
            "cme_globex",
            datetime(2026, 5, 29, 21, 0, tzinfo=UTC),
            False,
        ),  # Friday 16:00 Chicago: closed
        ("nyse", datetime(2026, 5, 26, 13, 30, tzinfo=UTC), True),  # 09:30 New York
        ("nyse", datetime(2026, 5, 26, 13, 29, tzinfo=UTC), False),
        ("ice_futures", datetime(2026, 5, 26, 0, 30, tzinfo=UTC), True),  # 01:30 London (BST)
        ("ice_futures", datetime(2026, 5, 26, 22, 30, tzinfo=UTC), False),  # 23:30 London
        ("fx_24/5", datetime(2026, 5, 29, 20, 59, tzinfo=UTC), True),  # Friday 16:59 New York
        ("fx_24/5", datetime(2026, 5, 29, 21, 0, tzinfo=UTC), False),
        ("24/7", datetime(2026, 5, 30, 3, 0, tzinfo=UTC), True),
    ],
)
def test_known_session_boundaries(calendar, at, expected):
    assert calendars.is_open(calendar, at) is expected


def test_unknown_calendar_is_a_clear_error():
    with pytest.raises(Exception, match="unknown calendar 'lunar'"):
        calendars.is_open("lunar", datetime(2026, 1, 1, tzinfo=UTC))


def test_python_and_sql_agree_minute_by_minute(db_path):
    # Four weeks of 7-minute steps around the 2026 DST changes (8 March US, 29 March EU) and
    # Good Friday / Easter Monday (3 and 6 April), read from the stored sessions by the macro.
    start = datetime(2026, 3, 5, tzinfo=UTC)
    ts = pl.datetime_range(start, start + timedelta(days=35), "7m", time_zone="UTC", eager=True)
    frame = pl.DataFrame({"ts": ts})
    with store.writer(db_path) as st_:
        con = st_.con
        for name in calendars.CALENDARS:
            expected = calendars.in_session(name, frame["ts"])
            got = con.sql(
                "select tw_in_session($c, ts) as o from frame order by ts", params={"c": name}
            ).pl()["o"]
            assert got.to_list() == expected.to_list(), name


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    )
)
def test_scalar_and_vector_rules_agree(at):
    series = pl.Series("ts", [at], dtype=pl.Datetime("us", "UTC"))
    for name in calendars.CALENDARS:
        assert calendars.in_session(name, series)[0] == calendars.is_open(name, at), (name, at)


def _utc(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# Published 2026 exchange holidays, early closes and breaks (from the exchanges' own notices,
# not from the library): each instant is closed although the weekly hours say open, or open.
@pytest.mark.parametrize(
    ("calendar", "at", "expected", "why"),
    [
        ("nyse", _utc(2026, 1, 1, 15), False, "New Year's Day"),
        ("nyse", _utc(2026, 1, 19, 15), False, "Martin Luther King Jr. Day"),
        ("nyse", _utc(2026, 4, 3, 15), False, "Good Friday"),
        ("nyse", _utc(2026, 5, 25, 15), False, "Memorial Day"),
        ("nyse", _utc(2026, 6, 19, 15), False, "Juneteenth"),
        ("nyse", _utc(2026, 7, 3, 15), False, "Independence Day observed (4 July is a Saturday)"),
        ("nyse", _utc(2026, 11, 26, 16), False, "Thanksgiving"),
        ("nyse", _utc(2026, 11, 27, 17, 59), True, "day after Thanksgiving, before 13:00 ET"),
        ("nyse", _utc(2026, 11, 27, 18, 30), False, "day after Thanksgiving closes 13:00 ET"),
        ("nyse", _utc(2026, 12, 24, 18, 30), False, "Christmas Eve closes 13:00 ET"),
        ("nyse", _utc(2026, 12, 25, 15), False, "Christmas"),
        ("lse", _utc(2026, 4, 6, 10), False, "Easter Monday"),
        ("lse", _utc(2026, 5, 4, 10), False, "Early May bank holiday"),
        ("lse", _utc(2026, 8, 31, 10), False, "Summer bank holiday"),
        ("lse", _utc(2026, 12, 24, 13), False, "Christmas Eve closes 12:30"),
        ("lse", _utc(2026, 12, 28, 10), False, "Boxing Day observed"),
        ("xetra", _utc(2026, 5, 1, 10), False, "Labour Day"),
        ("xetra", _utc(2026, 12, 24, 10), False, "Christmas Eve"),
        ("xetra", _utc(2026, 12, 31, 10), False, "New Year's Eve"),
        ("hkex", _utc(2026, 2, 17, 3), False, "Lunar New Year"),
        ("hkex", _utc(2026, 5, 26, 4, 30), False, "lunch break 12:00-13:00 HKT"),
        ("hkex", _utc(2026, 5, 26, 5, 30), True, "afternoon session"),
        ("hkex", _utc(2026, 10, 1, 3), False, "National Day"),
        ("cme_globex", _utc(2026, 5, 25, 18), True, "Memorial Day: open until 13:30 CT"),
        ("cme_globex", _utc(2026, 5, 25, 19), False, "Memorial Day: halted from 13:30 CT"),
        ("cme_globex", _utc(2026, 5, 25, 22, 30), True, "reopens 17:00 CT for Tuesday"),
        ("cme_globex", _utc(2026, 12, 25, 15), False, "Christmas"),
        ("ice_futures", _utc(2026, 12, 25, 12), False, "Christmas"),
    ],
)
def test_known_2026_holidays_early_closes_and_breaks(calendar, at, expected, why):
    assert calendars.is_open(calendar, at) is expected, why


def test_nyse_2026_has_251_sessions_and_two_early_closes():
    # 261 weekdays less 10 holidays; 6.5 h a day less 3 h on 27 Nov and 24 Dec. The weekly
    # hours alone counted 261 × 6.5 = 1696.5 h: 71 h of closed market called open.
    frame = calendars.generate("nyse", 2026, 2026)
    hours = (frame["close_at"] - frame["open_at"]).dt.total_minutes().sum() / 60
    assert frame.height == 251
    assert hours == 251 * 6.5 - 2 * 3


def test_tw_in_session_is_null_outside_the_generated_years_and_for_unknown_calendars(db_path):
    with store.writer(db_path) as st_:
        got = st_.con.execute(
            "select tw_in_session('nyse', timestamptz '1990-05-29 15:00+00'),"
            " tw_in_session('lunar', timestamptz '2026-05-26 15:00+00'),"
            " tw_in_session('24/7', timestamptz '1990-05-29 15:00+00')"
        ).fetchone()
    assert got == (None, None, True)


def test_refresh_replaces_the_sessions_for_the_years_asked(db_path):
    with store.writer(db_path) as st_:
        coverage = calendars.write_sessions(st_.con, (2025, 2026))
        n_nyse, first, last = st_.con.execute(
            "select count(*), min(open_at), max(close_at) from sessions where calendar = 'nyse'"
        ).fetchone()
        cov = st_.con.execute(
            "select count(*), min(first_day), max(last_day) from calendar_coverage"
        ).fetchone()
    assert n_nyse == 250 + 251  # 2025: 261 weekdays, 10 holidays, and 9 January (mourning)
    assert (first.year, last.year) == (2025, 2026)
    assert cov[0] == coverage.height == len(calendars.CALENDARS) - 1
    assert (cov[1].year, cov[2].year) == (2025, 2026)


def test_calendars_command_refreshes_and_lists_the_coverage(tmp_path):
    db = tmp_path / "t.duckdb"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "--db",
            str(db),
            "calendars",
            "--refresh",
            "--years",
            "2026:2026",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    nyse = next(line for line in run.stdout.splitlines() if line.startswith("nyse "))
    assert nyse.split()[1:4] == ["2026-01-01", "2026-12-31", "251"]
