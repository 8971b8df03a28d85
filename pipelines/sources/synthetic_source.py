"""A minimal price source over a Binance-shaped JSON REST endpoint, for exercising refresh.

It exists so that the refresh machinery (locking, commits, crash safety, fault handling) can be
run end to end against a local HTTP server through a real HTTP client. It is off unless
`TICKERWIRE_SYNTHETIC_URL` names an endpoint base (e.g. http://127.0.0.1:8765); symbols come
from `TICKERWIRE_SYNTHETIC_SYMBOLS` (comma separated instrument ids, default BTC,ETH), the
page size from `TICKERWIRE_SYNTHETIC_PAGE` (default 1000).

Endpoints read (Binance spot REST formats):
  GET {base}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=<ms>&limit=<n>
      → [[open_ms, "open", "high", "low", "close", "volume", close_ms, ...], ...]
  GET {base}/api/v3/ticker/24hr?symbol=BTCUSDT
      → {"symbol": ..., "lastPrice": "...", "priceChangePercent": "...", "closeTime": <ms>}
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
import requests

from pipelines.config import Config
from pipelines.schemas import timeframe_delta, validate_bars, validate_quotes
from pipelines.sources import Batch, State
from pipelines.store import Reject

URL_ENV = "TICKERWIRE_SYNTHETIC_URL"
SYMBOLS_ENV = "TICKERWIRE_SYNTHETIC_SYMBOLS"
PAGE_ENV = "TICKERWIRE_SYNTHETIC_PAGE"  # klines per request (Binance allows up to 1000)
# The oldest bar time a fresh database asks for; the endpoint answers from its first bar.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FetchError(Exception):
    """One request that failed for good; `kind` says how (timeout, dns, http_429, …)."""

    def __init__(self, kind: str, message: str, attempts: int, raw: str = ""):
        super().__init__(message)
        self.kind = kind
        self.attempts = attempts
        self.raw = raw


@dataclass
class RetryPolicy:
    """Which failures are retried, how often, and how long to wait (exponential, full jitter)."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    timeout: float = 10.0  # seconds per request (connect and read)
    max_retry_after: float = 30.0  # a 429's Retry-After is honoured up to this
    retried: frozenset[str] = frozenset(
        {"timeout", "dns", "connection", "http_429", "http_5xx"}
    )  # malformed bodies and other 4xx are not: asking again gives the same answer
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before attempt `attempt + 1`: Retry-After if the server gave one, else jittered backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def classify(exc: requests.RequestException) -> str:
    """Name a requests failure: timeout, dns (name resolution), or connection."""
    if isinstance(exc, requests.Timeout):
        return "timeout"
    text = str(exc)
    if (
        "NameResolutionError" in text
        or "Name or service not known" in text
        or ("Temporary failure in name resolution" in text)
    ):
        return "dns"
    return "connection"


def get_json(
    session: requests.Session,
    url: str,
    params: dict[str, Any],
    policy: RetryPolicy,
    stats: dict[str, int],
) -> Any:
    """GET a JSON document, retrying the failures the policy names; FetchError when it gives up."""
    attempt = 0
    while True:
        attempt += 1
        stats["requests"] = stats.get("requests", 0) + 1
        retry_after: float | None = None
        raw = ""
        try:
            response = session.get(url, params=params, timeout=policy.timeout)
            raw = response.text[:2000]
            if response.status_code == 429:
                kind, message = "http_429", "rate limited (HTTP 429)"
                retry_after = _retry_after(response.headers.get("Retry-After"))
            elif response.status_code >= 500:
                kind, message = "http_5xx", f"server error (HTTP {response.status_code})"
            elif response.status_code >= 400:
                kind, message = "http_4xx", f"refused (HTTP {response.status_code})"
            else:
                try:
                    return response.json()
                except ValueError:
                    kind, message = "malformed", "malformed response: body is not JSON"
        except requests.RequestException as exc:
            kind = classify(exc)
            host = requests.utils.urlparse(url).hostname
            message = {
                "timeout": f"timed out after {policy.timeout:g} s",
                "dns": f"cannot resolve {host} (network down or DNS failure)",
                "connection": f"cannot connect to {host}",
            }[kind]
        stats[kind] = stats.get(kind, 0) + 1
        if kind not in policy.retried or attempt >= policy.attempts:
            tries = f" after {attempt} attempts" if attempt > 1 else ""
            raise FetchError(kind, f"{message}{tries}", attempt, raw)
        stats["retries"] = stats.get("retries", 0) + 1
        policy.sleep(policy.delay(attempt, retry_after))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date Retry-After: fall back to our own backoff


def klines_frame(payload: Any, instrument_id: str, timeframe: str, source: str) -> pl.DataFrame:
    """Binance klines (list of lists) → bar rows; ValueError when the shape is not klines."""
    if not isinstance(payload, list) or not all(
        isinstance(row, list) and len(row) >= 6 for row in payload
    ):
        raise ValueError(
            "malformed response: expected a list of klines [open_ms, o, h, l, c, v, …]"
        )
    frame = pl.DataFrame(
        {
            "ts": [row[0] for row in payload],
            "open": [row[1] for row in payload],
            "high": [row[2] for row in payload],
            "low": [row[3] for row in payload],
            "close": [row[4] for row in payload],
            "volume": [row[5] for row in payload],
        },
        schema={c: pl.Utf8 for c in ("ts", "open", "high", "low", "close", "volume")},
        strict=False,
    )
    return frame.select(
        pl.lit(instrument_id).alias("instrument_id"),
        pl.lit(timeframe).alias("timeframe"),
        pl.col("ts").cast(pl.Int64, strict=False).cast(pl.Datetime("ms", "UTC")).alias("ts"),
        *(
            pl.col(c).cast(pl.Float64, strict=False)
            for c in ("open", "high", "low", "close", "volume")
        ),
        pl.lit(source).alias("source"),
    )


