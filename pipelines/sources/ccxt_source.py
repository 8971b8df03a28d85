"""Crypto bars and quotes from exchanges through ccxt: extract (HTTP via ccxt) → transform (frames).

One ccxt exchange instance per venue and process (its rate limiter lives in the instance).
Each instrument is resolved to the first configured venue whose markets list it (markets cached
for a day under the data dir); a coin no venue lists is marked unavailable, never a crash.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ccxt
import polars as pl

from pipelines.config import Config, Instrument
from pipelines.errors import NetworkUnavailable, SourceError, first_line
from pipelines.retry import RetryPolicy, call_with_retry, describe, is_offline, within
from pipelines.schemas import (
    QUOTE_SCHEMA,
    bars_in_range,
    instrument_row,  # also imported from here by other modules: keep the name
    ohlcv_frame,
    timeframe_delta,
)
from pipelines.sources import Batch, State
from pipelines.sources.incremental import refresh_unit

# Defaults of a refresh: which bars, how far back the first run reaches, how many bars before
# the cursor each run re-reads (exchanges revise the last bars now and then).
DEFAULT_TIMEFRAMES: tuple[str, ...] = ("1m", "1h", "1d")
DEFAULT_LOOKBACK: dict[str, timedelta] = {
    "1m": timedelta(days=2),
    "5m": timedelta(days=10),
    "15m": timedelta(days=30),
    "1h": timedelta(days=90),
    "4h": timedelta(days=365),
    "1d": timedelta(days=3 * 365),
}
OVERLAP_BARS = 3
MARKETS_TTL = timedelta(days=1)
MAX_PAGES = 10_000  # guards against an exchange that keeps answering the same page
# Seconds one request may take with all its retries (ccxt's own timeout is per socket read, so
# a venue trickling its answer, or never sending one, would hold a refresh without this).
DEADLINE = 60.0

# Largest page each venue serves for OHLCV (documented limits); others get a safe default.
PAGE_LIMITS: dict[str, int] = {
    "binance": 1000,
    "bybit": 1000,
    "okx": 300,
    "kraken": 720,
    "kucoin": 1500,
    "coinbase": 300,
    "bitfinex": 10000,
    "hyperliquid": 5000,
    "gate": 1000,
    "mexc": 1000,
}
DEFAULT_PAGE_LIMIT = 500

# Load spot markets only where ccxt would otherwise also fetch derivatives/options lists:
# fewer requests, and the watchlist trades spot.
VENUE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}},
    "bybit": {"fetchMarkets": {"types": ["spot"]}},
    "okx": {"fetchMarkets": {"types": ["spot"]}},
    "kucoin": {"fetchMarkets": {"types": ["spot"]}},
    "hyperliquid": {"fetchMarkets": {"types": ["spot"]}},
}

# Errors worth another try (the NetworkError family: DDoSProtection, RateLimitExceeded,
# RequestTimeout, ExchangeNotAvailable, …); an ExchangeError (BadSymbol, …) never is.
RETRIED = (ccxt.NetworkError,)
NOT_RETRIED = (ccxt.ExchangeError,)


class ExchangeRegistry:
    """One ccxt instance per venue for the whole process (so each venue's rate limit holds)."""

    def __init__(self, timeout_ms: int = 20_000, options: dict[str, dict[str, Any]] | None = None):
        self.timeout_ms = timeout_ms
        self.options = options if options is not None else VENUE_OPTIONS
        self._instances: dict[str, ccxt.Exchange] = {}
        self._lock = threading.Lock()

    def get(self, venue: str) -> ccxt.Exchange:
        """The venue's exchange instance, created on first use."""
        with self._lock:
            if venue not in self._instances:
                cls = getattr(ccxt, venue, None)
                if cls is None or not isinstance(cls, type):
                    raise SourceError(f"ccxt has no exchange named {venue!r}")
                self._instances[venue] = cls(
                    {
                        "enableRateLimit": True,
                        "timeout": self.timeout_ms,
                        "options": dict(self.options.get(venue, {})),
                    }
                )
            return self._instances[venue]


_PROCESS_REGISTRY = ExchangeRegistry()


@dataclass
class Resolution:
    """Where an instrument is traded: the candidate (venue, symbol) pairs in order, and why not."""

    candidates: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)  # "venue (symbol)" that do not list it
    lookup_failed: bool = False  # a venue could not be asked (so "not listed" is not proven)


