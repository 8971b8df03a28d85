"""Futures, equities, indices and FX bars from Yahoo through yfinance: extract → transform.

Yahoo keeps intraday history for a limited time and serves it in limited spans per request,
so requests are cut into chunks, and a request for more than Yahoo keeps is refused with a
plain message (pipelines/sources/yahoo_limits.py). Times go to UTC; the exchange's zone is
kept on the instrument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import requests

from pipelines.config import Config, Instrument, Section
from pipelines.errors import NetworkUnavailable, SourceError, first_line
from pipelines.retry import RetryPolicy, call_with_retry, describe, is_offline, within
from pipelines.schemas import (
    BAR_SCHEMA,
    QUOTE_SCHEMA,
    bars_in_range,
    instrument_row,
    timeframe_delta,
)
from pipelines.sources import Batch, State
from pipelines.sources.incremental import refresh_unit
from pipelines.sources.yahoo_limits import EDGE, YAHOO_LIMITS, chunks

# Quotes: hourly bars this far back give the price 24 h before the last one (weekends included);
# a reference close older than QUOTE_REFERENCE_AGE before that point leaves the change blank.
QUOTE_LOOKBACK = timedelta(days=6)
QUOTE_REFERENCE_AGE = timedelta(days=4)
# Seconds one history request may take with its retries (yfinance's timeouts are per read).
DEADLINE = 60.0
NO_NETWORK = "cannot reach Yahoo: no network (DNS lookup or route failed)"

DEFAULTS: dict[str, Any] = {
    "timeframes": ["1m", "1h", "1d"],
    "lookback_days": {"1m": 7, "1h": 60, "1d": 3 * 365},
    "overlap_bars": 3,
    "prepost": False,
    "retries": 4,  # tries after the first (the shared meaning of "retries")
    "backoff_seconds": 2.0,
}
SECTION_KEYS = tuple(DEFAULTS)


@dataclass
class YahooSettings:
    """The validated `[yahoo]` section."""

    timeframes: tuple[str, ...]
    lookback: dict[str, timedelta]
    overlap_bars: int
    prepost: bool
    retries: int
    backoff_seconds: float


def yahoo_settings(config: Config) -> YahooSettings:
    """Read and check `[yahoo]`: timeframes Yahoo serves, lookbacks within what Yahoo keeps."""
    sec: Section = config.section("yahoo")
    sec.check_keys(SECTION_KEYS)
    timeframes = tuple(sec.str_list("timeframes", DEFAULTS["timeframes"]))
    for tf in timeframes:
        if tf not in YAHOO_LIMITS:
            raise sec.fail(
                "timeframes", f"{tf!r} is not served by Yahoo; allowed: {', '.join(YAHOO_LIMITS)}"
            )
    lookback_raw = {**DEFAULTS["lookback_days"], **sec.get("lookback_days", dict, {})}
    lookback: dict[str, timedelta] = {}
    for tf, days in lookback_raw.items():
        if tf not in YAHOO_LIMITS or not isinstance(days, int | float) or days <= 0:
            raise sec.fail(
                f"lookback_days.{tf}", "must map a Yahoo timeframe to a positive number of days"
            )
        keeps = YAHOO_LIMITS[tf].keeps
        if keeps is not None and timedelta(days=days) > keeps:
            raise sec.fail(
                f"lookback_days.{tf}",
                f"{days} days is more than Yahoo keeps for {tf} bars ({keeps.days} days)",
            )
        lookback[tf] = timedelta(days=days)
    overlap = sec.get("overlap_bars", int, DEFAULTS["overlap_bars"])
    retries = sec.get("retries", int, DEFAULTS["retries"])
    if overlap < 0 or retries < 0:
        raise sec.fail("retries", "overlap_bars and retries must be ≥ 0")
    return YahooSettings(
        timeframes=timeframes,
        lookback=lookback,
        overlap_bars=overlap,
        prepost=sec.get("prepost", bool, DEFAULTS["prepost"]),
        retries=retries,
        backoff_seconds=sec.get("backoff_seconds", float, DEFAULTS["backoff_seconds"]),
    )


class YahooSource:
    """Bars and quotes for the instruments whose source is 'yahoo' (fallback symbols in order)."""

    name = "yahoo"
    kinds = ("prices", "quotes")

    def __init__(
        self,
        *,
        session: Any = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        settings: YahooSettings | None = None,
        deadline: float = DEADLINE,
    ):
        self.session = session  # None: yfinance's own (curl_cffi) session
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.settings = settings
        self.deadline = deadline

    # -- the Source protocol ---------------------------------------------------------------

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """Yield one bars batch per (instrument, timeframe), then one quotes batch."""
        settings = self.settings or yahoo_settings(config)
        use_cache_dir(Path(config.db_path).parent / "cache" / "yfinance")
        offline: str | None = None
        if not only or "prices" in only:
            for batch in self._bars(config, state, settings):
                offline = offline or (batch.error if batch.error == NO_NETWORK else None)
                yield batch
        if not only or "quotes" in only:
            insts = [i for i in config.instruments if i.source == "yahoo"]
            if insts:
                yield (
                    Batch(source="yahoo", key="quotes", error=offline)
                    if offline
                    else self.quotes_batch(insts, settings)
                )

    def _bars(self, config: Config, state: State, settings: YahooSettings) -> Iterator[Batch]:
        now = self.clock()
        offline: str | None = None
        for inst in (i for i in config.instruments if i.source == "yahoo"):
            for tf in settings.timeframes:
                entry = state.get(f"{inst.id}/{tf}")
                cursor = entry[0] if entry else None
                step = timeframe_delta(tf)
                start = (
                    cursor - settings.overlap_bars * step
                    if cursor is not None
                    else now - settings.lookback.get(tf, timedelta(days=30))
                )
                note = None
                keeps = YAHOO_LIMITS[tf].keeps
                if keeps is not None and start < now - keeps + EDGE:
                    # a long pause: fetch what Yahoo still has and say what is lost
                    note = (
                        f"bars before {now - keeps + EDGE:%Y-%m-%d %H:%M} UTC are "
                        f"older than Yahoo keeps ({keeps.days} days) and were not fetched"
                    )
                    start = now - keeps + EDGE
                if offline:  # no network: say so for every unit without asking again
                    yield Batch(source="yahoo", key=f"{inst.id}/{tf}", error=offline)
                    continue
                batch = refresh_unit(  # refresh's unit: one instrument and timeframe, or why not
                    lambda i=inst, t=tf, lo=start: self.fetch_range(i, t, lo, now, settings),
                    "yahoo",
                    f"{inst.id}/{tf}",
                    cursor,
                )
                if batch.error == NO_NETWORK:
                    offline = batch.error
                if note and batch.error is None:
                    batch.skipped = note
                yield batch

    # -- quotes ----------------------------------------------------------------------------

    def quotes_batch(self, insts: list[Instrument], settings: YahooSettings) -> Batch:
        """Last price and 24 h change per instrument, from Yahoo's chart answer (meta + 1h bars)."""
        now = self.clock()
        records: list[dict[str, Any]] = []
        problems: list[str] = []
        for inst in insts:
            for symbol in (inst.symbol, *inst.fallback_symbols):
                try:
                    record = self.fetch_quote(inst, symbol, now, settings)
                except NetworkUnavailable as exc:
                    return Batch(source="yahoo", key="quotes", error=str(exc))
                except SourceError as exc:
                    problems.append(str(exc))
                    continue
                if record is not None:
                    records.append(record)
                    break
                problems.append(f"Yahoo gave no last price for {symbol}")
        frame = pl.DataFrame(records, schema=QUOTE_SCHEMA)
        if not records and problems:
            return Batch(source="yahoo", key="quotes", error="; ".join(problems))
        return Batch(
            source="yahoo",
            key="quotes",
            frames={"quotes": frame},
            skipped="; ".join(problems) if problems else None,
        )

    def fetch_quote(
        self, inst: Instrument, symbol: str, now: datetime, settings: YahooSettings
    ) -> dict[str, Any] | None:
        """One symbol's quote: the chart's last price, and hourly bars for the 24 h change."""
        yf = import_yfinance()
        ticker = yf.Ticker(symbol, session=self.session) if self.session else yf.Ticker(symbol)
        pdf = self._history(ticker, symbol, "1h", now - QUOTE_LOOKBACK, now, settings)
        bars = history_to_frame(pdf) if pdf is not None and not pdf.empty else None
        return to_quote(ticker.history_metadata or {}, bars, inst.id, symbol)

    # -- bars ------------------------------------------------------------------------------

    def bars(
        self, config: Config, inst: Instrument, timeframe: str, since: datetime, until: datetime
    ) -> Batch:
        """Complete bars of [since, until) (symbol, then its fallbacks); what Yahoo no longer
        keeps is refused before any request."""
        settings = self.settings or yahoo_settings(config)
        use_cache_dir(Path(config.db_path).parent / "cache" / "yfinance")
        chunks(timeframe, since, until, self.clock())
        return self.fetch_range(inst, timeframe, since, until, settings)

    def fetch_range(
        self,
        inst: Instrument,
        timeframe: str,
        start: datetime,
        end: datetime,
        settings: YahooSettings,
    ) -> Batch:
        """[start, end) from the instrument's symbol, else its fallbacks; SourceError otherwise."""
        problems = []
        for symbol in (inst.symbol, *inst.fallback_symbols):
            try:
                frame, tz = self.fetch(symbol, timeframe, start, end, settings)
            except NetworkUnavailable:
                raise  # no fallback can help
            except SourceError as exc:
                problems.append(str(exc))
                continue
            bars, rejects = bars_in_range(
                to_bar_frame(frame, inst.id, timeframe), timeframe, start, end, self.clock()
            )
            row = instrument_row(inst, "yahoo", symbol, available=True)
            if tz:
                row = row.with_columns(pl.lit(tz).alias("exchange_tz"))
            return Batch(
                source="yahoo",
                key=f"{inst.id}/{timeframe}",
                frames={"bars": bars, "instruments": row},
                cursor_ts=bars["ts"].max() if bars.height else None,  # type: ignore[arg-type]
                rejects=rejects,
            )
        raise SourceError("; ".join(problems))

    def fetch(
        self,
        symbol: str,
        timeframe: str,
        start: datetime,
        end: datetime,
        settings: YahooSettings,
    ) -> tuple[pl.DataFrame, str | None]:
        """All chunks of [start, end) for one Yahoo symbol → (long frame, exchange time zone)."""
        yf = import_yfinance()
        now = self.clock()
        parts = []
        tz = None
        ticker = yf.Ticker(symbol, session=self.session) if self.session else yf.Ticker(symbol)
        for lo, hi in chunks(timeframe, start, end, now):
            pdf = self._history(ticker, symbol, timeframe, lo, hi, settings)
            if pdf is None or pdf.empty:
                continue
            parts.append(history_to_frame(pdf))
            tz = (ticker.history_metadata or {}).get("exchangeTimezoneName") or tz
        if not parts:
            raise SourceError(
                f"Yahoo returned no {timeframe} bars for {symbol} between "
                f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC (market closed, or symbol delisted?)"
            )
        return pl.concat(parts).unique(subset=["ts"], keep="last").sort("ts"), tz

    def _history(
        self,
        ticker: Any,
        symbol: str,
        timeframe: str,
        lo: datetime,
        hi: datetime,
        settings: YahooSettings,
    ) -> Any:
        yf = import_yfinance()
        from yfinance.exceptions import YFException, YFRateLimitError

        def call() -> Any:
            return ticker.history(
                start=lo,
                end=hi,
                interval=YAHOO_LIMITS[timeframe].interval,
                prepost=settings.prepost,
                auto_adjust=False,
                actions=False,
                repair=False,
            )

        policy = RetryPolicy(
            retries=settings.retries,
            base=settings.backoff_seconds,
            cap=60.0,
            deadline=self.deadline,
            **({"sleep": self.sleep} if self.sleep else {}),
        )
        yf.config.debug.hide_exceptions = False  # we want Yahoo's reason, not an empty frame
        try:
            return within(
                lambda: call_with_retry(call, retry_on=(YFRateLimitError,), policy=policy),
                self.deadline,
                f"Yahoo {symbol} {timeframe}",
            )
        except YFRateLimitError as exc:
            raise SourceError(
                f"Yahoo rate-limited {symbol} (HTTP 429) {settings.retries + 1} times in a row; try later"
            ) from exc
        except YFException as exc:
            raise SourceError(f"Yahoo: {symbol} {timeframe}: {first_line(exc, 300)}") from exc
        except SourceError:
            raise  # the deadline passed: its message says so
        except Exception as exc:
            if is_offline(exc):
                raise NetworkUnavailable(NO_NETWORK) from exc
            if isinstance(exc, requests.exceptions.RequestException):
                raise SourceError(f"cannot reach Yahoo for {symbol}: {describe(exc)}") from exc
            # yfinance choked on an odd answer: fail this unit, not the run
            raise SourceError(
                f"Yahoo's answer for {symbol} {timeframe} could not be read: "
                f"{type(exc).__name__}: {first_line(exc, 300)}"
            ) from exc


