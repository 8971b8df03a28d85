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
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipelines.config import Config
from pipelines.errors import FetchError, NetworkUnavailable, SourceError
from pipelines.schemas import ohlcv_frame, timeframe_delta, validate_bars, validate_quotes
from pipelines.sources import Batch, State
from pipelines.sources.http import HttpClient
from pipelines.store import Reject

URL_ENV = "TICKERWIRE_SYNTHETIC_URL"
SYMBOLS_ENV = "TICKERWIRE_SYNTHETIC_SYMBOLS"
PAGE_ENV = "TICKERWIRE_SYNTHETIC_PAGE"  # klines per request (Binance allows up to 1000)
# The oldest bar time a fresh database asks for; the endpoint answers from its first bar.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def get_json(client: HttpClient, url: str, params: dict[str, Any], stats: dict[str, int]) -> Any:
    """GET a JSON document through the shared HttpClient (its retry policy); FetchError when it fails.

    The policy is pipelines.sources.http's: timeouts, 429 and 5xx are retried with backoff
    (Retry-After honoured); DNS failures and refused connections fail at once; a body that is
    not JSON is not retried (asking again gives the same answer) and is kept as a reject.
    """
    try:
        result = client.get(url, params=params)
    except NetworkUnavailable as exc:
        stats["network_unavailable"] = stats.get("network_unavailable", 0) + 1
        raise FetchError("network", str(exc)) from exc
    except SourceError as exc:
        stats["failed_requests"] = stats.get("failed_requests", 0) + 1
        raise FetchError("http", str(exc)) from exc
    stats["requests"] = stats.get("requests", 0) + result.attempts
    if result.attempts > 1:
        stats["retries"] = stats.get("retries", 0) + result.attempts - 1
    try:
        return json.loads(result.content)
    except ValueError:
        stats["malformed"] = stats.get("malformed", 0) + 1
        raw = result.content[:2000].decode("utf-8", errors="replace")
        raise FetchError("malformed", "malformed response: body is not JSON", raw) from None


def klines_frame(payload: Any, instrument_id: str, timeframe: str, source: str) -> pl.DataFrame:
    """Binance klines (list of lists) → bar rows; ValueError when the shape is not klines."""
    if not isinstance(payload, list) or not all(
        isinstance(row, list) and len(row) >= 6 for row in payload
    ):
        raise ValueError(
            "malformed response: expected a list of klines [open_ms, o, h, l, c, v, …]"
        )
    return ohlcv_frame(payload, instrument_id, timeframe, source)


class SyntheticSource:
    """Bars (klines) and 24 h tickers from a Binance-shaped endpoint, incremental by cursor."""

    kinds = ("prices", "quotes")

    def __init__(
        self,
        base_url: str | None = None,
        symbols: list[str] | None = None,
        *,
        name: str = "synthetic",
        client: HttpClient | None = None,
        timeframe: str = "1m",
        page_limit: int | None = None,
        max_pages: int = 500,
    ):
        self.name = name
        self.base_url = base_url
        self.symbols = symbols
        self.client = client
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
        client = self.client or HttpClient(timeout=(5.0, 20.0), retries=3)
        for instrument_id in symbols:
            if "prices" in only:
                yield from self._bars(client, base, instrument_id, state)
            if "quotes" in only:
                yield self._quote(client, base, instrument_id)

    def _bars(
        self, client: HttpClient, base: str, instrument_id: str, state: State
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
                payload = get_json(client, f"{base}/api/v3/klines", params, self.stats)
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

    def _quote(self, client: HttpClient, base: str, instrument_id: str) -> Batch:
        key = f"{instrument_id}/ticker"
        url = f"{base}/api/v3/ticker/24hr"
        try:
            payload = get_json(client, url, {"symbol": f"{instrument_id}USDT"}, self.stats)
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
