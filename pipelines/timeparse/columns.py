"""A column of times (from a file) into UTC instants, vectorised, with a reason for each refused row."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.schemas import UTC_TS
from pipelines.timeparse.printed import NUMERIC_DATE, parse_published
from pipelines.timeparse.zones import resolve_zone

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

_AWARE_TAIL = r"(?:Z|[+-]\d{2}:?\d{2})$"


@dataclass
class ParsedTimes:
    """UTC instants (null where a row failed), why each failed row failed, and what was assumed."""

    ts: pl.Series
    problems: pl.Series  # Utf8, null where the row parsed
    naive_rows: int  # rows that carried no zone and were taken in the given zone
    day_rows: pl.Series  # Boolean: the row was a bare date (precision 'day')
    epoch_unit: str | None = None  # the unit of epoch numbers in this column, when it had any


def parse_times(
    column: pl.Series,
    tz: str = "UTC",
    *,
    epoch_unit: str | None = None,
    dayfirst: bool | None = None,
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
        return _mixed_epoch(text, numeric, tz, epoch_unit, dayfirst)
    # Only rows ending in an offset or Z can match an aware format: trying those formats on
    # the rest costs as much as parsing and finds nothing.
    nothing = pl.Series([None] * n, dtype=pl.Utf8)
    looks_aware = text.str.contains(_AWARE_TAIL).fill_null(False)
    aware = (
        _first_matching(text.zip_with(looks_aware, nothing), AWARE_FORMATS, aware=True)
        if looks_aware.any()
        else None
    )
    rest = text if aware is None else text.zip_with(aware.is_null(), nothing)
    naive = dates = None
    if rest.null_count() < n:  # rows no aware format read: try the naive ones on those only
        naive = _first_matching(rest, NAIVE_FORMATS, aware=False)
        left = rest if naive is None else rest.zip_with(naive.is_null(), nothing)
        if left.null_count() < n:
            dates = _first_matching(left, DATE_FORMATS, aware=False, date=True)
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
    if unparsed.any():
        # Rows in no file format (outlets' "01/28/26 02:23 PM EST"): the one-time parser,
        # row by row, with the same zone rules as feeds.
        result, reasons, day_rows, printed_naive = _printed_times(
            text, unparsed, result, reasons, day_rows, tz, dayfirst
        )
        naive_rows += printed_naive
    return ParsedTimes(result.alias("ts"), reasons.alias("problem"), naive_rows, day_rows)


def _column_day_order(text: pl.Series) -> bool | None:
    """The day/month order a column's numeric dates show (a field above 12), None if none do.

    One column has one order: "26.05.2026" in row 9 says "03.05.2026" in row 1 is the 3rd of
    May. A column showing both orders is left undecided (its ambiguous rows are refused).
    """
    parts = text.str.extract_groups(NUMERIC_DATE.pattern)
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    day_first = bool(((first > 12) & (second <= 12)).any())
    month_first = bool(((second > 12) & (first <= 12)).any())
    if day_first != month_first:
        return day_first
    return None


def _printed_times(
    text: pl.Series,
    rows: pl.Series,
    ts: pl.Series,
    reasons: pl.Series,
    day_rows: pl.Series,
    tz: str,
    dayfirst: bool | None,
) -> tuple[pl.Series, pl.Series, pl.Series, int]:
    """Fill the given rows by `parse_published`; those it cannot read get its reason."""
    # A file's default zone (UTC unless --tz) places naive times; it cannot be what an
    # ambiguous abbreviation like CST means, so only a stated zone resolves those.
    declared = None if resolve_zone(tz) == "UTC" else tz
    if dayfirst is None:
        dayfirst = _column_day_order(text.filter(rows))
    ts_out, why_out, day_out = ts.to_list(), reasons.to_list(), day_rows.to_list()
    naive = 0
    for i in rows.arg_true().to_list():
        value = text[i]
        if value is None or value == "":
            why_out[i] = "unparseable time: (empty)"
            continue
        parsed = parse_published(value, declared, dayfirst=dayfirst)
        if parsed.precision == "unknown-zone" and not parsed.problem:
            parsed = parse_published(value, tz, dayfirst=dayfirst)  # naive: the file's zone
            naive += 1
        if parsed.at is None or parsed.precision == "unknown-zone":
            why = parsed.problem or "unreadable"
            if why.startswith("ambiguous zone"):
                why += "; give --tz"
            why = why.split(": ", 1)[0]
            why_out[i] = f"unparseable time{'' if why == 'unreadable' else f' ({why})'}: {value}"
            continue
        ts_out[i] = parsed.at
        day_out[i] = parsed.precision == "day"
    return (
        pl.Series("ts", ts_out, dtype=UTC_TS),
        pl.Series("problem", why_out, dtype=pl.Utf8),
        pl.Series(day_out, dtype=pl.Boolean),
        naive,
    )


def _first_matching(
    text: pl.Series, formats: tuple[str, ...], *, aware: bool, date: bool = False
) -> pl.Series | None:
    """Coalesce parses over the formats (rows may mix them); None when no format parses anything."""
    out: pl.Series | None = None
    wanted = text.null_count()
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
        if out.null_count() == wanted:  # every row is read: the other formats cannot add any
            break
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
    text: pl.Series, numeric: pl.Series, tz: str, epoch_unit: str | None, dayfirst: bool | None
) -> ParsedTimes:
    """A text column with epoch digits: those rows read as epochs, the others as text times."""
    nulls = pl.Series([None] * len(text), dtype=pl.Utf8)
    digits = text.zip_with(numeric, nulls)
    epochs = _from_epoch(digits.cast(pl.Float64), epoch_unit, original=digits)
    if bool(numeric.all()):
        return epochs
    rest = parse_times(text.zip_with(~numeric, nulls), tz, dayfirst=dayfirst)
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


# ---------------------------------------------------------------------------- one printed time
# Articles and feeds print times in many ways ("Tue, 26 May 2026 14:25 GMT", "January 27, 2025,
# 11:35 AM ET", "01/28/26 02:23 PM EST", "Apr 17"). The known layouts are read by pattern (fast,
# and they name the precision); anything else goes to dateutil. Zones follow our rules below.
