"""Turn a column of times in any common file format into UTC instants, row by row, with reasons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from pipelines.errors import DataError

UTC_TS = pl.Datetime("us", "UTC")

# Formats with an explicit offset first (they are unambiguous), then naive ones.
AWARE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%z",
)
NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y%m%d %H:%M:%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


@dataclass
class ParsedTimes:
    """UTC instants (null where a row failed), why each failed row failed, and what was assumed."""

    ts: pl.Series
    problems: pl.Series  # Utf8, null where the row parsed
    naive_rows: int  # rows that carried no zone and were taken in the given zone
    day_rows: pl.Series  # Boolean: the row was a bare date (precision 'day')

    @property
    def date_only(self) -> bool:
        """Every row was a bare date."""
        return bool(self.day_rows.len()) and bool(self.day_rows.all())


def resolve_zone(tz: str) -> str:
    """An IANA zone name for `tz`; fixed offsets like '+02:00' or 'UTC+2' become Etc/GMT∓N."""
    match = _OFFSET.match(tz.strip())
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if minutes:
            raise DataError(
                f"time zone {tz!r}: offsets with minutes are not supported; use an IANA name"
            )
        if hours == 0:
            return "UTC"
        # POSIX Etc/ zones have inverted signs: UTC+2 is Etc/GMT-2.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(
            f"unknown time zone {tz!r}; use an IANA name such as America/New_York, or an offset like +02:00"
        ) from None
    return tz


def parse_times(column: pl.Series, tz: str = "UTC") -> ParsedTimes:
    """Parse a column (datetime, date, epoch number or text) to UTC; naive values are taken in `tz`."""
    zone = resolve_zone(tz)
    n = column.len()
    dtype = column.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            ts = column.dt.convert_time_zone("UTC").cast(UTC_TS)
            return ParsedTimes(ts, _null_reasons(ts, column), 0, _flags(n, False))
        return _localise(column.cast(pl.Datetime("us")), zone, column, _flags(n, False))
    if dtype == pl.Date:
        return _localise(column.cast(pl.Datetime("us")), zone, column, _flags(n, True))
    if dtype.is_numeric():
        return _from_epoch(column)
    text = column.cast(pl.Utf8).str.strip_chars()
    aware = _first_matching(text, AWARE_FORMATS, aware=True)
    naive = _first_matching(text, NAIVE_FORMATS, aware=False)
    dates = _first_matching(text, DATE_FORMATS, aware=False, date=True)
    naive_all = naive if dates is None else (dates if naive is None else naive.fill_null(dates))
    result = aware if aware is not None else pl.Series("ts", [None] * n, dtype=UTC_TS)
    naive_rows = 0
    day_rows = _flags(n, False)
    if dates is not None:
        # a bare date: no aware or naive date-time format matched, the date format did
        timed = result.is_not_null() | (
            naive.is_not_null() if naive is not None else _flags(n, False)
        )
        day_rows = dates.is_not_null() & ~timed
    if naive_all is not None:
        still = result.is_null() & naive_all.is_not_null()
        naive_rows = int(still.sum())
        if naive_rows:
            localised = _localise(naive_all, zone, text, day_rows)
            result = result.zip_with(~still, localised.ts)
            reasons = localised.problems.zip_with(still, pl.Series([None] * n, dtype=pl.Utf8))
        else:
            reasons = pl.Series([None] * n, dtype=pl.Utf8)
    else:
        reasons = pl.Series([None] * n, dtype=pl.Utf8)
    unparsed = result.is_null() & reasons.is_null()
    reasons = pl.select(
        pl.when(pl.lit(unparsed))
        .then(pl.lit("unparseable time: ") + pl.lit(text).fill_null("(empty)"))
        .otherwise(pl.lit(reasons))
    ).to_series()
    return ParsedTimes(result.alias("ts"), reasons.alias("problem"), naive_rows, day_rows)


def _first_matching(
    text: pl.Series, formats: tuple[str, ...], *, aware: bool, date: bool = False
) -> pl.Series | None:
    """Coalesce parses over the formats (rows may mix them); None when no format parses anything."""
    out: pl.Series | None = None
    for fmt in formats:
        try:
            if date:
                parsed = text.str.to_date(fmt, strict=False, exact=True).cast(pl.Datetime("us"))
            elif aware:
                parsed = text.str.to_datetime(
                    fmt, strict=False, exact=True, time_unit="us", time_zone="UTC"
                )
            else:
                parsed = text.str.to_datetime(fmt, strict=False, exact=True, time_unit="us")
        except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
            continue
        if parsed.is_null().all():
            continue
        out = parsed if out is None else out.fill_null(parsed)
    return out


def _flags(n: int, value: bool) -> pl.Series:
    return pl.Series([value] * n, dtype=pl.Boolean)


def _localise(naive: pl.Series, zone: str, original: pl.Series, day_rows: pl.Series) -> ParsedTimes:
    """Take naive wall-clock times in `zone`; ambiguous or non-existent local times become reasons."""
    base = naive.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")
    ts = base.dt.convert_time_zone("UTC").cast(UTC_TS)
    problems = pl.select(
        pl.when(pl.lit(naive).is_null())
        .then(pl.lit("unparseable time: ") + pl.lit(original.cast(pl.Utf8)).fill_null("(empty)"))
        .when(pl.lit(ts).is_null())
        .then(
            pl.lit(f"ambiguous or non-existent local time in {zone} (daylight-saving change): ")
            + pl.lit(original.cast(pl.Utf8))
        )
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    ).to_series()
    return ParsedTimes(ts, problems, int(naive.is_not_null().sum()), day_rows)


def _from_epoch(column: pl.Series) -> ParsedTimes:
    """Epoch numbers: the unit is read from the magnitude (seconds, milliseconds, microseconds)."""
    values = column.cast(pl.Float64)
    biggest = values.abs().max() or 0
    if biggest < 1e11:
        unit = 1_000_000
    elif biggest < 1e14:
        unit = 1_000
    else:
        unit = 1
    micros = (values * unit).round(0).cast(pl.Int64)
    ts = pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC").cast(UTC_TS)
    return ParsedTimes(ts, _null_reasons(ts, column), 0, _flags(ts.len(), False))


def _null_reasons(ts: pl.Series, original: pl.Series) -> pl.Series:
    return pl.select(
        pl.when(pl.lit(ts).is_null())
        .then(pl.lit("missing time"))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    ).to_series()
