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
    epoch_unit: str | None = None  # the unit of epoch numbers in this column, when it had any

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


def parse_times(
    column: pl.Series, tz: str = "UTC", *, epoch_unit: str | None = None
) -> ParsedTimes:
    """Parse a column (datetime, date, epoch number or text) to UTC; naive values are taken in `tz`.

    Epoch numbers (as numbers or as digits in text) take their unit from their magnitude; a
    column has one unit (`epoch_unit`, else the most common one here) and a row in another
    unit is refused rather than read 1000× off.
    """
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
        return _from_epoch(column, epoch_unit)
    text = column.cast(pl.Utf8).str.strip_chars()
    numeric = text.str.contains(_EPOCH_TEXT).fill_null(False)
    if numeric.any():
        return _mixed_epoch(text, numeric, tz, epoch_unit)
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


# Epoch units by magnitude: (name, largest absolute value read in it, microseconds per unit).
# 1e11 s is the year 5138 and 1e11 ms is 1973, so the classes cannot be confused for real data.
EPOCH_UNITS = (
    ("seconds", 1e11, 1_000_000.0),
    ("milliseconds", 1e14, 1_000.0),
    ("microseconds", 1e17, 1.0),
    ("nanoseconds", float("inf"), 0.001),
)
_EPOCH_TEXT = r"^-?\d{9,19}(?:\.\d+)?$"  # 8 digits would be a YYYYMMDD date


def _epoch_class(values: pl.Series) -> pl.Series:
    """The index into EPOCH_UNITS of each value (null for null)."""
    mag = values.abs()
    return pl.select(
        pl.when(pl.lit(mag) < EPOCH_UNITS[0][1])
        .then(0)
        .when(pl.lit(mag) < EPOCH_UNITS[1][1])
        .then(1)
        .when(pl.lit(mag) < EPOCH_UNITS[2][1])
        .then(2)
        .when(pl.lit(mag).is_not_null())
        .then(3)
    ).to_series()


def _from_epoch(
    column: pl.Series, epoch_unit: str | None = None, original: pl.Series | None = None
) -> ParsedTimes:
    """Epoch numbers: the column's unit from the magnitude; rows in another unit are refused."""
    values = column.cast(pl.Float64)
    classes = _epoch_class(values)
    names = [u[0] for u in EPOCH_UNITS]
    if epoch_unit is None:
        counts = classes.drop_nulls().value_counts(sort=True)
        unit = counts[0, 0] if counts.height else 0
        epoch_unit = names[unit]
    unit = names.index(epoch_unit)
    micros = (values * EPOCH_UNITS[unit][2]).round(0)
    ok = (classes == unit).fill_null(False)
    micros = micros.zip_with(ok, pl.Series([None] * len(micros), dtype=pl.Float64))
    ts = (
        pl.from_epoch(micros.cast(pl.Int64), time_unit="us")
        .dt.replace_time_zone("UTC")
        .cast(UTC_TS)
    )
    other = pl.Series([names[c] if c is not None else None for c in classes.to_list()])
    problems = pl.select(
        pl.when(pl.lit(values).is_null())
        .then(pl.lit("missing time"))
        .when(~pl.lit(ok))
        .then(
            pl.lit("epoch in ")
            + pl.lit(other)
            + pl.lit(f" where the column uses {epoch_unit}: ")
            + pl.lit((original if original is not None else column).cast(pl.Utf8))
        )
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    ).to_series()
    return ParsedTimes(ts, problems, 0, _flags(ts.len(), False), epoch_unit)


def _mixed_epoch(
    text: pl.Series, numeric: pl.Series, tz: str, epoch_unit: str | None
) -> ParsedTimes:
    """A text column with epoch digits: those rows read as epochs, the others as text times."""
    nulls = pl.Series([None] * len(text), dtype=pl.Utf8)
    digits = text.zip_with(numeric, nulls)
    epochs = _from_epoch(digits.cast(pl.Float64), epoch_unit, original=digits)
    if bool(numeric.all()):
        return epochs
    rest = parse_times(text.zip_with(~numeric, nulls), tz)
    return ParsedTimes(
        epochs.ts.zip_with(numeric, rest.ts),
        epochs.problems.zip_with(numeric, rest.problems),
        rest.naive_rows,
        rest.day_rows & ~numeric,
        epochs.epoch_unit,
    )


def _null_reasons(ts: pl.Series, original: pl.Series) -> pl.Series:
    return pl.select(
        pl.when(pl.lit(ts).is_null())
        .then(pl.lit("missing time"))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    ).to_series()
