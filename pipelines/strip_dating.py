"""Date an undated ticker strip from stored bars: the day whose prices at its HH:MM fit best.

A strip prints `Prices as of HH:MM UTC` and no date. For every candidate day we take each
symbol's price at that instant the DESIGN §4 way (close of the last bar closed by then, any
timeframe; a closed market keeps its last close for up to `MAX_STALE`), compare it with the
strip's price as |ln(strip / bar)|, and score the day by the median over the symbols compared.
The best day is accepted only when it is clearly better than the runner-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from pipelines.errors import DataError
from pipelines.schemas import UTC_TS

MAX_STALE = timedelta(days=4)  # a weekend plus a holiday: the strip shows the last close
MIN_SYMBOLS = 2  # one price alone fits too many days
CLEAR_RATIO = 2.0  # the runner-up's error must be at least this many times the best one's
MAX_ERROR_PCT = 2.0  # a "best" day whose median error is larger is no match at all


@dataclass(frozen=True)
class DayFit:
    """How well one day fits: median |log error| in percent over `n` symbols."""

    day: date
    error_pct: float
    n: int


@dataclass(frozen=True)
class StripDating:
    """The chosen day with its fit, the runner-up, and the per-symbol comparison of the best day."""

    best: DayFit
    runner_up: DayFit | None
    detail: pl.DataFrame  # instrument_id, strip_price, bar_close, bar_close_at, error_pct

    def note(self) -> str:
        """One line for the CLI: best day, its error, the runner-up and its error."""
        text = (
            f"{self.best.day} (dated from stored bars: median error {self.best.error_pct:.3f} % "
            f"over {self.best.n} symbols"
        )
        if self.runner_up is not None:
            text += (
                f"; runner-up {self.runner_up.day} at {self.runner_up.error_pct:.3f} % "
                f"over {self.runner_up.n}"
            )
        return text + "; pass --date to override)"


def day_fits(prices: dict[str, float], clock: time, bars: pl.DataFrame) -> pl.DataFrame:
    """Per candidate day: n symbols compared and the median |ln(strip/bar)| in percent.

    `bars` has instrument_id, close_at (bar open + timeframe, UTC) and close.
    """
    if bars.height == 0:
        return pl.DataFrame(schema={"day": pl.Date, "error_pct": pl.Float64, "n": pl.UInt32})
    bars = _normalised(bars)
    first = bars["close_at"].min().date()  # type: ignore[union-attr]
    last = (bars["close_at"].max() + MAX_STALE).date()  # type: ignore[operator]
    offset = timedelta(hours=clock.hour, minutes=clock.minute)
    grid = (
        pl.DataFrame({"day": pl.date_range(first, last, "1d", eager=True)})
        .with_columns(
            at=(pl.col("day").cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + offset).cast(
                UTC_TS
            )
        )
        .join(pl.DataFrame({"instrument_id": list(prices)}), how="cross")
        .sort("instrument_id", "at")
    )
    matched = _close_at(grid, bars).drop_nulls("close")
    strip = pl.col("instrument_id").replace_strict(prices, return_dtype=pl.Float64)
    return (
        matched.with_columns(error_pct=(strip.log() - pl.col("close").log()).abs() * 100)
        .group_by("day")
        .agg(pl.col("error_pct").median(), pl.len().cast(pl.UInt32).alias("n"))
        .filter(pl.col("n") >= MIN_SYMBOLS)
        .sort("error_pct", "day")
    )


def date_strip(prices: dict[str, float], clock: time, bars: pl.DataFrame) -> StripDating:
    """The day the strip was captured, from the bars; DataError when no day is clearly best."""
    if bars.height == 0:
        raise DataError(
            f"cannot date the strip: no stored bars for any of its symbols "
            f"({', '.join(sorted(prices))}); import bars first or pass --date YYYY-MM-DD"
        )
    fits = day_fits(prices, clock, bars)
    if fits.height == 0:
        raise DataError(
            f"cannot date the strip: no day has bars for {MIN_SYMBOLS}+ of its symbols at "
            f"{clock:%H:%M} UTC; pass --date YYYY-MM-DD"
        )
    rows = [DayFit(d, e, n) for d, e, n in fits.head(2).iter_rows()]
    best, runner = rows[0], (rows[1] if len(rows) > 1 else None)
    if best.error_pct > MAX_ERROR_PCT:
        raise DataError(
            f"cannot date the strip: even the best day, {best.day}, is {best.error_pct:.2f} % off "
            f"the stored bars (over {best.n} symbols); pass --date YYYY-MM-DD"
        )
    if runner is not None and runner.error_pct <= CLEAR_RATIO * best.error_pct:
        raise DataError(
            f"cannot date the strip: no day is clearly best — {best.day} is {best.error_pct:.3f} % "
            f"off, {runner.day} {runner.error_pct:.3f} %; pass --date YYYY-MM-DD"
        )
    return StripDating(best, runner, comparison(prices, best.day, clock, bars))


def _normalised(bars: pl.DataFrame) -> pl.DataFrame:
    """close_at as UTC microseconds (DuckDB may hand back 'Etc/UTC'), sorted for the as-of join."""
    return bars.with_columns(pl.col("close_at").dt.convert_time_zone("UTC").cast(UTC_TS)).sort(
        "instrument_id", "close_at"
    )


def comparison(
    prices: dict[str, float], day: date, clock: time, bars: pl.DataFrame
) -> pl.DataFrame:
    """Strip price beside the bar close each symbol had at `day` HH:MM, error in percent."""
    at = datetime.combine(day, clock, tzinfo=UTC)
    bars = _normalised(bars)
    frame = pl.DataFrame(
        {"instrument_id": list(prices), "strip_price": list(prices.values())}
    ).with_columns(at=pl.lit(at).cast(UTC_TS))
    return _close_at(frame.sort("instrument_id"), bars.rename({"close": "bar_close"})).select(
        "instrument_id",
        "strip_price",
        "bar_close",
        pl.col("close_at").alias("bar_close_at"),
        ((pl.col("strip_price") / pl.col("bar_close") - 1) * 100).alias("diff_pct"),
    )


def _close_at(frame: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """Each (instrument_id, at) row beside the last bar closed by `at`, no older than MAX_STALE."""
    return frame.join_asof(
        bars.sort("instrument_id", "close_at"),
        left_on="at",
        right_on="close_at",
        by="instrument_id",
        strategy="backward",
        tolerance=MAX_STALE,
        check_sortedness=False,
    )
