"""Trading sessions: when each calendar's market is open (weekly hours, local time; no holidays).

The same rules exist twice on purpose: as Polars expressions for Python-side frames and as the
DuckDB macro `tw_in_session(calendar, ts)` (sql/views/00_tw_in_session.sql,
generated from this module) for SQL and ad-hoc `duckdb` users.
tests/test_calendars.py checks that both agree minute by minute.

Approximations, stated so nobody trusts them further than they go: exchange holidays and
early closes are not modelled; ICE Brent's Sunday-evening pre-open is folded into Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.errors import DataError


@dataclass(frozen=True)
class WeeklyHours:
    """Open hours in a local zone: minute-of-week ranges [start, end) with Monday 00:00 = 0."""

    tz: str
    ranges: tuple[tuple[int, int], ...]


def _mow(day: int, hour: int, minute: int = 0) -> int:
    """Minute of week with Monday = 0 … Sunday = 6."""
    return day * 1440 + hour * 60 + minute


_WEEK = 7 * 1440

# CME Globex (metals, energy): Sunday 17:00 → Friday 16:00 Chicago time, with a daily
# 16:00–17:00 maintenance break Monday to Thursday.
_CME = (
    ((0, _mow(0, 16)),)
    + tuple((_mow(d - 1, 17), _mow(d, 16)) for d in range(1, 5))
    + ((_mow(6, 17), _WEEK),)
)

CALENDARS: dict[str, WeeklyHours | None] = {
    "24/7": None,  # always open
    "cme_globex": WeeklyHours("America/Chicago", _CME),
    # ICE Brent: 01:00–23:00 London time, Monday to Friday.
    "ice_futures": WeeklyHours("Europe/London", tuple((_mow(d, 1), _mow(d, 23)) for d in range(5))),
    "nyse": WeeklyHours("America/New_York", tuple((_mow(d, 9, 30), _mow(d, 16)) for d in range(5))),
    "xetra": WeeklyHours("Europe/Berlin", tuple((_mow(d, 9), _mow(d, 17, 30)) for d in range(5))),
    "hkex": WeeklyHours("Asia/Hong_Kong", tuple((_mow(d, 9, 30), _mow(d, 16)) for d in range(5))),
    "lse": WeeklyHours("Europe/London", tuple((_mow(d, 8), _mow(d, 16, 30)) for d in range(5))),
    # Spot FX: Sunday 17:00 → Friday 17:00 New York time.
    "fx_24/5": WeeklyHours("America/New_York", ((0, _mow(4, 17)), (_mow(6, 17), _WEEK))),
}


def hours(calendar: str) -> WeeklyHours | None:
    """The weekly hours of a calendar (None = always open); DataError for an unknown name."""
    try:
        return CALENDARS[calendar]
    except KeyError:
        raise DataError(f"unknown calendar {calendar!r}; known: {', '.join(CALENDARS)}") from None


def is_open(calendar: str, at: datetime) -> bool:
    """True when the market of `calendar` is open at the (timezone-aware) instant `at`."""
    spec = hours(calendar)
    if spec is None:
        return True
    if at.tzinfo is None:
        raise DataError(f"is_open needs a timezone-aware time, got naive {at.isoformat()}")
    local = at.astimezone(ZoneInfo(spec.tz))
    minute = _mow(local.weekday(), local.hour, local.minute)
    return any(start <= minute < end for start, end in spec.ranges)


def in_session_expr(calendar: str, ts: pl.Expr) -> pl.Expr:
    """A boolean Polars expression: is the market open at each instant of `ts` (UTC datetimes)?"""
    spec = hours(calendar)
    if spec is None:
        return ts.is_not_null()  # always open; shaped like ts so select() keeps every row
    local = ts.dt.convert_time_zone(spec.tz)
    # Polars weekday(): Monday = 1 … Sunday = 7.
    minute = (
        (local.dt.weekday().cast(pl.Int32) - 1) * 1440
        + local.dt.hour().cast(pl.Int32) * 60
        + local.dt.minute().cast(pl.Int32)
    )
    open_ = pl.lit(False)
    for start, end in spec.ranges:
        open_ = open_ | ((minute >= start) & (minute < end))
    return open_


def session_macro_sql() -> str:
    """The DuckDB macros `tw_minute_of_week(ts, tz)` and `tw_in_session(calendar, ts)`, generated
    from CALENDARS so that SQL and Python cannot drift apart."""
    cases = []
    for name, spec in CALENDARS.items():
        if spec is None:
            cases.append(f"when '{name}' then true")
            continue
        mow = f"tw_minute_of_week(ts, '{spec.tz}')"
        cond = " or ".join(f"{mow} between {s} and {e - 1}" for s, e in spec.ranges)
        cases.append(f"when '{name}' then {cond}")
    body = "\n        ".join(cases)
    return (
        "-- Minutes since Monday 00:00 in zone tz (isodow: Monday = 1, as Polars' weekday()).\n"
        "create or replace macro tw_minute_of_week(ts, tz) as\n"
        "    (isodow(timezone(tz, ts)) - 1) * 1440 + hour(timezone(tz, ts)) * 60 + minute(timezone(tz, ts));\n"
        "-- Is the market of `calendar` open at instant ts? (weekly hours, no holidays)\n"
        "create or replace macro tw_in_session(calendar, ts) as\n"
        f"    case calendar\n        {body}\n        else null end;\n"
    )
