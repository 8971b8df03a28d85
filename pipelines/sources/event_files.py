"""Event files: CSV or JSONL rows with a time and a title → events (+ one report each)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines.articles import strip_html, web_url
from pipelines.errors import DataError
from pipelines.schemas import (
    ARTICLE_SCHEMA,
    EVENT_ARTICLE_SCHEMA,
    EVENT_INSTRUMENT_SCHEMA,
    EVENT_SCHEMA,
    conform,
)
from pipelines.sources.bar_files import detect_column, read_table
from pipelines.sources.file_reading import EventReading, naive_note
from pipelines.store import Reject
from pipelines.timeparse import parse_times

TIME_NAMES = (
    "event_at", "published_at", "published", "created_at", "created", "timestamp", "datetime",
    "time", "ts", "date", "time_utc",
)  # fmt: skip
TITLE_NAMES = ("title", "headline", "text", "summary", "content", "body", "message")
OPTIONAL_NAMES = {
    "url": ("url", "link", "href"),
    "outlet": ("outlet", "source", "publisher", "site", "author", "account"),
    "category": ("category", "topic", "type"),
    "instruments": ("instruments", "symbols", "tickers", "assets"),
}
TITLE_LENGTH = 160
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)

_SPACE = re.compile(r"\s+")


@dataclass
class EventFile:
    """An event file read and checked: events, their reports and links, and the refused rows."""

    events: pl.DataFrame
    articles: pl.DataFrame
    event_articles: pl.DataFrame
    event_instruments: pl.DataFrame
    rejects: list[Reject]
    n_read: int
    columns_used: dict[str, str]
    notes: list[str] = field(default_factory=list)


def read_events_table(path: Path) -> pl.DataFrame:
    """CSV/TSV via read_table; JSONL (one object a line) read leniently, bad lines become a column."""
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        bad: list[Reject] = []
        table = read_table(path, bad_lines=bad)
        if bad:  # lines with the wrong number of fields are refused rows, not lost ones
            lines = pl.DataFrame({"_bad_line": [f"{r.raw[:200]} ({r.reason})" for r in bad]})
            table = pl.concat([table, lines], how="diagonal_relaxed")
        return table
    if not path.exists():
        raise DataError(f"file not found: {path}")
    rows: list[dict] = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            rows.append(
                {k: (json.dumps(v) if isinstance(v, list | dict) else v) for k, v in value.items()}
            )
        except (json.JSONDecodeError, AttributeError):
            rows.append({"_bad_line": f"line {n}: not a JSON object: {line[:200]}"})
    if not rows:
        raise DataError(f"{path} has no rows")
    keys = sorted({k for r in rows for k in r})
    return pl.DataFrame(
        {k: [None if r.get(k) is None else str(r.get(k)) for r in rows] for k in keys}
    )


def clean_text(text: str | None) -> str:
    """Plain one-line text from a post or headline (HTML read by the parser, spaces folded)."""
    return _SPACE.sub(" ", strip_html(text)).strip()


def short_title(text: str, limit: int = TITLE_LENGTH) -> str:
    """The text cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—- ") + "…"


def stable_id(*parts: object) -> str:
    """A short stable hash of the parts (used for article and event ids)."""
    return hashlib.sha1("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def read_event_file(
    path: Path,
    reading: EventReading = EventReading(),
    *,
    known_instruments: set[str] | None = None,
) -> EventFile:
    """Read an event file: one row = one event with one report; bad rows are refused with reasons."""
    table = read_events_table(path)
    used = _columns_used(path, table, reading.time_column, reading.title_column)
    times = parse_times(table[used["time"]], reading.tz, dayfirst=reading.dayfirst)
    # Not the file's name: the same rows re-imported from another file must be the same reports.
    rows = _EventRows(path, used, reading.outlet or None, reading.category, known_instruments)
    now = datetime.now(UTC)
    parsed = zip(
        times.ts.to_list(), times.problems.to_list(), times.day_rows.to_list(), strict=True
    )
    for i, (at, problem, is_day) in enumerate(parsed):
        rows.add(table.row(i, named=True), at, problem, is_day, now)
    notes = [naive_note(times.naive_rows, reading.tz)] if times.naive_rows else []
    return EventFile(
        # Built with their schemas: inferred from the first rows, a column that is null there
        # (no summary while titles are short) would refuse the first long title.
        events=conform(_frame(rows.events, EVENT_SCHEMA), EVENT_SCHEMA),
        articles=conform(_frame(rows.articles, ARTICLE_SCHEMA), ARTICLE_SCHEMA),
        event_articles=pl.DataFrame(rows.links, schema=EVENT_ARTICLE_SCHEMA),
        event_instruments=pl.DataFrame(rows.instruments, schema=EVENT_INSTRUMENT_SCHEMA),
        rejects=rows.rejects,
        n_read=table.height,
        columns_used=used,
        notes=notes,
    )


