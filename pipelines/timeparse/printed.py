"""One printed time (an article's, a feed's, a user's option) into a UTC instant with its precision.

Articles and feeds print times in many ways ("Tue, 26 May 2026 14:25 GMT", "January 27, 2025,
11:35 AM ET", "01/28/26 02:23 PM EST", "Apr 17"). The known layouts are read by pattern (fast,
and they name the precision); anything else goes to dateutil. Zones follow pipelines.timeparse.zones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pipelines.errors import DataError
from pipelines.timeparse.zones import declared_zone, zone_of


@dataclass(frozen=True)
class ParsedTime:
    """A publication instant in UTC, how precisely it is known, and why it was not read."""

    at: datetime | None
    precision: str  # second / minute / day / unknown / unknown-zone
    problem: str | None = None  # set when the text was refused (e.g. ambiguous day/month)


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
NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_HAS_DATE = re.compile(r"[^\W\d]{3,}|\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")
_AMPM = {"AM", "PM", "A.M.", "P.M."}
# Two defaults differing in every field: a field equal under both was printed.
_DEFAULTS = (datetime(2001, 1, 1, 0, 0, 0), datetime(2002, 2, 2, 1, 1, 1))


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
    numeric = NUMERIC_DATE.match(text)
    if numeric:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        if first > 12 and second <= 12:
            dayfirst = True
        elif second > 12 and first <= 12:
            dayfirst = False
        elif first != second and dayfirst is None:
            return "ambiguous day/month order (state it with --dayfirst or --monthfirst)"
    from dateutil import parser as dateparser  # here: quick commands never need it (start-up)

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
    zone, why = zone_of(fields["zone"], naive, declared_tz)
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
            naive.replace(tzinfo=declared_zone(declared_tz)).astimezone(UTC), precision
        )
    if precision == "day":
        return ParsedTime(naive.replace(tzinfo=UTC), "day")
    return ParsedTime(naive.replace(tzinfo=UTC), "unknown-zone")


def parse_iso_option(value: str, what: str = "--published") -> datetime:
    """Parse a user-given instant (ISO 8601, zone required unless Z); DataError when unusable."""
    parsed = parse_published(value)
    if parsed.at is None:
        raise DataError(
            f"{what}: cannot read {value!r} as a time; use ISO 8601, e.g. 2025-04-02T20:00:00Z"
        )
    if parsed.precision == "unknown-zone":
        raise DataError(f"{what}: {value!r} has no time zone; add Z or an offset like +02:00")
    return parsed.at
