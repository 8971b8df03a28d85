"""Time parsing: property tests over formats and zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import DataError
from pipelines.timeparse import parse_times, resolve_zone

instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC)
)
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda q: timezone(timedelta(minutes=15 * q))
)


@settings(max_examples=150, deadline=None)
@given(
    instants,
    offsets,
    st.sampled_from(["%Y-%m-%d %H:%M:%S%:z", "%Y-%m-%dT%H:%M:%S%:z", "%Y-%m-%dT%H:%M:%S%z"]),
)
def test_offset_times_round_trip(at, offset, fmt):
    text = at.astimezone(offset).strftime(fmt.replace("%:z", "%:z" if hasattr(at, "x") else "%z"))
    if "%:z" in fmt:  # strftime has no %:z before 3.12: build the colon form by hand
        raw = at.astimezone(offset).strftime(fmt.replace("%:z", "%z"))
        text = raw[:-2] + ":" + raw[-2:]
    parsed = parse_times(pl.Series([text]), "Asia/Tokyo")  # the zone must not matter for aware text
    assert parsed.ts[0] == at
    assert parsed.naive_rows == 0


@settings(max_examples=150, deadline=None)
@given(
    instants,
    st.sampled_from(["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "+03:00"]),
)
def test_naive_times_are_taken_in_the_given_zone(at, tz):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(resolve_zone(tz))
    local = at.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    parsed = parse_times(pl.Series([text]), tz)
    round_trip = local.replace(tzinfo=None).replace(tzinfo=zone, fold=0)
    if (
        round_trip.astimezone(UTC) != at
        or local.replace(fold=1).utcoffset() != local.replace(fold=0).utcoffset()
    ):
        # the wall time is ambiguous (DST fall-back): it must be refused, never guessed
        assert parsed.ts[0] is None and "ambiguous" in parsed.problems[0]
    else:
        assert parsed.ts[0] == at


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_garbage_never_raises_and_is_explained(text):
    parsed = parse_times(pl.Series([text]), "UTC")
    assert (parsed.ts[0] is None) == (parsed.problems[0] is not None)


@pytest.mark.parametrize(
    ("value", "expected"), [(1735603200, 0), (1735603200000, 0), (1735603200000000, 0)]
)
def test_epoch_units_from_magnitude(value, expected):
    parsed = parse_times(pl.Series([value]), "UTC")
    assert parsed.ts[0] == datetime(2024, 12, 31, tzinfo=UTC)


def test_offset_names():
    assert resolve_zone("+02:00") == "Etc/GMT-2"
    assert resolve_zone("UTC-5") == "Etc/GMT+5"
    with pytest.raises(DataError):
        resolve_zone("+05:30")