def _columns_used(
    path: Path, table: pl.DataFrame, time_column: str | None, title_column: str | None
) -> dict[str, str]:
    """Which column holds the time, the title and each optional field (given, else detected)."""
    columns = [c for c in table.columns if c != "_bad_line"]
    time_col = time_column or detect_column(columns, TIME_NAMES)
    if time_col is None or time_col not in table.columns:
        raise DataError(
            f"{path}: no time column found (columns: {', '.join(columns)}); name it with --time-column"
        )
    title_col = title_column or detect_column(columns, TITLE_NAMES)
    if title_col is None or title_col not in table.columns:
        raise DataError(
            f"{path}: no title column found (columns: {', '.join(columns)}); name it with --title-column"
        )
    used = {"time": time_col, "title": title_col}
    for target, names in OPTIONAL_NAMES.items():
        col = detect_column([c for c in columns if c not in (time_col, title_col)], names)
        if col is not None:
            used[target] = col
    return used


class _EventRows:
    """The event, report and link records of the good rows, and a reject per refused one."""

    def __init__(
        self,
        path: Path,
        used: dict[str, str],
        outlet: str | None,
        category: str | None,
        known_instruments: set[str] | None,
    ):
        self.path, self.used, self.outlet, self.category = path, used, outlet, category
        self.known = known_instruments
        self.rejects: list[Reject] = []
        self.events: list[dict] = []
        self.articles: list[dict] = []
        self.links: list[dict] = []
        self.instruments: list[dict] = []

    def add(
        self, row: dict, at: datetime, problem: str | None, is_day: bool, now: datetime
    ) -> None:
        """Take one row: an event with its report and links, or a reject saying why not."""
        raw = json.dumps({k: v for k, v in row.items() if v is not None}, default=str)[:2000]
        text = clean_text(row.get(self.used["title"]))
        refused = row.get("_bad_line") or problem
        if not refused and (at > now + timedelta(minutes=5) or at < EARLIEST):
            refused = f"time {at.isoformat()} is in the future or before 1990"
        if not refused and not text:
            refused = "empty title"
        if refused:
            self.rejects.append(Reject(refused, raw))
            return
        used = self.used
        url = web_url(row.get(used.get("url", "")))  # only http(s) links are stored
        source_name = (row.get(used.get("outlet", "")) or "").strip() or self.outlet
        precision = "day" if is_day else "second"
        article_id = stable_id(url) if url else stable_id(source_name, text, at.isoformat())
        event_id = stable_id("event", article_id)
        title = short_title(text)
        upper = at + timedelta(days=1) if precision == "day" else at
        self.events.append(
            {
                "event_id": event_id, "title": title, "event_at": at, "event_at_lower": at,
                "event_at_upper": upper,
                "category": (row.get(used.get("category", "")) or "").strip() or self.category,
                "n_articles": 1, "n_outlets": 1, "first_outlet": source_name, "is_manual": False,
            }
        )  # fmt: skip
        self.articles.append(
            {
                "article_id": article_id, "outlet": source_name, "url": url, "title": title,
                "summary": text if text != title else None, "published_at": at,
                "published_precision": precision, "feed": f"file:{self.path.name}",
            }
        )  # fmt: skip
        self.links.append({"event_id": event_id, "article_id": article_id})
        self._link(event_id, row.get(used.get("instruments", "")), raw)

    def _link(self, event_id: str, symbols: str | None, raw: str) -> None:
        for symbol in _split_symbols(symbols):
            if self.known is not None and symbol not in self.known:
                self.rejects.append(
                    Reject(f"unknown instrument {symbol!r} (event kept, link dropped)", raw)
                )
                continue
            self.instruments.append(
                {"event_id": event_id, "instrument_id": symbol, "reason": "file", "confidence": 1.0}
            )


def _frame(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows as a frame with the schema's dtypes for the columns they have."""
    present = {k: v for k, v in schema.items() if any(k in r for r in rows[:1])}
    return pl.DataFrame(rows, schema=present) if rows else pl.DataFrame(schema=schema)


def _split_symbols(value: str | None) -> list[str]:
    if not value:
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            return [str(s).strip().upper() for s in json.loads(text) if str(s).strip()]
        except json.JSONDecodeError:
            pass
    return [s.strip().upper() for s in re.split(r"[,;| ]+", text) if s.strip()]
