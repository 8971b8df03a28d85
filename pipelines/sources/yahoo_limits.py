"""What Yahoo serves: bar sizes, the span one request may cover and how long history is kept.

A request for more than Yahoo keeps is refused with a plain message naming the coarser sizes
that reach back far enough; longer spans are cut into chunks Yahoo answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines.errors import SourceError


@dataclass(frozen=True)
class YahooLimit:
    """What Yahoo serves for one bar size: the interval name, span per request, history kept."""

    interval: str
    per_request: timedelta | None
    keeps: timedelta | None


# Yahoo's documented limits: 1m: 7 days a request within the last 30; 2m-90m: 60 days;
# 1h: 730 days; daily: everything.
YAHOO_LIMITS: dict[str, YahooLimit] = {
    "1m": YahooLimit("1m", timedelta(days=7), timedelta(days=30)),
    "2m": YahooLimit("2m", timedelta(days=60), timedelta(days=60)),
    "5m": YahooLimit("5m", timedelta(days=60), timedelta(days=60)),
    "15m": YahooLimit("15m", timedelta(days=60), timedelta(days=60)),
    "30m": YahooLimit("30m", timedelta(days=60), timedelta(days=60)),
    "1h": YahooLimit("1h", timedelta(days=730), timedelta(days=730)),
    "1d": YahooLimit("1d", None, None),
}
# Yahoo counts "the last N days" from its own clock; stay clear of the edge.
EDGE = timedelta(hours=1)


def chunks(
    timeframe: str, start: datetime, end: datetime, now: datetime
) -> list[tuple[datetime, datetime]]:
    """Cut [start, end) into spans Yahoo serves; SourceError when start is older than Yahoo keeps."""
    limit = YAHOO_LIMITS.get(timeframe)
    if limit is None:
        raise SourceError(f"Yahoo has no {timeframe} bars; it serves {', '.join(YAHOO_LIMITS)}")
    if limit.keeps is not None and start < now - limit.keeps + EDGE:
        raise SourceError(
            f"Yahoo keeps {timeframe} bars for the last {limit.keeps.days} days only "
            f"(from {(now - limit.keeps + EDGE):%Y-%m-%d %H:%M} UTC); asked from {start:%Y-%m-%d %H:%M} UTC. "
            f"Start later, or use a coarser timeframe ({_coarser(timeframe)})"
        )
    if limit.per_request is None:
        return [(start, end)] if start < end else []
    out = []
    step = limit.per_request - timedelta(minutes=1)
    lo = start
    while lo < end:
        hi = min(lo + step, end)
        out.append((lo, hi))
        lo = hi
    return out


def _coarser(timeframe: str) -> str:
    """The bar sizes Yahoo keeps longer than `timeframe`, e.g. '1h: 730 days or 1d: all history'."""
    own = YAHOO_LIMITS[timeframe].keeps or timedelta.max
    longer = [
        (tf, lim.keeps) for tf, lim in YAHOO_LIMITS.items() if (lim.keeps or timedelta.max) > own
    ]
    return " or ".join(
        f"{tf}: {keeps.days} days" if keeps else f"{tf}: all history" for tf, keeps in longer
    )