# ---------------------------------------------------------------------------- transform (pure)


def history_to_frame(pdf: Any) -> pl.DataFrame:
    """yfinance history (pandas, exchange-zone index) → long Polars frame with UTC `ts`."""
    pdf = pdf.reset_index()
    time_col = next(c for c in ("Datetime", "Date", "index") if c in pdf.columns)
    frame = pl.from_pandas(pdf[[time_col, "Open", "High", "Low", "Close", "Volume"]])
    ts = pl.col(time_col)
    if frame.schema[time_col].time_zone is None:  # type: ignore[union-attr]
        ts = ts.dt.replace_time_zone("UTC")
    return frame.select(
        ts.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("ts"),
        pl.col("Open").cast(pl.Float64).alias("open"),
        pl.col("High").cast(pl.Float64).alias("high"),
        pl.col("Low").cast(pl.Float64).alias("low"),
        pl.col("Close").cast(pl.Float64).alias("close"),
        pl.col("Volume").cast(pl.Float64).alias("volume"),
    )


def to_bar_frame(frame: pl.DataFrame, instrument_id: str, timeframe: str) -> pl.DataFrame:
    """Add the key and source columns and put the frame in BAR_SCHEMA order."""
    return frame.with_columns(
        pl.lit(instrument_id).alias("instrument_id"),
        pl.lit(timeframe).alias("timeframe"),
        pl.lit("yahoo").alias("source"),
    ).select(list(BAR_SCHEMA))


