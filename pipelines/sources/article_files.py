"""Articles from files: TXT, HTML, Markdown with front matter, JSONL, CSV, Parquet → raw articles.

Every format yields `RawArticle`s; `read_article_files` returns them with rejects for files or
rows that cannot be used (with the reason). Times come from the file's own metadata or from
`--published`; a file or row with neither is refused, never stamped with the import time.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import lxml.etree
import lxml.html
import polars as pl
import trafilatura

from pipelines.errors import DataError, first_line
from pipelines.news import RawArticle, strip_html
from pipelines.store import Reject

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".html": "html",
    ".htm": "html",
    ".md": "md",
    ".markdown": "md",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
# Accepted names for each field in JSONL objects, CSV headers and front matter (case-insensitive).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "name", "subject"),
    "url": ("url", "link", "href", "canonical", "canonical_url", "permalink"),
    "summary": ("summary", "text", "body", "content", "description", "abstract", "message"),
    "precision": ("published_precision", "precision", "time_precision"),
    # Most precise first: a bare "date" column is only used when nothing carries a time.
    "published": (
        "published_at",
        "published",
        "publishedat",
        "pubdate",
        "datetime",
        "created_at",
        "created",
        "timestamp",
        "seendate",
        "time",
        "date",
    ),
    "outlet": ("outlet", "source", "publisher", "site", "domain", "author"),
    "guid": ("guid", "id", "tweet_id", "post_id", "uid"),
    "language": ("language", "lang"),
}


def _pick(record: dict, field: str) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for alias in FIELD_ALIASES[field]:
        value = lowered.get(alias)
        if value not in (None, ""):
            return str(value)
    return None


def _letters_ratio(line: str) -> float:
    compact = line.replace(" ", "")
    return sum(ch.isalpha() for ch in compact) / len(compact) if compact else 0.0


def guess_title(lines: list[str]) -> tuple[str | None, int]:
    """Pick the headline among the first lines of a text: (title, its index) or (None, -1).

    A headline has 6–30 words, is mostly letters, and either does not end like a sentence or
    is written in title case; mastheads, price tickers and taglines fail these tests.
    """
    for i, line in enumerate(lines[:12]):
        words = line.split()
        if not 6 <= len(words) <= 30 or _letters_ratio(line) < 0.75:
            continue
        capitalised = sum(w[:1].isupper() for w in words) / len(words)
        if not line.rstrip().endswith((".", "]", ")")) or capitalised >= 0.6:
            return line.strip(), i
    return None, -1


def _first_sentence(text: str, limit: int = 200) -> str:
    match = re.match(r"(.{20,}?[.!?])(\s|$)", text, re.S)
    sentence = match.group(1) if match else text
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "…"


def from_text(text: str, meta: dict | None = None) -> RawArticle:
    """A plain-text article: headline guessed from the first lines, the rest as the text."""
    meta = meta or {}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = _pick(meta, "title")
    body_lines = lines
    if not title:
        title, index = guess_title(lines)
        if title is not None:
            body_lines = lines[index + 1 :]
    body = "\n".join(body_lines)
    if not title and body:
        title = _first_sentence(body)
    return RawArticle(
        title=title,
        url=_pick(meta, "url"),
        summary=_pick(meta, "summary") or body,
        published=_pick(meta, "published"),
        outlet=_pick(meta, "outlet"),
        guid=_pick(meta, "guid"),
        language=_pick(meta, "language"),
    )


WHOLE_PAGE_WORDS = 120


def from_html(text: str) -> RawArticle:
    """An HTML page read by lxml: title from og:title/<h1>/<title>, time from
    article:published_time or <time>, the article text by trafilatura (boilerplate, menus and
    share links left out), else the text of <article>/<main>/<body>."""
    try:
        doc = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return RawArticle(title=None, summary=strip_html(text) or None)
    meta: dict[str, str] = {}
    for tag in doc.iter("meta"):
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        if key and tag.get("content") is not None:
            meta.setdefault(key, tag.get("content").strip())
    canonical = doc.xpath('//link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href')
    h1 = doc.find(".//h1")
    head_title = doc.find(".//title")
    time_tag = doc.xpath("//time/@datetime")
    title = (
        meta.get("og:title")
        or (_clean(h1.text_content()) if h1 is not None else None)
        or (_clean(head_title.text_content()) if head_title is not None else None)
    )
    body = _article_text(text, doc)
    if title and body.startswith(title):
        body = body[len(title) :].lstrip()
    published = (
        meta.get("article:published_time")
        or meta.get("datepublished")
        or meta.get("date")
        or meta.get("dc.date")
        or (time_tag[0] if time_tag else None)
    )
    return RawArticle(
        title=title,
        url=(canonical[0].strip() if canonical else None) or meta.get("og:url"),
        summary=meta.get("og:description") or meta.get("description") or body,
        published=published,
        outlet=meta.get("og:site_name"),
        language=doc.get("lang"),
    )


def _clean(text: str | None) -> str | None:
    return " ".join((text or "").split()) or None


def _article_text(page: str, doc: lxml.html.HtmlElement) -> str:
    """The page's article text: trafilatura's extraction, else the main element's text."""
    # trafilatura is made for whole pages; on a fragment-sized page its fallbacks glue a
    # heading to the first line, so short pages take the main element's text instead.
    if len(doc.text_content().split()) >= WHOLE_PAGE_WORDS:
        extracted = trafilatura.extract(
            page, include_comments=False, include_tables=False, include_links=False
        )
        if extracted:
            return extracted.strip()
    for name in ("article", "main", "body"):
        element = doc.find(f".//{name}")
        if element is not None:
            return strip_html(lxml.html.tostring(element, encoding="unicode"))
    return strip_html(page)


