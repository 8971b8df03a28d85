"""The standard frames (Bar, Quote, Article, Event): column names, dtypes and row validation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines.errors import DataError

if TYPE_CHECKING:
    from pipelines.config import Instrument

UTC_TS = pl.Datetime("us", "UTC")


@dataclass
class Reject:
    """One refused input item: why, and enough of it to find it again."""

    reason: str
    raw: str = ""


# Bar sizes we store, with their length. ts is the bar's open; close time = ts + length.
TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "2m": timedelta(minutes=2),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}

BAR_SCHEMA: dict[str, pl.DataType] = {
    "instrument_id": pl.Utf8,
    "timeframe": pl.Utf8,
    "ts": UTC_TS,
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Float64,
    "source": pl.Utf8,
}

# The bounds an open time range is handed to SQL with (a query's start/end are never null).
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)

_OHLCV = ("open", "high", "low", "close", "volume")


def ohlcv_frame(rows: list[Any], instrument_id: str, timeframe: str, source: str) -> pl.DataFrame:
    """Exchange OHLCV rows ([open ms, o, h, l, c, v, …], numbers or numeric text, as ccxt and
    Binance's klines give them) → BAR_SCHEMA bars in row order; a value that is not a number
    becomes null (validate_bars refuses its row), a missing volume is null."""
    frame = pl.DataFrame(
        {
            "ts": [r[0] for r in rows],
            **{
                c: [r[i + 1] if len(r) > i + 1 else None for r in rows]
                for i, c in enumerate(_OHLCV)
            },
        },
        # as text first: Binance sends numbers as strings, which a float column would not take
        schema={c: pl.Utf8 for c in ("ts", *_OHLCV)},
        strict=False,
    )
    return frame.select(
        pl.lit(instrument_id).alias("instrument_id"),
        pl.lit(timeframe).alias("timeframe"),
        pl.col("ts").cast(pl.Int64, strict=False).cast(pl.Datetime("ms", "UTC")).alias("ts"),
        *(pl.col(c).cast(pl.Float64, strict=False) for c in _OHLCV),
        pl.lit(source).alias("source"),
    ).cast(BAR_SCHEMA)  # type: ignore[arg-type]


QUOTE_SCHEMA: dict[str, pl.DataType] = {
    "instrument_id": pl.Utf8,
    "ts": UTC_TS,
    "source": pl.Utf8,
    "price": pl.Float64,
    "change_pct": pl.Float64,
    "captured_from": pl.Utf8,
}

ARTICLE_SCHEMA: dict[str, pl.DataType] = {
    "article_id": pl.Utf8,
    "outlet": pl.Utf8,
    "url": pl.Utf8,
    "title": pl.Utf8,
    "summary": pl.Utf8,
    "published_at": UTC_TS,
    "published_precision": pl.Utf8,
    "feed": pl.Utf8,
    "language": pl.Utf8,
    "sentiment": pl.Float64,
}

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.Utf8,
    "title": pl.Utf8,
    "event_at": UTC_TS,
    "event_at_lower": UTC_TS,
    "event_at_upper": UTC_TS,
    "category": pl.Utf8,
    "countries": pl.List(pl.Utf8),
    "n_articles": pl.Int32,
    "n_outlets": pl.Int32,
    "first_outlet": pl.Utf8,
    "is_manual": pl.Boolean,
}

INSTRUMENT_SCHEMA: dict[str, pl.DataType] = {
    "instrument_id": pl.Utf8,
    "display_name": pl.Utf8,
    "asset_class": pl.Utf8,
    "source": pl.Utf8,
    "venue": pl.Utf8,
    "market_symbol": pl.Utf8,
    "quote_currency": pl.Utf8,
    "calendar": pl.Utf8,
    "exchange_tz": pl.Utf8,
    "available": pl.Boolean,
    "unavailable_reason": pl.Utf8,
}

# The link tables: which reports make up an event, which instruments it concerns and why.
EVENT_ARTICLE_SCHEMA: dict[str, pl.DataType] = {"event_id": pl.Utf8, "article_id": pl.Utf8}

EVENT_INSTRUMENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.Utf8,
    "instrument_id": pl.Utf8,
    "reason": pl.Utf8,
    "confidence": pl.Float64,
}


# Event categories the enrichment assigns (events.category), for `events add --category` and
# alert rules; policy tags (events.tags) come from the [policy] lexicon.
EVENT_CATEGORIES = (
    "policy",
    "macro",
    "regulation",
    "corporate",
    "geopolitics",
    "crypto",
    "news",
    "other",
)


def timeframe_delta(timeframe: str) -> timedelta:
    """The length of a bar of this timeframe; DataError for an unknown one."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise DataError(
            f"unknown timeframe {timeframe!r}; allowed: {', '.join(TIMEFRAMES)}"
        ) from None


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast the schema's columns in order, adding missing optional ones as nulls."""
    exprs = []
    for name, dtype in schema.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def split_valid(frame: pl.DataFrame, problems: pl.Expr) -> tuple[pl.DataFrame, list[Reject]]:
    """Split rows by a `problems` expression (a reason string, null when the row is fine)."""
    tagged = frame.with_columns(problems.alias("_problem"))
    bad = tagged.filter(pl.col("_problem").is_not_null())
    good = tagged.filter(pl.col("_problem").is_null()).drop("_problem")
    rejects = [
        Reject(
            reason=row["_problem"],
            raw=json.dumps({k: v for k, v in row.items() if k != "_problem"}, default=str),
        )
        for row in bad.iter_rows(named=True)
    ]
    return good, rejects


