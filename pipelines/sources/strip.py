"""Ticker-strip snapshots: parse a captured page (text or HTML) into quotes, and render one back.

A strip is a marquee of `SYMBOL$PRICE▲ PCT%` items, repeated as the marquee repeats, followed
by `Prices as of HH:MM UTC`. The page only gives the time of day, so the caller supplies the
date; the parser never guesses it silently.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

import polars as pl

from pipelines.errors import DataError
from pipelines.schemas import QUOTE_SCHEMA
from pipelines.store import Reject

UP, DOWN = "▲", "▼"

# One item. Whitespace is allowed between the parts because HTML captures put each part in its
# own element; the sign may come from an arrow or an explicit +/-.
_ITEM = re.compile(
    r"(?P<symbol>[A-Z][A-Z0-9_.\-]*)\s*\$\s*"
    r"(?P<price>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<arrow>[▲▼△▽↑↓])?\s*(?P<sign>[+\-−])?\s*(?P<pct>\d+(?:\.\d+)?)\s*%"
)
# Anything that starts like an item (`SYMBOL$`) — used to find items that failed to parse.
_ITEM_START = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Z0-9_.\-]*\s*\$")
_AS_OF = re.compile(
    r"Prices\s+as\s+of\s+(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?(?P<hh>\d{1,2}):(?P<mm>\d{2})\s*UTC",
    re.IGNORECASE,
)
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_DOWN_MARKS = ("▼", "▽", "↓")


@dataclass(frozen=True)
class StripQuote:
    """One item of a strip: symbol, price and 24 h change in percent (as printed)."""

    symbol: str
    price: Decimal
    change_pct: Decimal


@dataclass
class StripResult:
    """What a strip page held: one quote per symbol, the as-of instant, and what was odd."""

    quotes: list[StripQuote]
    as_of: datetime
    date_from_page: bool
    n_items: int  # items read before collapsing the marquee repetition
    outside_watchlist: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def frame(self, outlet: str, captured_from: str) -> pl.DataFrame:
        """The quotes as a QUOTE_SCHEMA frame, source `strip:<outlet>`."""
        return pl.DataFrame(
            {
                "instrument_id": [q.symbol for q in self.quotes],
                "ts": [self.as_of] * len(self.quotes),
                "source": [f"strip:{outlet}"] * len(self.quotes),
                "price": [float(q.price) for q in self.quotes],
                "change_pct": [float(q.change_pct) + 0.0 for q in self.quotes],
                "captured_from": [captured_from] * len(self.quotes),
            },
            schema=QUOTE_SCHEMA,
        )


def page_text(raw: str) -> str:
    """Plain text of a captured page: tags removed, entities decoded (text passes unchanged)."""
    if "<" in raw and ">" in raw:
        raw = _TAG.sub("", raw)
    return html.unescape(raw)


def find_as_of(text: str) -> tuple[date | None, time]:
    """The `Prices as of [YYYY-MM-DD ]HH:MM UTC` line: its date (if printed) and time."""
    match = _AS_OF.search(text)
    if match is None:
        raise DataError(
            "no 'Prices as of HH:MM UTC' line found, so the quotes have no time; "
            "is this a ticker-strip capture?"
        )
    hh, mm = int(match["hh"]), int(match["mm"])
    if hh > 23 or mm > 59:
        raise DataError(f"'Prices as of {match['hh']}:{match['mm']} UTC' is not a valid time")
    day = date.fromisoformat(match["date"]) if match["date"] else None
    return day, time(hh, mm)


def parse_strip(
    raw: str,
    *,
    day: date | None,
    watchlist: Sequence[str] | None = None,
) -> StripResult:
    """Parse a strip capture into one quote per symbol (marquee repetition collapsed).

    `day` is the UTC date of the capture, used when the page prints only HH:MM. A symbol seen
    again with different values keeps its first values; the others become rejects.
    """
    text = page_text(raw)
    page_day, clock = find_as_of(text)
    if page_day is None and day is None:
        raise DataError("the page gives only HH:MM; pass the capture date (--date YYYY-MM-DD)")
    as_of = datetime.combine(page_day or day, clock, tzinfo=UTC)  # type: ignore[arg-type]
    body = text[: _AS_OF.search(text).start()]  # type: ignore[union-attr]
    seen: dict[str, StripQuote] = {}
    rejects: list[Reject] = []
    n_items = 0
    parsed_spans: list[tuple[int, int]] = []
    for match in _ITEM.finditer(body):
        n_items += 1
        parsed_spans.append(match.span())
        quote = _to_quote(match)
        previous = seen.get(quote.symbol)
        if previous is None:
            seen[quote.symbol] = quote
        elif previous != quote:
            rejects.append(
                Reject(
                    reason=f"{quote.symbol} appears again with other values "
                    f"({quote.price}, {quote.change_pct}%) than first read "
                    f"({previous.price}, {previous.change_pct}%); kept the first",
                    raw=match.group(0),
                )
            )
    rejects.extend(_unparsed_items(body, parsed_spans))
    if not seen:
        snippet = " ".join(body.split())[:80]
        raise DataError(
            "no ticker-strip items (SYMBOL$PRICE▲ PCT%) found"
            + (f"; the text starts with {snippet!r}" if snippet else "; the page is empty")
        )
    outside = [s for s in seen if watchlist is not None and s not in set(watchlist)]
    return StripResult(
        quotes=list(seen.values()),
        as_of=as_of,
        date_from_page=page_day is not None,
        n_items=n_items,
        outside_watchlist=outside,
        rejects=rejects,
    )


def _to_quote(match: re.Match[str]) -> StripQuote:
    price = Decimal(match["price"].replace(",", ""))
    pct = Decimal(match["pct"])
    negative = match["arrow"] in _DOWN_MARKS or match["sign"] in ("-", "−")
    return StripQuote(symbol=match["symbol"], price=price, change_pct=-pct if negative else pct)


def _unparsed_items(body: str, spans: list[tuple[int, int]]) -> list[Reject]:
    """Things that start like an item (`XYZ$`) but are not inside any parsed item."""
    out = []
    for match in _ITEM_START.finditer(body):
        start = match.start()
        if any(a <= start < b for a, b in spans):
            continue
        out.append(
            Reject(
                reason=f"unreadable strip item starting {body[start : start + 24]!r}",
                raw=body[start : start + 80],
            )
        )
    return out


def format_price(price: Decimal) -> str:
    """A price as strips print it: thousands separators, the decimals it carries."""
    return f"{price:,f}"


def render_strip(
    quotes: Sequence[StripQuote],
    as_of: datetime | time,
    *,
    repeat: int = 2,
    with_date: bool = False,
) -> str:
    """Render quotes as a strip capture (the marquee repeated `repeat` times) plus its as-of line."""
    items = "".join(
        f"{q.symbol}${format_price(q.price)}{DOWN if q.change_pct < 0 else UP} {abs(q.change_pct)}%"
        for q in quotes
    )
    clock = as_of.strftime("%H:%M")
    stamp = f"{as_of:%Y-%m-%d} {clock}" if with_date and isinstance(as_of, datetime) else clock
    return items * max(repeat, 1) + f"\nPrices as of {stamp} UTC\n"
