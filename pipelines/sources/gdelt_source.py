"""GDELT DOC 2.0 API (mode=artlist, format=json) for the queries in [gdelt]: one Batch per query."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipelines.articles import RawArticle, normalise_articles
from pipelines.config import Config
from pipelines.errors import SourceError
from pipelines.sources import Batch, State
from pipelines.sources.http import HttpClient
from pipelines.store import Reject

DOC_API = "https://api.gdeltproject.org/api/v2/doc/doc"
GDELT_KEYS = ("enabled", "queries", "timespan", "max_records", "base_url", "min_interval_seconds")
_TIMESPAN = re.compile(r"^\d+(min|h|hours|d|days|w|weeks|m|months)$")
_SPAN_UNITS = {"min": 1, "h": 60, "hours": 60, "d": 1440, "days": 1440, "w": 10080,
               "weeks": 10080, "m": 43200, "months": 43200}  # fmt: skip
MIN_WINDOW = timedelta(minutes=15)  # GDELT's own update step: no point splitting finer
MAX_SPLIT_REQUESTS = 64  # at one request per 5 s, five minutes for one query at most


def timespan_delta(timespan: str) -> timedelta:
    """'3d' → 3 days, in GDELT's timespan units (min, h, d, w, m = 30 days)."""
    match = re.fullmatch(r"(\d+)([a-z]+)", timespan)
    return timedelta(minutes=int(match.group(1)) * _SPAN_UNITS[match.group(2)])


# JSON allows only these after a backslash; GDELT titles sometimes carry others ("\'", "\ ").
_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})?')


def repair_escapes(text: str) -> str:
    """Drop each backslash that does not start a valid JSON escape (\\' → '), scanning pairs."""
    return _ESCAPE.sub(lambda m: m.group(0) if m.group(1) else "", text)


@dataclass(frozen=True)
class GdeltSettings:
    """The [gdelt] section."""

    enabled: bool = True
    queries: tuple[str, ...] = ()
    timespan: str = "1d"
    max_records: int = 75
    base_url: str = DOC_API
    min_interval: float = 5.0  # GDELT asks for at most one request every five seconds

    @classmethod
    def from_config(cls, config: Config) -> GdeltSettings:
        """Validate [gdelt]."""
        sec = config.section("gdelt")
        sec.check_keys(GDELT_KEYS)
        timespan = sec.get("timespan", str, "1d")
        if not _TIMESPAN.match(timespan):
            raise sec.fail("timespan", f"{timespan!r} must look like 15min, 24h, 3d, 1w or 3m")
        max_records = sec.get("max_records", int, 75)
        if not 1 <= max_records <= 250:
            raise sec.fail("max_records", f"{max_records} must be between 1 and 250 (API limit)")
        interval = sec.get("min_interval_seconds", float, 5.0)
        if interval < 0:
            raise sec.fail("min_interval_seconds", "must be ≥ 0")
        queries = tuple(q.strip() for q in sec.str_list("queries") if q.strip())
        return cls(
            enabled=sec.get("enabled", bool, True),
            queries=queries,
            timespan=timespan,
            max_records=max_records,
            base_url=sec.get("base_url", str, DOC_API),
            min_interval=interval,
        )


def artlist_params(query: str, settings: GdeltSettings) -> dict[str, object]:
    """The DOC 2.0 request for one query's article list, newest first, up to the size cap."""
    return {
        "query": query,
        "mode": "artlist",
        "format": "json",
        "maxrecords": settings.max_records,
        "sort": "datedesc",
    }


def decode_artlist(content: bytes) -> list[dict]:
    """The `articles` of an artlist JSON body, repairing invalid backslash escapes and bad UTF-8.

    GDELT answers some errors with a plain-text sentence and 200 OK; that becomes a SourceError
    quoting it. An empty result is `{}`.
    """
    text = content.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if not text:
        return []
    if not text.startswith("{"):
        raise SourceError(f"GDELT answered with text, not JSON: {text.splitlines()[0][:160]!r}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = json.loads(repair_escapes(text))
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"GDELT returned malformed JSON ({exc.msg} at char {exc.pos})"
            ) from exc
    articles = data.get("articles", []) if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise SourceError("GDELT JSON has no 'articles' list")
    return articles