def bar_problems() -> pl.Expr:
    """Why a bar is refused (a reason string), null when it is fine; over BAR_SCHEMA columns.

    Refused: a missing time; a missing, NaN or infinite price; a zero or negative price; OHLC
    that contradict each other (low above high, open or close outside low…high); a negative
    volume; an unknown timeframe.
    """
    price_cols = ["open", "high", "low", "close"]
    problem = pl.when(pl.col("ts").is_null()).then(pl.lit("missing or unparseable time"))
    problem = problem.when(pl.col("close").is_null() | pl.col("close").is_nan()).then(
        pl.lit("missing or NaN close")
    )
    for col in price_cols:
        problem = problem.when(pl.col(col).is_not_null() & pl.col(col).is_nan()).then(
            pl.lit(f"NaN {col}")
        )
        problem = problem.when(pl.col(col).is_infinite()).then(pl.lit(f"infinite {col}"))
        problem = problem.when(pl.col(col) <= 0).then(pl.lit(f"{col} is zero or negative"))
    problem = problem.when(pl.col("high") < pl.col("low")).then(pl.lit("high < low"))
    for col in ("open", "close"):
        problem = problem.when(pl.col(col) > pl.col("high")).then(pl.lit(f"{col} above high"))
        problem = problem.when(pl.col(col) < pl.col("low")).then(pl.lit(f"{col} below low"))
    problem = problem.when(pl.col("volume").is_infinite()).then(pl.lit("infinite volume"))
    problem = problem.when(pl.col("volume") < 0).then(pl.lit("negative volume"))
    problem = problem.when(pl.col("timeframe").is_in(list(TIMEFRAMES)).not_()).then(
        pl.lit("unknown timeframe")
    )
    return problem.otherwise(pl.lit(None, dtype=pl.Utf8))


def validate_bars(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Split bars into valid ones and rejects (see `bar_problems` for the rules)."""
    frame = conform(frame, BAR_SCHEMA)
    return split_valid(frame, bar_problems())


def validate_quotes(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Refuse quotes with a missing time or a NaN, zero or negative price."""
    frame = conform(frame, QUOTE_SCHEMA)
    problem = (
        pl.when(pl.col("ts").is_null())
        .then(pl.lit("missing or unparseable time"))
        .when(pl.col("price").is_null() | pl.col("price").is_nan())
        .then(pl.lit("missing or NaN price"))
        .when(pl.col("price") <= 0)
        .then(pl.lit("price is zero or negative"))
        .when(pl.col("price").is_infinite())
        .then(pl.lit("infinite price"))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
    )
    return split_valid(frame, problem)


def instrument_row(
    inst: Instrument,
    venue: str | None,
    symbol: str | None,
    *,
    available: bool,
    reason: str | None = None,
) -> pl.DataFrame:
    """The instruments-table row for a watchlist entry (where it trades, or why it does not)."""
    row = {
        "instrument_id": inst.id,
        "display_name": inst.name,
        "asset_class": inst.asset_class,
        "source": inst.source,
        "venue": venue,
        "market_symbol": symbol,
        "quote_currency": inst.quote_currency,
        "calendar": inst.calendar,
        "exchange_tz": inst.exchange_tz,
        "available": available,
        "unavailable_reason": reason,
    }
    return pl.DataFrame([row], schema=INSTRUMENT_SCHEMA)


def bars_in_range(
    frame: pl.DataFrame, timeframe: str, since: datetime, until: datetime, now: datetime
) -> tuple[pl.DataFrame, list[Reject]]:
    """Valid bars (and the rejects) of the complete bars, closed by `now`, opening in [since, until)."""
    bars, rejects = validate_bars(frame)
    # Instants read back from DuckDB carry the zone 'Etc/UTC', which Polars will not compare
    # with the frame's 'UTC': bring every bound to the one UTC.
    since, until, now = (t.astimezone(UTC) for t in (since, until, now))
    ts = pl.col("ts")
    keep = (ts + timeframe_delta(timeframe) <= now) & (ts >= since) & (ts < until)
    return bars.filter(keep), rejects


def timeframe_params(since: datetime) -> dict[str, object]:
    """SQL binds for queries over every timeframe: `since`, the names and their lengths in seconds."""
    return {
        "since": since,
        "tfs": list(TIMEFRAMES),
        "tf_secs": [int(d.total_seconds()) for d in TIMEFRAMES.values()],
    }