class CcxtSource:
    """Bars (paginated fetch_ohlcv) and quotes (fetch_tickers) for the ccxt instruments."""

    name = "ccxt"
    kinds = ("prices", "quotes")

    def __init__(
        self,
        *,
        timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
        lookback: dict[str, timedelta] | None = None,
        overlap_bars: int = OVERLAP_BARS,
        retry: RetryPolicy | None = None,
        deadline: float = DEADLINE,
        registry: ExchangeRegistry | None = None,
        clock: Callable[[], datetime] | None = None,
        cache_dir: Path | None = None,
    ):
        for tf in timeframes:
            timeframe_delta(tf)
        self.timeframes = tuple(timeframes)
        self.lookback = {**DEFAULT_LOOKBACK, **(lookback or {})}
        self.overlap_bars = overlap_bars
        self.retry = retry or RetryPolicy(retries=4, base=1.0, cap=30.0)
        self.deadline = deadline
        self.registry = registry or _PROCESS_REGISTRY
        self.clock = clock or (lambda: datetime.now(UTC))
        self.cache_dir = cache_dir
        self._markets_ready: dict[str, bool] = {}
        self._offline: str | None = None  # set once the network is found missing: ask no more

    # -- the Source protocol ---------------------------------------------------------------

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """Yield a bars batch per (instrument, timeframe) and a quotes batch per venue."""
        kinds = set(only) & set(self.kinds) if only else set(self.kinds)
        if not kinds:
            return
        cache_dir = self.cache_dir or markets_cache_dir(config)
        by_venue: dict[str, list[tuple[Instrument, str]]] = {}
        for inst in (i for i in config.instruments if i.source == "ccxt"):
            res = self.resolve(inst, cache_dir)
            if not res.candidates:
                yield self._unresolved_batch(inst, res)
                continue
            if "prices" in kinds:
                for tf in self.timeframes:
                    batch = self.bars_batch(inst, res, tf, _cursor(state, inst, tf))
                    if batch.error is None:
                        # Later timeframes and the quotes go to the venue that served the bars.
                        served = batch.source.removeprefix("ccxt:")
                        res.candidates.sort(key=lambda c, v=served: c[0] != v)
                    yield batch
            venue, symbol = res.candidates[0]
            by_venue.setdefault(venue, []).append((inst, symbol))
        if "quotes" in kinds:
            for venue, pairs in by_venue.items():
                yield self.quotes_batch(venue, pairs)

    @property
    def offline(self) -> str | None:
        """Why the network is known to be missing in this process run (None while it works)."""
        return self._offline

    # -- venue resolution ------------------------------------------------------------------

    def resolve(self, inst: Instrument, cache_dir: Path) -> Resolution:
        """The venues (in configured order) whose markets list the instrument's symbol."""
        res = Resolution()
        symbols = [None, *inst.fallback_symbols]
        for venue in inst.venues:
            try:
                markets = self.markets(venue, cache_dir)
            except NetworkUnavailable as exc:
                res.problems.append(str(exc))
                res.lookup_failed = True
                continue
            except (ccxt.BaseError, SourceError) as exc:
                res.problems.append(f"{venue}: markets unavailable ({describe(exc)})")
                res.lookup_failed = True
                continue
            for sym in symbols:
                symbol = sym or inst.symbol_on(venue)
                market = markets.get(symbol)
                if market is not None and market.get("active") is not False:
                    res.candidates.append((venue, symbol))
                    break
            else:
                res.unlisted.append(f"{venue} ({inst.symbol_on(venue)})")
        return res

    def markets(self, venue: str, cache_dir: Path) -> dict[str, Any]:
        """The venue's markets: from a cache file younger than a day, else load_markets()."""
        exchange = self.registry.get(venue)
        if self._markets_ready.get(venue) and exchange.markets:
            return exchange.markets
        path = cache_dir / f"{venue}-markets.json"
        cached = _read_markets_cache(path)
        now = self.clock()
        if cached is not None and now - cached[0] < MARKETS_TTL:
            exchange.set_markets(cached[1])
        else:
            try:
                if self._offline:
                    raise NetworkUnavailable(f"{venue}: not asked, {self._offline}")
                self._call(lambda: exchange.load_markets(reload=True), f"{venue} markets")
            except (ccxt.NetworkError, SourceError) as exc:  # SourceError: the deadline too
                if isinstance(exc, ccxt.NetworkError) and is_offline(exc):
                    self._offline = "no network (DNS lookup or route failed)"
                    exc = NetworkUnavailable(f"{venue}: cannot reach it, {self._offline}")
                if cached is None:
                    raise exc from None
                exchange.set_markets(cached[1])  # a stale list beats none while offline
            else:
                _write_markets_cache(path, now, exchange.markets)
        self._markets_ready[venue] = True
        return exchange.markets

    def _unresolved_reason(self, inst: Instrument, res: Resolution) -> str:
        parts = [f"not listed on {', '.join(res.unlisted)}"] if res.unlisted else []
        reason = "; ".join(parts + res.problems) or "no venue configured"
        if res.lookup_failed and self._offline:
            reason = f"{self._offline}; could not ask {', '.join(inst.venues)}"
        return reason

    def _unresolved_batch(self, inst: Instrument, res: Resolution) -> Batch:
        reason = self._unresolved_reason(inst, res)
        if res.lookup_failed:
            # Some venue could not be asked, so we cannot say the coin is unlisted.
            return Batch(source="ccxt", key=inst.id, error=reason)
        row = instrument_row(inst, None, None, available=False, reason=reason)
        return Batch(source="ccxt", key=inst.id, frames={"instruments": row}, skipped=reason)

    # -- bars ------------------------------------------------------------------------------

    def bars(
        self, config: Config, inst: Instrument, timeframe: str, since: datetime, until: datetime
    ) -> Batch:
        """Complete bars of [since, until) from the first configured venue that lists and serves them."""
        res = self.resolve(inst, self.cache_dir or markets_cache_dir(config))
        if not res.candidates:
            reason = self._unresolved_reason(inst, res)
            raise NetworkUnavailable(reason) if self._offline else SourceError(reason)
        return self.fetch_range(inst, res, timeframe, since, until)

    def bars_batch(
        self, inst: Instrument, res: Resolution, timeframe: str, cursor: datetime | None
    ) -> Batch:
        """Refresh's unit: the bars after the cursor (minus an overlap) up to now, or why not."""
        step = timeframe_delta(timeframe)
        now = self.clock()
        since = (
            cursor - self.overlap_bars * step
            if cursor is not None
            else now - self.lookback.get(timeframe, DEFAULT_LOOKBACK["1d"])
        )
        return refresh_unit(
            lambda: self.fetch_range(inst, res, timeframe, since, now),
            "ccxt",
            f"{inst.id}/{timeframe}",
            cursor,
        )

    def fetch_range(
        self, inst: Instrument, res: Resolution, timeframe: str, since: datetime, until: datetime
    ) -> Batch:
        """[since, until) from the first candidate venue that serves it; SourceError otherwise."""
        problems: list[str] = []
        for venue, symbol in res.candidates:
            try:
                rows = self.fetch_bars(venue, symbol, timeframe, since, until)
            except ccxt.BadSymbol as exc:
                problems.append(f"{venue}: {symbol} refused ({first_line(exc, 300)})")
                continue  # listed in the markets but refused: try the next venue
            except (ccxt.BaseError, SourceError) as exc:
                raise SourceError(f"{venue} ({symbol}): {describe(exc)}") from exc
            frame = to_bar_frame(rows, inst.id, timeframe, venue)
            bars, rejects = bars_in_range(frame, timeframe, since, until, self.clock())
            return Batch(
                source=f"ccxt:{venue}",
                key=f"{inst.id}/{timeframe}",
                frames={
                    "bars": bars,
                    "instruments": instrument_row(inst, venue, symbol, available=True),
                },
                cursor_ts=bars["ts"].max() if bars.height else None,  # type: ignore[arg-type]
                rejects=rejects,
            )
        raise SourceError("every venue refused it: " + "; ".join(problems))

    def fetch_bars(
        self,
        venue: str,
        symbol: str,
        timeframe: str,
        since: datetime,
        until: datetime | None,
    ) -> list[list[Any]]:
        """Page through fetch_ohlcv from `since` until an empty page, `until`, or the present."""
        exchange = self.registry.get(venue)
        step_ms = int(timeframe_delta(timeframe).total_seconds() * 1000)
        limit = PAGE_LIMITS.get(venue, DEFAULT_PAGE_LIMIT)
        now_ms = _ms(self.clock())
        end_ms = min(_ms(until), now_ms) if until is not None else now_ms
        cursor_ms = _ms(since)
        rows: list[list[Any]] = []
        for _ in range(MAX_PAGES):
            page = self._call(
                lambda c=cursor_ms: exchange.fetch_ohlcv(symbol, timeframe, c, limit),
                f"{venue} {symbol} {timeframe} bars",
            )
            page = [r for r in page if r and r[0] is not None and r[0] >= cursor_ms]
            if not page:
                break
            rows.extend(page)
            last_ms = max(r[0] for r in page)
            cursor_ms = last_ms + step_ms
            if cursor_ms >= end_ms:
                break
        if until is not None:
            rows = [r for r in rows if r[0] < _ms(until)]
        return rows

    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        """One ccxt request with its retries, all within the deadline (a hung venue cannot hold us)."""
        policy = replace(self.retry, deadline=self.deadline)
        return within(
            lambda: call_with_retry(fn, retry_on=RETRIED, never=NOT_RETRIED, policy=policy),
            self.deadline,
            what,
        )

    # -- quotes ----------------------------------------------------------------------------

    def quotes_batch(self, venue: str, pairs: list[tuple[Instrument, str]]) -> Batch:
        """Last price and 24 h change for the venue's instruments (one request when it can)."""
        exchange = self.registry.get(venue)
        symbols = [s for _, s in pairs]
        try:
            if exchange.has.get("fetchTickers"):
                tickers = self._call(lambda: exchange.fetch_tickers(symbols), f"{venue} tickers")
            else:
                tickers = {}
                for s in symbols:
                    tickers[s] = self._call(lambda s=s: exchange.fetch_ticker(s), f"{venue} {s}")
        except (ccxt.BaseError, SourceError) as exc:
            return Batch(
                source=f"ccxt:{venue}",
                key="quotes",
                error=f"{venue}: {describe(exc)}",
            )
        frame = to_quote_frame(tickers, pairs, venue, self.clock())
        missing = [inst.id for inst, s in pairs if s not in tickers]
        return Batch(
            source=f"ccxt:{venue}",
            key="quotes",
            frames={"quotes": frame},
            skipped=f"no ticker for {', '.join(missing)}" if missing else None,
        )


