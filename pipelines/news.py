"""News normalisation (pure): canonical URLs, publication times with precision, article ids, text."""

from __future__ import annotations

import email.utils
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from pipelines.errors import DataError
from pipelines.schemas import UTC_TS
from pipelines.store import Reject

# Columns a news source writes. Enrichment columns (sentiment, tags, duplicate_of, enriched_at)
# are left out on purpose: an upsert of a re-fetched item must not reset them.
ARTICLE_COLUMNS: dict[str, pl.DataType] = {
    "article_id": pl.Utf8,
    "outlet": pl.Utf8,
    "url": pl.Utf8,
    "canonical_url": pl.Utf8,
    "guid": pl.Utf8,
    "title": pl.Utf8,
    "summary": pl.Utf8,
    "published_at": UTC_TS,
    "published_precision": pl.Utf8,
    "fetched_at": UTC_TS,
    "feed": pl.Utf8,
    "language": pl.Utf8,
    "text_hash": pl.Utf8,
    "feed_tags": pl.List(pl.Utf8),
}

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(minutes=15)  # clock skew between a publisher and us
MAX_TITLE = 500
MAX_SUMMARY = 4000

# ---------------------------------------------------------------------------- URLs

_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ocid",
    "cmpid",
    "ncid",
    "taid",
    "smid",
    "src",
    "ref",
    "ref_src",
    "sr_share",
    "__twitter_impression",
}
_AMP_SEGMENT = re.compile(r"/(amp|amphtml)(?=/|$)", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"(\.amp|[-_]amp)(?=\.html?$|$)", re.IGNORECASE)


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The URL reduced to what identifies the article: no tracking params, fragment, AMP or trailing slash."""
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("amp.") or host.startswith("m."):
        host = host.split(".", 1)[1]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = _AMP_SEGMENT.sub("", parts.path)
    path = _AMP_SUFFIX.sub("", path)
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_")
        and k.lower() not in _TRACKING_PARAMS
        and k.lower() != "amp"
    ]
    query.sort()
    # http and https name the same article; the scheme is not part of its identity.
    return urlunsplit(("https", netloc, path, urlencode(query), ""))


def article_id(
    canonical: str | None,
    outlet: str | None,
    title: str,
    published_at: datetime | None,
    guid: str | None = None,
) -> str:
    """A stable id: hash of the canonical URL, else of outlet + item id, else outlet + title + time."""
    if canonical:
        basis = "url\x1f" + canonical
    elif guid:
        basis = "\x1f".join(("guid", (outlet or "").strip().lower(), guid.strip()))
    else:
        when = published_at.isoformat() if published_at else ""
        basis = "\x1f".join(("text", (outlet or "").strip().lower(), normalise_text(title), when))
    return "a-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------- text

_TAG = re.compile(r"<[^>]*>|<[a-zA-Z/][^<]*$")
# Inline tags split words and links into pieces (<span>https://</span><span>x.com/a</span>):
# they go without leaving a space.
_INLINE_TAG = re.compile(r"</?(?:a|span|b|i|em|strong|u|small|abbr|mark|sub|sup)\b[^>]*>", re.I)
# Text cut in the middle of its first tag: 'a href="…" rel="nofollow">text</a'.
_DANGLING = re.compile(r"""^\s*[a-zA-Z][\w-]*(?:\s+[\w:-]+=(?:"[^"]*"|'[^']*'))+\s*/?>""")
_SCRIPT = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_WS = re.compile(r"[ \t\r\f\v]+")
_NORM = re.compile(r"[^0-9a-z]+")