def to_quote(
    meta: dict[str, Any], hourly: pl.DataFrame | None, instrument_id: str, symbol: str
) -> dict[str, Any] | None:
    """A QUOTE_SCHEMA record from a chart answer: price = meta's regularMarketPrice at
    regularMarketTime; change_pct over 24 h against the close of the last hourly bar that
    closed at or before that time − 24 h (as-of, like ccxt's rolling 24 h), when that close is
    at most QUOTE_REFERENCE_AGE older (a long holiday leaves the change blank)."""
    price, at = meta.get("regularMarketPrice"), meta.get("regularMarketTime")
    # yfinance turns regularMarketTime into a pandas Timestamp; the raw answer has epoch seconds
    seconds = at.timestamp() if hasattr(at, "timestamp") else at
    if not isinstance(price, int | float) or not isinstance(seconds, int | float):
        return None
    if not math.isfinite(price) or price <= 0:
        return None
    ts = datetime.fromtimestamp(seconds, UTC)
    change = None
    if hourly is not None and hourly.height:
        cut = ts - timedelta(hours=24)
        ref = hourly.filter(
            (pl.col("ts") + timedelta(hours=1) <= cut)
            & (pl.col("ts") + timedelta(hours=1) >= cut - QUOTE_REFERENCE_AGE)
            & (pl.col("close") > 0)
        ).sort("ts")
        if ref.height:
            change = 100 * (price / ref["close"][-1] - 1)
    return {
        "instrument_id": instrument_id,
        "ts": ts,
        "source": "yahoo",
        "price": float(price),
        "change_pct": change,
        "captured_from": f"Yahoo chart {symbol}",
    }


# ---------------------------------------------------------------------------- helpers


def import_yfinance() -> Any:
    """yfinance, imported on first use (a command that needs no Yahoo does not pay for it)."""
    import logging

    import yfinance

    # yfinance logs its own warnings (cookie, crumb) on stderr; we report failures ourselves.
    logging.getLogger("yfinance").setLevel(logging.ERROR)
    return yfinance


_cache_dir_set: Path | None = None


def use_cache_dir(path: Path) -> None:
    """Keep yfinance's caches (time zones, cookies) under the data dir, not in ~/.cache."""
    global _cache_dir_set
    if _cache_dir_set == path:
        return
    path.mkdir(parents=True, exist_ok=True)
    import_yfinance().set_tz_cache_location(str(path))
    _cache_dir_set = path
