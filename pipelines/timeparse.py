"""Times into UTC instants: a column of a file (vectorised, row by row reasons) or one printed time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from dateutil import parser as dateparser

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

_AWARE_TAIL = r"(?:Z|[+-]\d{2}:?\d{2})$"
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
    parts = text.str.extract_groups(_NUMERIC_DATE.pattern)
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


@dataclass(frozen=True)
class ParsedTime:
    """A publication instant in UTC, how precisely it is known, and why it was not read."""

    at: datetime | None
    precision: str  # second / minute / day / unknown / unknown-zone
    problem: str | None = None  # set when the text was refused (e.g. ambiguous day/month)


# Abbreviations with one meaning: fixed offsets in minutes, or a zone whose offset follows DST
# (a US outlet's "ET" is EST in winter and EDT in summer).
ZONE_ABBREVIATIONS: dict[str, int | str] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "CET": 60, "MET": 60,
    "CEST": 120, "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "JST": 540, "KST": 540,
    "HKT": 480, "SGT": 480, "AWST": 480, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
    "EST": -300, "EDT": -240, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600, "BRT": -180, "ART": -180,
    "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}  # fmt: skip
# Abbreviations with several meanings: resolved only by a declared zone (a feed's `tz`, --tz),
# else the time is kept as printed with precision 'unknown-zone' — never guessed.
AMBIGUOUS_ZONES: dict[str, str] = {
    "CST": "US Central UTC−6, China UTC+8 or Cuba UTC−5",
    "CDT": "US Central UTC−5 or Cuba UTC−4",
    "IST": "India UTC+5:30, Ireland UTC+1 or Israel UTC+2",
    "BST": "British Summer Time UTC+1 or Bangladesh UTC+6",
    "AST": "Atlantic UTC−4 or Arabia UTC+3",
    "GST": "Gulf UTC+4 or South Georgia UTC−2",
    "SST": "Samoa UTC−11 or Singapore UTC+8",
}
# Month names in the languages our feeds use, mapped to their number.
_MONTHS = {
    "jan": 1, "janv": 1, "ene": 1, "jän": 1, "jaen": 1,
    "feb": 2, "fev": 2, "fév": 2, "févr": 2, "fevr": 2,
    "mar": 3, "mär": 3, "mrz": 3, "mars": 3,
    "apr": 4, "abr": 4, "avr": 4,
    "may": 5, "mai": 5, "mag": 5,
    "jun": 6, "juin": 6, "giu": 6,
    "jul": 7, "juil": 7, "lug": 7,
    "aug": 8, "ago": 8, "aou": 8, "aoû": 8,
    "sep": 9, "sept": 9, "set": 9,
    "oct": 10, "out": 10, "okt": 10, "ott": 10,
    "nov": 11,
    "dec": 12, "dez": 12, "dic": 12, "déc": 12,
}  # fmt: skip
_ZONE = r"(?P<zone>[+-]\d{2}:?\d{2}|\(?[A-Za-z]{1,5}\)?)"
_RFC_LIKE = re.compile(
    r"^\s*(?:[^\W\d]+\.?,?\s+)?(?P<day>\d{1,2})[\s\-/.]+(?P<mon>[^\W\d]+)\.?[\s\-/.]+(?P<year>\d{2,4})"
    r"(?:,?[\sT]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    rf"\s*{_ZONE}?\s*$"
)
_ISO = re.compile(
    r"^\s*(?P<year>\d{4})-?(?P<mon>\d{2})-?(?P<day>\d{2})"
    r"(?:[T\s]+(?P<h>\d{2}):?(?P<m>\d{2})(?::?(?P<s>\d{2})(?P<frac>[.,]\d+)?)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|\(?[A-Za-z]{2,5}\)?)?\s*$"
)
_US_DATE = re.compile(
    r"^\s*(?:[^\W\d]+,?\s+)?(?P<mon>[^\W\d]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})"
    r"(?:,?\s+(?:at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    rf"\s*{_ZONE}?\s*$"
)
# What dateutil gets: the zone token cut off the end first (after a clock time only, so the
# "-05" of "2025-06-05" is never read as an offset).
_TRAILING_ZONE = re.compile(
    r"^(?P<body>.*\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?)\s*"
    r"(?P<zone>(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?|\(?[A-Za-z]{1,5}\)?)\s*$"
)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_HAS_DATE = re.compile(r"[^\W\d]{3,}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")
_AMPM = {"AM", "PM", "A.M.", "P.M."}
# Two defaults differing in every field: a field equal under both was printed.
_DEFAULTS = (datetime(2001, 1, 1, 0, 0, 0), datetime(2002, 2, 2, 1, 1, 1))


def _zone_of(token: str | None, naive: datetime, declared: str | None) -> tuple[Any, str | None]:
    """The tzinfo a printed zone token stands for, or (None, why) when it cannot be used.

    Returns (None, None) when there is no token. An ambiguous abbreviation takes the declared
    zone when there is one (a feed's `tz` wins) and is reported otherwise.
    """
    if not token:
        return None, None
    token = token.strip("() ")
    upper = token.upper().replace(" ", "")
    for prefix in ("UTC", "GMT"):
        if upper.startswith(prefix) and len(upper) > len(prefix) and upper[len(prefix)] in "+-":
            upper = upper[len(prefix) :]
    if upper[:1] in "+-":
        digits = upper[1:].replace(":", "")
        if len(digits) <= 2:
            digits = digits.zfill(2) + "00"
        if not digits.isdigit() or len(digits) != 4:
            return None, f"unreadable offset {token!r}"
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 14 or minutes > 59:
            return None, f"unreadable offset {token!r}"
        sign = -1 if upper[0] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes)), None
    if upper in AMBIGUOUS_ZONES:
        if declared:
            return _declared_zone(declared), None
        return None, f"ambiguous zone {upper} ({AMBIGUOUS_ZONES[upper]})"
    known = ZONE_ABBREVIATIONS.get(upper)
    if known is None:
        return None, f"unknown zone {token!r}"
    if isinstance(known, str):
        return ZoneInfo(known), None
    return timezone(timedelta(minutes=known)), None


def _declared_zone(declared: str) -> ZoneInfo:
    try:
        return ZoneInfo(resolve_zone(declared))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown time zone {declared!r} (use an IANA name)") from exc


def _month_number(name: str) -> int | None:
    key = name.lower().strip(".")
    if key in _MONTHS:
        return _MONTHS[key]
    for length in (4, 3):
        if key[:length] in _MONTHS:
            return _MONTHS[key[:length]]
    return None


def _fields_from(text: str) -> dict | None:
    """Split a date string into year/month/day/h/m/s/zone using the known layouts."""
    for pattern in (_ISO, _RFC_LIKE, _US_DATE):
        match = pattern.match(text)
        if not match:
            continue
        g = match.groupdict()
        month = int(g["mon"]) if g["mon"].isdigit() else _month_number(g["mon"])
        if month is None:
            continue
        year = int(g["year"])
        if year < 100:  # RFC 822 two-digit years
            year += 2000 if year < 50 else 1900
        hour = int(g["h"]) if g.get("h") else None
        ampm = (g.get("ampm") or "").lower().replace(".", "")
        if hour is not None and ampm:
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        return {
            "year": year,
            "month": month,
            "day": int(g["day"]),
            "hour": hour,
            "minute": int(g["m"]) if g.get("m") else None,
            "second": int(g["s"]) if g.get("s") else None,
            "micro": int(round(float(g["frac"].replace(",", ".")) * 1e6)) if g.get("frac") else 0,
            "zone": g.get("zone"),
        }
    return None


def _dateutil_fields(text: str, dayfirst: bool | None, now: datetime) -> dict | str:
    """Fields of a time in a layout we have no pattern for, via dateutil; a str says why not."""
    if not _HAS_DATE.search(text):
        return "no date in it"
    zone = None
    match = _TRAILING_ZONE.match(text)
    if match and match.group("zone").strip("() ").upper() not in _AMPM:
        text, zone = match.group("body"), match.group("zone")
    numeric = _NUMERIC_DATE.match(text)
    if numeric:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        if first > 12 and second <= 12:
            dayfirst = True
        elif second > 12 and first <= 12:
            dayfirst = False
        elif first != second and dayfirst is None:
            return "ambiguous day/month order (state it with --dayfirst or --monthfirst)"
    try:
        a, b = (dateparser.parse(text, default=d, dayfirst=bool(dayfirst)) for d in _DEFAULTS)
    except (ValueError, OverflowError, TypeError):
        return "unreadable"
    if a.tzinfo is not None or b.tzinfo is not None:
        return "unreadable"  # a zone dateutil found inside the text: not one of ours
    if a.day != b.day or a.month != b.month:
        return "no day in it"
    year = a.year if a.year == b.year else None
    if year is None:  # "Apr 17": the latest such day that is not in the future
        year = now.year
        if datetime(year, a.month, min(a.day, 28)) > now.replace(tzinfo=None) + timedelta(days=1):
            year -= 1
    timed = a.hour == b.hour and a.minute == b.minute
    return {
        "year": year,
        "month": a.month,
        "day": a.day,
        "hour": a.hour if timed else None,
        "minute": a.minute if timed else None,
        "second": a.second if timed and a.second == b.second else None,
        "micro": a.microsecond if a.microsecond == b.microsecond else 0,
        "zone": zone,
    }


def parse_published(
    value: str | datetime | date | None,
    declared_tz: str | None = None,
    *,
    dayfirst: bool | None = None,
    now: datetime | None = None,
) -> ParsedTime:
    """Parse a printed time into UTC with its precision (the one parser for single times).

    A printed zone is used (named, offset, `(ET)`); an ambiguous abbreviation (CST, IST…) and a
    time without a zone take `declared_tz` (a feed's zone, --tz); without one the wall time is
    kept, labelled 'unknown-zone' — never silently taken as UTC. Numeric dates whose day and
    month could be swapped are refused unless `dayfirst` says the order. A date without a year
    takes the latest such day not after `now`.
    """
    if value is None:
        return ParsedTime(None, "unknown")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _localise_one(value, declared_tz, "second")
        return ParsedTime(value.astimezone(UTC), "second")
    if isinstance(value, date):
        return _localise_one(datetime(value.year, value.month, value.day), declared_tz, "day")
    text = str(value).strip()
    if not text:
        return ParsedTime(None, "unknown")
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):  # epoch seconds or milliseconds
        seconds = float(text) / (1000 if len(text.split(".")[0]) > 11 else 1)
        return ParsedTime(datetime.fromtimestamp(seconds, UTC), "second")
    fields = _fields_from(text)
    if fields is None:
        found = _dateutil_fields(text, dayfirst, now or datetime.now(UTC))
        if isinstance(found, str):
            return ParsedTime(None, "unknown", f"{found}: {text[:60]!r}")
        fields = found
    try:
        naive = datetime(
            fields["year"],
            fields["month"],
            fields["day"],
            fields["hour"] or 0,
            fields["minute"] or 0,
            fields["second"] or 0,
            fields["micro"],
        )
    except ValueError:
        return ParsedTime(None, "unknown", f"not a real date: {text[:60]!r}")
    if fields["hour"] is None:
        precision = "day"
    elif fields["second"] is None:
        precision = "minute"
    else:
        precision = "second"
    zone, why = _zone_of(fields["zone"], naive, declared_tz)
    if why is not None:
        if why.startswith("ambiguous"):
            return ParsedTime(naive.replace(tzinfo=UTC), "unknown-zone", why)
        return ParsedTime(None, "unknown", f"{why}: {text[:60]!r}")
    if zone is None:
        return _localise_one(naive, declared_tz, precision)
    return ParsedTime(naive.replace(tzinfo=zone).astimezone(UTC), precision)


def _localise_one(naive: datetime, declared_tz: str | None, precision: str) -> ParsedTime:
    """A naive time in the declared zone; without one, kept as written and labelled."""
    if declared_tz:
        return ParsedTime(
            naive.replace(tzinfo=_declared_zone(declared_tz)).astimezone(UTC), precision
        )
    if precision == "day":
        return ParsedTime(naive.replace(tzinfo=UTC), "day")
    return ParsedTime(naive.replace(tzinfo=UTC), "unknown-zone")