# ---------------------------------------------------------------------------- transform (pure)


def to_bar_frame(
    rows: list[list[Any]], instrument_id: str, timeframe: str, venue: str
) -> pl.DataFrame:
    """ccxt OHLCV rows ([ms, o, h, l, c, v]) → a BAR_SCHEMA frame (UTC open times), one bar
    per open time (the last one given wins), oldest first."""
    return (
        ohlcv_frame(rows, instrument_id, timeframe, f"ccxt:{venue}")
        .unique(subset=["ts"], keep="last", maintain_order=True)
        .sort("ts")
    )


def to_quote_frame(
    tickers: dict[str, dict[str, Any]],
    pairs: list[tuple[Instrument, str]],
    venue: str,
    now: datetime,
) -> pl.DataFrame:
    """ccxt tickers → a QUOTE_SCHEMA frame (price = last, change_pct = 24 h percentage)."""
    records = []
    for inst, symbol in pairs:
        t = tickers.get(symbol)
        if not t or t.get("last") is None:
            continue
        ts = (
            datetime.fromtimestamp(t["timestamp"] / 1000, tz=UTC)
            if t.get("timestamp") is not None
            else now
        )
        records.append(
            {
                "instrument_id": inst.id,
                "ts": ts,
                "source": f"ccxt:{venue}",
                "price": float(t["last"]),
                "change_pct": float(t["percentage"]) if t.get("percentage") is not None else None,
                "captured_from": f"{venue} ticker {symbol}",
            }
        )
    return pl.DataFrame(records, schema=QUOTE_SCHEMA)


# ---------------------------------------------------------------------------- helpers


def markets_cache_dir(config: Config) -> Path:
    """data/cache/ccxt next to the database file."""
    return Path(config.db_path).parent / "cache" / "ccxt"


def _read_markets_cache(path: Path) -> tuple[datetime, dict[str, Any]] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(doc["fetched_at"]), doc["markets"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no cache, or a damaged one: load afresh


def _write_markets_cache(path: Path, now: datetime, markets: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"fetched_at": now.isoformat(), "markets": markets}, default=str),
        encoding="utf-8",
    )
    tmp.replace(path)  # atomic, so a reader never sees half a file


def _cursor(state: State, inst: Instrument, timeframe: str) -> datetime | None:
    entry = state.get(f"{inst.id}/{timeframe}")
    return entry[0] if entry else None


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)
