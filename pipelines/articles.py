"""Article normalisation (pure): raw reports → the articles frame — canonical URLs, ids, text, times.

Every news source (feeds, GDELT, files) and enrichment read their articles through here."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import polars as pl
from w3lib.url import canonicalize_url

from pipelines.schemas import UTC_TS
from pipelines.store import Reject
from pipelines.timeparse import parse_published

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
    """The URL reduced to what identifies the article.

    w3lib normalises the spelling (percent-encoding as `%7E` vs `~`, IDN hosts to punycode,
    dot segments, query order); our rules then drop trackers, fragments, AMP forms, `www.`/`m.`
    hosts, default ports, repeated and trailing slashes, and the scheme.
    """
    if url is None:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        if base:
            url = urljoin(base, url)
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            return None
        parts = urlsplit(canonicalize_url(url, keep_fragments=False))
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:  # a malformed host or port
        return None
    if not host:
        return None
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("amp.") or host.startswith("m."):
        host = host.split(".", 1)[1]
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = _AMP_SEGMENT.sub("", parts.path)
    path = _AMP_SUFFIX.sub("", path)
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    # The query is already encoded and sorted by w3lib: filter its pairs without re-encoding.
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracker(unquote(pair.split("=", 1)[0]).lower())
    )
    # http and https name the same article; the scheme is not part of its identity.
    return urlunsplit(("https", netloc, path, query, ""))


def _is_tracker(key: str) -> bool:
    return key.startswith("utm_") or key in _TRACKING_PARAMS or key == "amp"


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

# Text cut in the middle of its first tag: 'a href="…" rel="nofollow">text</a'. No parser can
# know that the start is a tag, so this one case is cut by pattern before parsing.
_DANGLING = re.compile(r"""^\s*[a-zA-Z][\w-]*(?:\s+[\w:-]+=(?:"[^"]*"|'[^']*'))+\s*/?>""")
_DROPPED = ("script", "style", "noscript", "template", "iframe", "svg")
# Tags that end a line of text; the others (a, span, b…) sit inside words and links.
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "figure",
        "figcaption",
        "dd",
        "dt",
        "hr",
    ]
)
_WS = re.compile(r"[ \t\r\f\v]+")
_NORM = re.compile(r"[^0-9a-z]+")


def strip_html(text: str | None) -> str:
    """Plain text from an HTML fragment, read by lxml's HTML parser.

    Scripts, styles and comments are dropped, attribute values never leak, entities are
    decoded exactly once, block elements end lines, inline ones keep words and links whole.
    """
    if not text:
        return ""
    text = _DANGLING.sub(" ", text, count=1)
    if "<" in text or "&" in text:
        text = _html_text(text)
    text = text.replace("\u00a0", " ")
    lines = [_WS.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _html_text(fragment: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):  # nothing parseable (e.g. only a comment)
        return ""
    for node in list(root.iter(lxml.etree.Comment, *_DROPPED)):
        node.drop_tree()  # keeps the text after it
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()


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
# Printed times are read by pipelines.timeparse.parse_published; these are the articles' rules.


_FINENESS = {"second": 0, "minute": 1, "day": 2}


def coarser_precision(parsed: str, declared: str | None) -> str:
    """The precision a time is stored with: the coarser of what was parsed and what the source says.

    A file that says `day` for '2025-04-09T12:00:00Z' means the day; it cannot make a date
    finer than it was printed, and 'unknown'/'unknown-zone' stay as they are.
    """
    declared = (declared or "").strip().lower()
    if parsed not in _FINENESS or declared not in _FINENESS:
        return parsed
    return declared if _FINENESS[declared] > _FINENESS[parsed] else parsed


def check_time(at: datetime | None, now: datetime) -> str | None:
    """Why a publication time is refused (future, before 1990), or None when it is plausible."""
    if at is None:
        return None
    if at > now + FUTURE_SLACK:
        return f"published in the future ({at.isoformat()})"
    if at < EARLIEST:
        return f"published before 1990 ({at.isoformat()})"
    return None


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
    dayfirst: bool | None = None  # the order of numeric dates, when the source states it
    precision: str | None = None  # what the source says its time is precise to
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
        parsed = parse_published(raw.published, raw.declared_tz, dayfirst=raw.dayfirst, now=now)
        unreadable = parsed.at is None and raw.published not in (None, "")
        if unreadable and raw.fallback_at is None:
            why = (parsed.problem or "unreadable").split(": ", 1)[0]
            detail = "" if why == "unreadable" else f" ({why})"
            rejects.append(Reject(f"unreadable date {str(raw.published)[:60]!r}{detail}", ident))
            continue
        problem = check_time(parsed.at, now)
        if problem:
            rejects.append(Reject(problem, ident))
            continue
        at, precision = parsed.at, coarser_precision(parsed.precision, raw.precision)
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
