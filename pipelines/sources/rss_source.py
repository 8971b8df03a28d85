"""RSS 0.9x/1.0/2.0 and Atom feeds from [[feeds]]: conditional GET, feedparser, one Batch per feed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from pipelines.articles import RawArticle, normalise_articles
from pipelines.config import Config, Section
from pipelines.errors import SourceError, first_line
from pipelines.sources import Batch, State
from pipelines.sources.http import FetchResult, HttpClient
from pipelines.store import Reject

FEED_KEYS = (
    "url", "outlet", "tz", "tags", "enabled", "name", "timeout_seconds", "language", "dayfirst",
)  # fmt: skip


@dataclass(frozen=True)
class Feed:
    """One configured feed."""

    url: str
    outlet: str | None = None
    tz: str | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    timeout: float = 20.0
    language: str | None = None
    dayfirst: bool | None = None  # the order of numeric dates this feed prints, when stated


def feeds_from_config(config: Config) -> list[Feed]:
    """Validate [[feeds]] (url required; tz an IANA zone for naive dates)."""
    raw = config.section("feeds").data
    items = raw.get("items", []) if "items" in raw else [raw] if raw else []
    feeds = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise config.section("feeds").fail(f"[{n}]", "must be a table ([[feeds]])")
        sec = Section(item, f"feeds[{n}]", config.file)
        sec.check_keys(FEED_KEYS)
        url = sec.get("url", str)
        if not url.startswith(("http://", "https://")):
            raise sec.fail("url", f"{url!r} must start with http:// or https://")
        tz = sec.zone("tz", None) if sec.get("tz", str, None) else None  # "": none
        timeout = sec.get("timeout_seconds", float, 20.0)
        if timeout <= 0:
            raise sec.fail("timeout_seconds", "must be positive")
        feeds.append(
            Feed(
                url=url,
                outlet=sec.get("outlet", str, None) or sec.get("name", str, None),
                tz=tz,
                tags=tuple(sec.str_list("tags")),
                enabled=sec.get("enabled", bool, True),
                timeout=timeout,
                language=sec.get("language", str, None),
                dayfirst=sec.get("dayfirst", bool, None),
            )
        )
    return feeds


def _entry_date(entry: feedparser.FeedParserDict) -> str | None:
    # The raw string, not feedparser's *_parsed: that one turns a date without a zone into UTC.
    for key in ("published", "updated", "created", "dc_date", "date", "issued", "modified"):
        value = entry.get(key)
        if value:
            return str(value)
    return None


def _entry_text(entry: feedparser.FeedParserDict) -> str | None:
    summary = entry.get("summary")
    if summary:
        return summary
    content = entry.get("content") or []
    return content[0].get("value") if content else None


def parse_feed(
    content: bytes,
    feed: Feed,
    *,
    fetched_at: datetime,
    content_type: str = "",
    base_url: str | None = None,
) -> tuple[list[RawArticle], list[Reject], str | None]:
    """Parse feed bytes with feedparser: (raw articles, rejects, error when nothing is a feed)."""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers)
    entries = parsed.get("entries", [])
    if not entries:
        if parsed.get("bozo"):
            bozo = parsed.get("bozo_exception")
            reason = first_line(bozo, 160) if bozo is not None else "unreadable"
            looks_html = content[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))
            what = "an HTML page, not a feed" if looks_html else f"not a readable feed ({reason})"
            return (
                [],
                [Reject(f"feed {feed.url}: {what}", content[:300].decode("utf-8", "replace"))],
                what,
            )
        if not parsed.get("version"):
            what = "not a feed (no RSS or Atom elements)"
            sample = content[:300].decode("utf-8", "replace")
            return [], [Reject(f"feed {feed.url}: {what}", sample)], what
        return [], [], None  # a valid feed with no items
    channel = parsed.get("feed", {})
    outlet = feed.outlet or channel.get("title") or None
    base = channel.get("link") or base_url or feed.url
    language = feed.language or channel.get("language") or None
    raws = []
    for entry in entries:
        link = entry.get("link")
        raws.append(
            RawArticle(
                title=entry.get("title"),
                url=link,
                summary=_entry_text(entry),
                published=_entry_date(entry),
                outlet=outlet,
                guid=entry.get("id") or None,
                language=entry.get("language") or language,
                feed=feed.url,
                base_url=base if base.startswith("http") else feed.url,
                declared_tz=feed.tz,
                dayfirst=feed.dayfirst,
                fallback_at=fetched_at,
                tags=feed.tags,
            )
        )
    return raws, [], None


class RssSource:
    """RSS/Atom feeds configured in [[feeds]]."""

    name = "rss"
    kinds = ("news",)

    def __init__(self, client: HttpClient | None = None, now: datetime | None = None):
        self.client = client
        self.now = now

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """One Batch per enabled feed; a failing feed sets Batch.error and the others go on."""
        if only and not (only & {self.name, *self.kinds}):
            return
        for feed in feeds_from_config(config):
            if not feed.enabled:
                yield Batch(self.name, feed.url, skipped="disabled in config")
                continue
            yield self.fetch_feed(feed, state)

    def fetch_feed(self, feed: Feed, state: State) -> Batch:
        """Fetch (conditionally) and parse one feed into a Batch."""
        _, previous = state.get(feed.url, (None, None))
        previous = previous or {}
        client = self.client or HttpClient(timeout=(5.0, feed.timeout))
        try:
            result: FetchResult = client.get(
                feed.url, etag=previous.get("etag"), last_modified=previous.get("last_modified")
            )
        except SourceError as exc:
            return Batch(self.name, feed.url, error=str(exc))
        if result.not_modified:
            return Batch(self.name, feed.url, skipped="not modified (HTTP 304)")
        fetched_at = self.now or datetime.now(UTC)
        raws, rejects, error = parse_feed(
            result.content,
            feed,
            fetched_at=fetched_at,
            content_type=result.content_type,
            base_url=result.url,
        )
        frame, more = normalise_articles(raws, fetched_at)
        rejects += more
        new_state = {"etag": result.etag, "last_modified": result.last_modified}
        if error:
            # Keep the old validators: a broken response must not mark the feed as seen.
            return Batch(self.name, feed.url, rejects=rejects, error=f"feed {feed.url}: {error}")
        cursor = frame["published_at"].max() if frame.height else None
        return Batch(
            self.name,
            feed.url,
            frames={"articles": frame},
            cursor_ts=cursor,
            state=new_state,
            rejects=rejects,
        )
