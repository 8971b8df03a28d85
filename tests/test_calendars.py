"""Trading calendars: Python and SQL agree, and the sessions are the published weekly hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import calendars, store
from pipelines.paths import sql_dir


def test_macro_file_is_generated_from_the_python_rules():
    text = (sql_dir() / "views" / "00_tw_in_session.sql").read_text()
    assert calendars.session_macro_sql() in text


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


def test_python_expr_and_sql_macro_agree_minute_by_minute(db_path):
    # Two weeks of minutes around a DST change (2026-03-08 US, 2026-03-29 EU) to catch zone bugs.
    start = datetime(2026, 3, 5, tzinfo=UTC)
    ts = pl.datetime_range(start, start + timedelta(days=28), "7m", time_zone="UTC", eager=True)
    frame = pl.DataFrame({"ts": ts})
    with store.reader(db_path) as con:
        for name in calendars.CALENDARS:
            expected = frame.select(calendars.in_session_expr(name, pl.col("ts")).alias("o"))["o"]
            got = con.sql(
                "select tw_in_session($c, ts) as o from frame order by ts", params={"c": name}
            ).pl()["o"]
            assert got.to_list() == expected.to_list(), name


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    )
)
def test_scalar_and_vector_rules_agree(at):
    frame = pl.DataFrame({"ts": [at]}, schema={"ts": pl.Datetime("us", "UTC")})
    for name in calendars.CALENDARS:
        vector = frame.select(calendars.in_session_expr(name, pl.col("ts")))[0, 0]
        assert vector == calendars.is_open(name, at), (name, at)