def strip_html(text: str | None) -> str:
    """Plain text from an HTML fragment: scripts dropped, tags removed, entities decoded, spaces tidied."""
    if not text:
        return ""
    text = _SCRIPT.sub(" ", text)
    text = re.sub(r"<br\s*/?>|</p\s*>|</div\s*>|</h\d\s*>|</li\s*>", "\n", text, flags=re.I)
    text = _DANGLING.sub(" ", text, count=1)
    text = _INLINE_TAG.sub("", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(html.unescape(text))
    text = text.replace("\u00a0", " ")
    lines = [_WS.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


# Characters no title needs: controls (except newline and tab) and format characters such as
# the bidi overrides (U+202E shows "gpj.exe" as "exe.jpg"); ZWJ stays, emoji are built with it.
_KEPT_FORMAT = frozenset("\n\t\u200d")


def strip_controls(text: str | None) -> str | None:
    """The text without control and invisible format characters (bidi overrides, zero-width…)."""
    if not text:
        return text
    return "".join(
        ch
        for ch in text
        if ch in _KEPT_FORMAT or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs")
    )


def web_url(url: object, base: str | None = None) -> str | None:
    """The link resolved against `base` if it is an http(s) URL with a host, else None.

    `javascript:`, `data:`, `file:` and other schemes are never stored: they would be live links
    in the dashboard.
    """
    if not isinstance(url, str) or not url.strip():
        return None
    full = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(full)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return strip_controls(full)


def normalise_text(text: str | None) -> str:
    """Lowercase ASCII-folded words joined by single spaces (for hashing and comparing)."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NORM.sub(" ", folded.lower()).strip()


def text_hash(title: str | None, summary: str | None) -> str:
    """Hash of the normalised title plus the start of the text: equal for near-identical copies."""
    basis = normalise_text(title) + "|" + normalise_text(summary)[:600]
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def clip(text: str | None, limit: int) -> str | None:
    """Cut text to `limit` characters at a word boundary, marking the cut with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut).rstrip() + "…"


# ---------------------------------------------------------------------------- times


@dataclass(frozen=True)
class ParsedTime:
    """A publication instant in UTC and how precisely it is known."""

    at: datetime | None
    precision: str  # second / minute / day / unknown / unknown-zone


# Named zones seen in feeds; email.utils knows only UT/GMT and the US ones.
_NAMED_ZONES = {
    "UT": 0,
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": 60,
    "IST": 330,
    "CET": 60,
    "MET": 60,
    "CEST": 120,
    "MEST": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "JST": 540,
    "KST": 540,
    "HKT": 480,
    "SGT": 480,
    "AEST": 600,
    "AEDT": 660,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "HST": -600,
    "BRT": -180,
}
# Month and weekday names in the languages our feeds use, mapped to English.
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
_RFC_LIKE = re.compile(
    r"^\s*(?:[^\W\d]+\.?,?\s+)?(?P<day>\d{1,2})[\s\-/.]+(?P<mon>[^\W\d]+)\.?[\s\-/.]+(?P<year>\d{2,4})"
    r"(?:[\sT]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?\s*$"
)
_ISO = re.compile(
    r"^\s*(?P<year>\d{4})-?(?P<mon>\d{2})-?(?P<day>\d{2})"
    r"(?:[T\s]+(?P<h>\d{2}):?(?P<m>\d{2})(?::?(?P<s>\d{2})(?P<frac>[.,]\d+)?)?)?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{2,5})?\s*$"
)
_US_DATE = re.compile(
    r"^\s*(?:[^\W\d]+,?\s+)?(?P<mon>[^\W\d]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})"
    r"(?:,?\s+(?:at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?\s*$"
)


def _zone_offset(zone: str | None) -> timedelta | None | bool:
    """Offset of a zone token; None when absent; False when present but unknown."""
    if zone is None or zone == "":
        return None
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        if len(digits) == 2:
            digits += "00"
        if not digits.isdigit() or len(digits) != 4:
            return False
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 14 or minutes > 59:
            return False
        sign = -1 if zone[0] == "-" else 1
        return sign * timedelta(hours=hours, minutes=minutes)
    minutes = _NAMED_ZONES.get(zone.upper())
    if minutes is None:
        return False
    return timedelta(minutes=minutes)


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


def parse_published(
    value: str | datetime | date | None, declared_tz: str | None = None
) -> ParsedTime:
    """Parse a publication time into UTC with its precision.

    A time without a zone takes `declared_tz` (the feed's declared zone); without one it is
    kept as written, labelled 'unknown-zone' — never silently taken as UTC.
    """
    if value is None:
        return ParsedTime(None, "unknown")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _localise(value, declared_tz, "second")
        return ParsedTime(value.astimezone(UTC), "second")
    if isinstance(value, date):
        return _localise(datetime(value.year, value.month, value.day), declared_tz, "day")
    text = str(value).strip()
    if not text:
        return ParsedTime(None, "unknown")
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):  # epoch seconds or milliseconds
        seconds = float(text) / (1000 if len(text.split(".")[0]) > 11 else 1)
        return ParsedTime(datetime.fromtimestamp(seconds, UTC), "second")
    fields = _fields_from(text)
    if fields is None:
        try:  # last resort: the RFC 2822 parser of the standard library
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return ParsedTime(None, "unknown")
        if parsed.tzinfo is None:
            return _localise(parsed, declared_tz, "second")
        return ParsedTime(parsed.astimezone(UTC), "second")
    offset = _zone_offset(fields["zone"])
    if offset is False:
        return ParsedTime(None, "unknown")
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
        return ParsedTime(None, "unknown")
    if fields["hour"] is None:
        precision = "day"
    elif fields["second"] is None:
        precision = "minute"
    else:
        precision = "second"
    if offset is None:
        return _localise(naive, declared_tz, precision)
    return ParsedTime((naive - offset).replace(tzinfo=UTC), precision)