class SyntheticSource:
    """Bars (klines) and 24 h tickers from a Binance-shaped endpoint, incremental by cursor."""

    kinds = ("prices", "quotes")

    def __init__(
        self,
        base_url: str | None = None,
        symbols: list[str] | None = None,
        *,
        name: str = "synthetic",
        policy: RetryPolicy | None = None,
        timeframe: str = "1m",
        page_limit: int | None = None,
        max_pages: int = 500,
    ):
        self.name = name
        self.base_url = base_url
        self.symbols = symbols
        self.policy = policy or RetryPolicy()
        self.timeframe = timeframe
        self.page_limit = page_limit or int(os.environ.get(PAGE_ENV, "1000"))
        self.max_pages = max_pages
        self.stats: dict[str, int] = {}

    def disabled_reason(self) -> str | None:
        """Why refresh should leave this source out (no endpoint configured), else None."""
        if self.base_url or os.environ.get(URL_ENV):
            return None
        return f"not configured ({URL_ENV} is not set)"

    def run(self, config: Config, state: State, only: set[str]) -> Iterator[Batch]:
        """Yield one batch per page of klines per symbol, then one quote batch per symbol."""
        self.stats = {}
        base = self.base_url or os.environ.get(URL_ENV, "")
        if not base:
            yield Batch(self.name, "", skipped=f"not configured ({URL_ENV} is not set)")
            return
        symbols = self.symbols or [
            s.strip() for s in os.environ.get(SYMBOLS_ENV, "BTC,ETH").split(",") if s.strip()
        ]
        with requests.Session() as session:
            for instrument_id in symbols:
                if "prices" in only:
                    yield from self._bars(session, base, instrument_id, state)
                if "quotes" in only:
                    yield self._quote(session, base, instrument_id)

    def _bars(
        self, session: requests.Session, base: str, instrument_id: str, state: State
    ) -> Iterator[Batch]:
        key = f"{instrument_id}/{self.timeframe}"
        step = timeframe_delta(self.timeframe)
        cursor = state.get(key, (None, None))[0]
        start = cursor + step if cursor is not None else EPOCH
        for _page in range(self.max_pages):
            params = {
                "symbol": f"{instrument_id}USDT",
                "interval": self.timeframe,
                "startTime": int(start.timestamp() * 1000),
                "limit": self.page_limit,
            }
            try:
                payload = get_json(
                    session, f"{base}/api/v3/klines", params, self.policy, self.stats
                )
                frame = klines_frame(payload, instrument_id, self.timeframe, self.name)
            except FetchError as exc:
                rejects = [Reject(str(exc), exc.raw)] if exc.kind == "malformed" else []
                yield Batch(self.name, key, error=str(exc), rejects=rejects)
                return
            except ValueError as exc:
                yield Batch(
                    self.name,
                    key,
                    error=str(exc),
                    rejects=[Reject(str(exc), json.dumps(payload)[:2000])],
                )
                return
            good, rejects = validate_bars(frame)
            if good.height == 0 and not rejects:
                return  # caught up
            newest = good["ts"].max() if good.height else None
            yield Batch(
                self.name,
                key,
                frames={"bars": good},
                cursor_ts=newest if newest is not None else cursor,
                rejects=rejects,
            )
            if frame.height < self.page_limit or newest is None:
                return
            cursor, start = newest, newest + step
        yield Batch(
            self.name, key, error=f"stopped after {self.max_pages} pages; the rest next run"
        )

    def _quote(self, session: requests.Session, base: str, instrument_id: str) -> Batch:
        key = f"{instrument_id}/ticker"
        url = f"{base}/api/v3/ticker/24hr"
        try:
            payload = get_json(
                session, url, {"symbol": f"{instrument_id}USDT"}, self.policy, self.stats
            )
            frame = pl.DataFrame(
                {
                    "instrument_id": [instrument_id],
                    "ts": [datetime.fromtimestamp(int(payload["closeTime"]) / 1000, UTC)],
                    "source": [self.name],
                    "price": [float(payload["lastPrice"])],
                    "change_pct": [float(payload["priceChangePercent"])],
                    "captured_from": [url],
                }
            )
        except FetchError as exc:
            rejects = [Reject(str(exc), exc.raw)] if exc.kind == "malformed" else []
            return Batch(self.name, key, error=str(exc), rejects=rejects)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"malformed ticker: {type(exc).__name__} {exc}"
            return Batch(
                self.name, key, error=reason, rejects=[Reject(reason, str(payload)[:2000])]
            )
        good, rejects = validate_quotes(frame)
        return Batch(self.name, key, frames={"quotes": good}, rejects=rejects)