def _seendate(value: str | None) -> str | None:
    # "20250110T123000Z" → ISO; always UTC.
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", value.strip())
    if not match:
        return value
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def artlist_to_raw(articles: list[dict], query: str) -> tuple[list[RawArticle], list[Reject]]:
    """GDELT article dicts → raw articles (outlet = domain, time = seendate in UTC)."""
    raws, rejects = [], []
    for item in articles:
        if not isinstance(item, dict):
            rejects.append(Reject("GDELT item is not an object", str(item)[:300]))
            continue
        raws.append(
            RawArticle(
                title=item.get("title"),
                url=item.get("url"),
                summary=None,
                published=_seendate(item.get("seendate")),
                outlet=item.get("domain"),
                language=item.get("language"),
                feed=f"gdelt:{query}",
            )
        )
    return raws, rejects


class GdeltSource:
    """GDELT DOC 2.0 article lists for the configured queries."""

    name = "gdelt"
    kinds = ("news",)

    def __init__(
        self,
        client: HttpClient | None = None,
        now: datetime | None = None,
        sleep=time.sleep,
    ):
        self.client = client
        self.now = now
        self.sleep = sleep

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """One Batch per query; a failing query sets Batch.error and the others go on."""
        if only and not (only & {self.name, *self.kinds}):
            return
        settings = GdeltSettings.from_config(config)
        if not settings.enabled:
            return
        client = self.client or HttpClient(timeout=(5.0, 30.0))
        for n, query in enumerate(settings.queries):
            if n and settings.min_interval:
                self.sleep(settings.min_interval)
            yield self.fetch_query(client, settings, query, state)

    def _split(
        self,
        client: HttpClient,
        settings: GdeltSettings,
        query: str,
        start: datetime,
        end: datetime,
        notes: list[Reject],
    ) -> list[dict]:
        """The articles of [start, end) fetched in windows small enough not to hit the cap.

        A window whose page comes back full is halved, down to MIN_WINDOW; one still full
        there is reported (its later articles may be missing), never silently cut.
        """
        windows = [(start, start + (end - start) / 2), (start + (end - start) / 2, end)]
        found: dict[str, dict] = {}
        requests = 0
        while windows:
            lo, hi = windows.pop(0)
            if requests >= MAX_SPLIT_REQUESTS:
                notes.append(
                    Reject(
                        f"gdelt query {query!r}: stopped after {requests} split requests; "
                        f"{lo:%Y-%m-%d %H:%M}–{hi:%Y-%m-%d %H:%M} UTC not fetched",
                        query,
                    )
                )
                break
            if settings.min_interval:
                self.sleep(settings.min_interval)
            params = {
                **artlist_params(query, settings),
                "startdatetime": lo.strftime("%Y%m%d%H%M%S"),
                "enddatetime": hi.strftime("%Y%m%d%H%M%S"),
            }
            page = decode_artlist(client.get(settings.base_url, params=params).content)
            requests += 1
            if len(page) >= settings.max_records:
                if hi - lo > MIN_WINDOW:
                    mid = lo + (hi - lo) / 2
                    windows[:0] = [(lo, mid), (mid, hi)]
                    continue
                notes.append(
                    Reject(
                        f"gdelt query {query!r}: {len(page)} articles (the cap) in "
                        f"{lo:%Y-%m-%d %H:%M}–{hi:%Y-%m-%d %H:%M} UTC; some may be missing",
                        query,
                    )
                )
            for item in page:
                key = item.get("url") if isinstance(item, dict) else None
                found.setdefault(key or str(len(found)), item)
        return list(found.values())

    def fetch_query(
        self, client: HttpClient, settings: GdeltSettings, query: str, state: State
    ) -> Batch:
        """Fetch one query's article list into a Batch."""
        cursor, _ = state.get(query, (None, None))
        params = artlist_params(query, settings)
        now = self.now or datetime.now(UTC)
        if cursor is not None and now - cursor < timedelta(days=80):
            # Ask only for what is newer than the last report we kept (GDELT covers 3 months).
            start = cursor.astimezone(UTC)
            params["startdatetime"] = start.strftime("%Y%m%d%H%M%S")
            params["enddatetime"] = now.strftime("%Y%m%d%H%M%S")
        else:
            start = now - timespan_delta(settings.timespan)
            params["timespan"] = settings.timespan
        notes: list[Reject] = []
        try:
            items = decode_artlist(client.get(settings.base_url, params=params).content)
            if len(items) >= settings.max_records:
                # A full page means GDELT cut the list: ask again in halves of the window.
                items = self._split(client, settings, query, start, now, notes)
        except SourceError as exc:
            return Batch(self.name, query, error=f"gdelt query {query!r}: {exc}")
        raws, rejects = artlist_to_raw(items, query)
        rejects += notes
        frame, more = normalise_articles(raws, now)
        cursor_ts = frame["published_at"].max() if frame.height else None
        return Batch(
            self.name,
            query,
            frames={"articles": frame},
            cursor_ts=cursor_ts,
            rejects=rejects + more,
        )
