"""Time zones as files and outlets give them: IANA names, fixed offsets, printed abbreviations."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.errors import DataError

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


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


def zone_of(token: str | None, naive: datetime, declared: str | None) -> tuple[Any, str | None]:
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
            return declared_zone(declared), None
        return None, f"ambiguous zone {upper} ({AMBIGUOUS_ZONES[upper]})"
    known = ZONE_ABBREVIATIONS.get(upper)
    if known is None:
        return None, f"unknown zone {token!r}"
    if isinstance(known, str):
        return ZoneInfo(known), None
    return timezone(timedelta(minutes=known)), None


def declared_zone(declared: str) -> ZoneInfo:
    """The ZoneInfo of a declared zone (a feed's `tz`, --tz); DataError when unknown."""
    try:
        return ZoneInfo(resolve_zone(declared))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown time zone {declared!r} (use an IANA name)") from exc