def _localise(naive: datetime, declared_tz: str | None, precision: str) -> ParsedTime:
    if declared_tz:
        try:
            zone = ZoneInfo(declared_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DataError(f"unknown time zone {declared_tz!r} (use an IANA name)") from exc
        return ParsedTime(naive.replace(tzinfo=zone).astimezone(UTC), precision)
    if precision == "day":
        return ParsedTime(naive.replace(tzinfo=UTC), "day")
    return ParsedTime(naive.replace(tzinfo=UTC), "unknown-zone")


def check_time(at: datetime | None, now: datetime) -> str | None:
    """Why a publication time is refused (future, before 1990), or None when it is plausible."""
    if at is None:
        return None
    if at > now + FUTURE_SLACK:
        return f"published in the future ({at.isoformat()})"
    if at < EARLIEST:
        return f"published before 1990 ({at.isoformat()})"
    return None


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


# ---------------------------------------------------------------------------- records → frame


@dataclass
class RawArticle:
    """One report as a source read it, before normalisation."""

    title: str | None
    url: str | None = None
    summary: str | None = None
    published: str | datetime | None = None
    outlet: str | None = None
    guid: str | None = None
    language: str | None = None
    feed: str | None = None
    base_url: str | None = None  # resolves relative links
    declared_tz: str | None = None
    fallback_at: datetime | None = None  # used (precision 'unknown') when no date is given
    tags: tuple[str, ...] = ()  # the feed's declared tags


def normalise_articles(
    raws: list[RawArticle], fetched_at: datetime, *, now: datetime | None = None
) -> tuple[pl.DataFrame, list[Reject]]:
    """Turn raw reports into an articles frame plus rejects (no title, bad time, duplicates)."""
    now = now or fetched_at
    rows: list[dict] = []
    rejects: list[Reject] = []
    seen_ids: set[str] = set()
    seen_guids: set[str] = set()
    for raw in raws:
        title = clip(strip_controls(strip_html(raw.title).replace("\n", " ")), MAX_TITLE) or ""
        summary = clip(strip_controls(strip_html(raw.summary)), MAX_SUMMARY) or None
        ident = f"{raw.outlet or ''} {raw.guid or raw.url or ''} {title[:80]!r}".strip()
        if not title:
            if not summary:
                rejects.append(Reject("no title and no text", ident))
                continue
            title = clip(summary.split("\n")[0], 200) or ""
        if raw.guid and raw.guid in seen_guids:
            rejects.append(Reject(f"duplicate guid {raw.guid!r} in the same feed", ident))
            continue
        parsed = parse_published(raw.published, raw.declared_tz)
        unreadable = parsed.at is None and raw.published not in (None, "")
        if unreadable and raw.fallback_at is None:
            rejects.append(Reject(f"unreadable date {str(raw.published)[:60]!r}", ident))
            continue
        problem = check_time(parsed.at, now)
        if problem:
            rejects.append(Reject(problem, ident))
            continue
        at, precision = parsed.at, parsed.precision
        if at is None:
            if raw.fallback_at is None:
                rejects.append(Reject("no publication date", ident))
                continue
            at, precision = raw.fallback_at, "unknown"
        canon = canonical_url(raw.url, raw.base_url)
        url = web_url(raw.url, raw.base_url)
        ident_id = article_id(canon, raw.outlet, title, at, raw.guid)
        if ident_id in seen_ids:
            rejects.append(
                Reject("duplicate article (same canonical URL) in the same batch", ident)
            )
            continue
        seen_ids.add(ident_id)
        if raw.guid:
            seen_guids.add(raw.guid)
        rows.append(
            {
                "article_id": ident_id,
                "outlet": strip_controls(raw.outlet),
                "url": url,
                "canonical_url": canon,
                "guid": raw.guid,
                "title": title,
                "summary": summary,
                "published_at": at,
                "published_precision": precision,
                "fetched_at": fetched_at,
                "feed": raw.feed,
                "language": raw.language,
                "text_hash": text_hash(title, summary),
                "feed_tags": list(raw.tags) or None,
            }
        )
    return pl.DataFrame(rows, schema=ARTICLE_COLUMNS), rejects


def utc_offset_zone(minutes: int) -> timezone:
    """A fixed-offset tzinfo (helper for tests and callers that know an offset)."""
    return timezone(timedelta(minutes=minutes))