def parse_front_matter(text: str) -> tuple[dict, str]:
    """Split `---` YAML-style (flat `key: value`) or `+++` TOML front matter from a Markdown body."""
    match = re.match(r"\A(---|\+\+\+)\s*\n(.*?)\n\1\s*(?:\n|\Z)", text, re.S)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    separator = ":" if match.group(1) == "---" else "="
    for line in match.group(2).splitlines():
        if not line.strip() or line.lstrip().startswith("#") or separator not in line:
            continue
        key, value = line.split(separator, 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key.strip().lower()] = value
    return meta, text[match.end() :]


def from_markdown(text: str) -> RawArticle:
    """Markdown: front matter for metadata, a leading '# heading' as title, markup removed."""
    meta, body = parse_front_matter(text)
    heading = re.search(r"^#{1,2}\s+(.+)$", body, re.M)
    if heading and not _pick(meta, "title"):
        meta["title"] = heading.group(1).strip()
        body = body[: heading.start()] + body[heading.end() :]
    plain = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", body)  # images
    plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", plain)  # links keep their text
    plain = re.sub(r"^[#>*\-\s]+", "", plain, flags=re.M)
    plain = re.sub(r"[*_`]{1,3}", "", plain)
    return from_text(plain, meta)


def _record_to_raw(record: dict) -> RawArticle:
    return RawArticle(
        title=_pick(record, "title"),
        url=_pick(record, "url"),
        summary=_pick(record, "summary"),
        published=_pick(record, "published"),
        outlet=_pick(record, "outlet"),
        guid=_pick(record, "guid"),
        language=_pick(record, "language"),
        precision=_pick(record, "precision"),
    )


def read_text(path: Path) -> str:
    """File text as UTF-8 (BOM tolerated), else Windows-1252 — the usual mis-declared encoding."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_file(path: Path) -> tuple[list[RawArticle], list[Reject]]:
    """All articles in one file (one for TXT/HTML/MD, one per line or row for JSONL/CSV)."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown article format {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}"
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if kind == "parquet":  # one report per row, columns named like CSV headers
        try:
            rows = pl.read_parquet(path).iter_rows(named=True)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise DataError(f"{path}: cannot read as Parquet: {first_line(exc)}") from exc
        return [_record_to_raw(row) for row in rows], []
    text = read_text(path)
    name = path.name
    if kind == "txt":
        return [from_text(text)], []
    if kind == "html":
        return [from_html(text)], []
    if kind == "md":
        return [from_markdown(text)], []
    raws: list[RawArticle] = []
    rejects: list[Reject] = []
    if kind == "jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                rejects.append(Reject(f"{name} line {n}: not JSON ({exc.msg})", line[:300]))
                continue
            if not isinstance(record, dict):
                rejects.append(Reject(f"{name} line {n}: not a JSON object", line[:300]))
                continue
            raws.append(_record_to_raw(record))
        return raws, rejects
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if not any(a in headers for a in FIELD_ALIASES["title"] + FIELD_ALIASES["summary"]):
        raise DataError(
            f"{path}: CSV needs a title or text column (one of "
            f"{', '.join(FIELD_ALIASES['title'] + FIELD_ALIASES['summary'])}); found {headers}"
        )
    for row in reader:
        raws.append(_record_to_raw(row))
    return raws, rejects


def read_article_files(
    paths: list[Path],
    *,
    published: str | None = None,
    outlet: str | None = None,
    tz: str | None = None,
    dayfirst: bool | None = None,
) -> tuple[list[RawArticle], list[Reject]]:
    """Read many files; `published` and `outlet` override what the files say (outlet falls back to the file name)."""
    raws: list[RawArticle] = []
    rejects: list[Reject] = []
    for path in paths:
        found, bad = read_file(path)
        rejects += bad
        for raw in found:
            if published:
                raw.published = published
            if outlet:
                raw.outlet = outlet
            elif not raw.outlet and FORMATS.get(path.suffix.lower()) in ("txt", "html", "md"):
                # one document per file: the file names the report (a CSV or JSONL of rows
                # does not, or the same row re-imported from another file would change outlet)
                raw.outlet = path.stem
            raw.feed = f"file:{path.name}"
            raw.declared_tz = tz
            raw.dayfirst = dayfirst
            raws.append(raw)
    return raws, rejects
