"""Streaming quotes: ccxt's websocket API (ccxt.pro `watch_tickers`) into the store, once a second.

Started by `tickerwire schedule --stream` (or `[stream] enabled = true`) beside the scheduled
refreshes. The instruments are resolved to venues exactly as the REST quotes are
(`CcxtSource.resolve`, markets cached a day), and each ticker becomes a quote row through the
same transform (`to_quote_frame`). Three parts, each with one job:

* a watcher per venue (one asyncio loop in a thread) keeps a `watch_tickers` subscription
  alive, reconnecting with exponential backoff and jitter after a dropped connection;
* every ticker the exchange parses lands in a `QuoteBuffer` (thread-safe, bounded), together
  with what could not be used (a frame that is not JSON, a ticker without a price…) as rejects;
* a writer thread commits what is buffered at most once per `flush_seconds` (≥ 1 s), at most
  `max_batch` updates a commit, through `store.writing` (the one write path: refresh lock and
  writer gate, so readers are held back only for the brief commit). A failed commit keeps its
  rows buffered for the next one.

Config: `[stream]` (pipelines/live_settings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
from ccxt.async_support.base.ws.client import Client

from pipelines import store
from pipelines.config import Config, Instrument
from pipelines.errors import ConfigError, first_line
from pipelines.live_settings import StreamSettings
from pipelines.sources.ccxt_source import CcxtSource, markets_cache_dir
from pipelines.sources.stream_writer import QuoteBuffer, Report, StreamWriter, Update

# Per-venue arguments of watch_tickers: Binance's default stream is the mini ticker, which has
# no 24 h change; its full `<symbol>@ticker` stream has it.
WATCH_PARAMS: dict[str, dict[str, Any]] = {"binance": {"name": "ticker"}}
# Plain-text frames some venues send as keepalives (OKX answers "ping" with "pong").
KEEPALIVE = frozenset({"ping", "pong"})


# ---------------------------------------------------------------------------- the watchers


class _TolerantClient(Client):
    """ccxt's websocket client, except that a frame it cannot use becomes a reject.

    ccxt decodes and handles each frame inside a callback of its receive loop; an exception
    there (a truncated JSON frame, a ticker the parser chokes on) ends that loop without a word,
    and the stream would go quiet while the connection stays open."""

    buffer_sink: QuoteBuffer | None = None
    venue = ""

    def handle_text_or_binary_message(self, data: Any) -> None:  # noqa: D102 (ccxt's hook)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if (
            isinstance(text, str)
            and text.strip() not in KEEPALIVE
            and not text.startswith(("{", "["))
        ):
            # ccxt would hand plain text to the venue's handler, which ignores it silently
            self._reject("not a JSON object or array", text)
            return
        try:
            super().handle_text_or_binary_message(data)
        except Exception as exc:  # one bad frame must not stop the stream
            self._reject(f"{type(exc).__name__}: {first_line(exc)[:200]}", str(text))

    def _reject(self, why: str, raw: str) -> None:
        if self.buffer_sink is not None:
            self.buffer_sink.reject(f"{self.venue} websocket frame not understood: {why}", raw)


class _RecordingTickers(dict):
    """The exchange's `tickers` dict, also handing every ticker it stores to the buffer.

    watch_tickers returns only the update that resolved its future; updates parsed while no
    future was waiting would be skipped. Every parsed ticker is stored here, so none is."""

    def __init__(self, on_ticker: Callable[[str, dict[str, Any]], None]):
        super().__init__()
        self.on_ticker = on_ticker

    def __setitem__(self, symbol: str, ticker: dict[str, Any]) -> None:
        super().__setitem__(symbol, ticker)
        self.on_ticker(symbol, ticker)


def _point_at(urls: Any, url: str) -> Any:
    """The exchange's ws URL table with every entry replaced by `url` (a replay server…)."""
    if isinstance(urls, dict):
        return {k: _point_at(v, url) for k, v in urls.items()}
    return url if isinstance(urls, str) else urls


class VenueWatcher:
    """One venue's ticker subscription, kept alive with reconnects and backoff."""

    def __init__(
        self,
        venue: str,
        pairs: list[tuple[Instrument, str]],
        markets: dict[str, Any],
        buffer: QuoteBuffer,
        settings: StreamSettings,
        report: Report,
    ):
        self.venue, self.pairs, self.buffer = venue, pairs, buffer
        self.settings, self.report = settings, report
        self.by_symbol = {symbol: inst for inst, symbol in pairs}
        self.exchange = self._exchange(markets)
        self.reconnects = 0

    def _exchange(self, markets: dict[str, Any]) -> Any:
        cls = getattr(ccxt.pro, self.venue)
        exchange = cls({"enableRateLimit": True, "newUpdates": True})
        override = self.settings.urls.get(self.venue)
        if override:
            exchange.urls["api"]["ws"] = _point_at(exchange.urls["api"]["ws"], override)
        exchange.set_markets(markets)  # the REST source's markets: no second markets request
        exchange.tickers = _RecordingTickers(self._on_ticker)
        make_client = exchange.client

        def client(url: str) -> Any:
            made = make_client(url)
            if not isinstance(made, _TolerantClient):
                made.__class__ = _TolerantClient
                made.buffer_sink, made.venue = self.buffer, self.venue
            return made

        exchange.client = client
        return exchange

    def _on_ticker(self, symbol: str, ticker: dict[str, Any]) -> None:
        inst = self.by_symbol.get(symbol)
        if inst is None:
            self.buffer.reject(
                f"{self.venue} websocket ticker for {symbol}, which is not on the watchlist",
                str(ticker)[:500],
            )
            return
        self.buffer.add(Update(self.venue, inst, symbol, dict(ticker)))

    async def run(self, stop: threading.Event) -> None:
        """Watch until `stop`; a lost connection is one log line, then a reconnect after a backoff."""
        symbols = [s for _, s in self.pairs]
        params = WATCH_PARAMS.get(self.venue, {})
        delay = self.settings.backoff_seconds
        connected = False
        while not stop.is_set():
            try:
                await asyncio.wait_for(self.exchange.watch_tickers(symbols, params), timeout=1.0)
            except TimeoutError:
                continue  # nothing arrived this second: look at `stop`, then wait again
            except (ccxt.NetworkError, ccxt.ExchangeError, OSError) as exc:
                pause = delay * (0.5 + random.random() / 2)
                self.report(
                    f"stream {self.venue}: connection lost ({type(exc).__name__}: "
                    f"{first_line(exc)[:160]}); reconnecting in {pause:.1f} s"
                )
                self.reconnects += 1
                connected = False
                await _sleep_unless(stop, pause)
                delay = min(delay * 2, self.settings.backoff_max_seconds)
                continue
            if not connected:
                self.report(f"stream {self.venue}: receiving tickers for {len(symbols)} symbols")
                connected, delay = True, self.settings.backoff_seconds

    async def close(self) -> None:
        """Close the venue's websocket connections."""
        with contextlib.suppress(Exception):  # closing a half-open connection may fail; we leave
            await self.exchange.close()


async def _sleep_unless(stop: threading.Event, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < end:
        await asyncio.sleep(min(0.2, end - time.monotonic()))


# ---------------------------------------------------------------------------- the stream


def streamable_pairs(
    config: Config, settings: StreamSettings, source: CcxtSource | None = None
) -> tuple[dict[str, list[tuple[Instrument, str]]], dict[str, dict[str, Any]], list[str]]:
    """The watchlist's ccxt instruments by venue (resolved like the REST quotes), each venue's
    markets, and notes on what cannot be streamed."""
    source = source or CcxtSource()
    cache_dir = markets_cache_dir(config)
    by_venue: dict[str, list[tuple[Instrument, str]]] = {}
    notes: list[str] = []
    for inst in (i for i in config.instruments if i.source == "ccxt"):
        res = source.resolve(inst, cache_dir)
        if not res.candidates:
            notes.append(
                f"{inst.id}: not streamed ({'; '.join(res.problems) or 'no venue lists it'})"
            )
            continue
        venue, symbol = res.candidates[0]
        by_venue.setdefault(venue, []).append((inst, symbol))
    markets: dict[str, dict[str, Any]] = {}
    for venue in list(by_venue):
        cls = getattr(ccxt.pro, venue, None)
        wanted = not settings.venues or venue in settings.venues
        if not wanted or cls is None or not cls().has.get("watchTickers"):
            why = "not in [stream] venues" if not wanted else "ccxt cannot stream its tickers"
            notes.append(f"{venue}: not streamed ({why})")
            del by_venue[venue]
            continue
        markets[venue] = source.registry.get(venue).markets
    return by_venue, markets, notes


class QuoteStream:
    """The watchers (one asyncio loop in a thread) and the writer (a thread), started together."""

    def __init__(
        self,
        db_path: str | Path,
        config: Config,
        *,
        report: Report = print,
        settings: StreamSettings | None = None,
        source: CcxtSource | None = None,
    ):
        self.db_path, self.config, self.report = db_path, config, report
        self.settings = settings or StreamSettings.from_config(config)
        self.source = source
        self.buffer = QuoteBuffer(max_pending=10 * self.settings.max_batch)
        self.writer = StreamWriter(db_path, self.buffer, self.settings, report)
        self.watchers: list[VenueWatcher] = []
        self._stop_watching = threading.Event()
        self._stop_writing = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> QuoteStream:
        """Resolve the venues, then start watching and writing in the background."""
        by_venue, markets, notes = streamable_pairs(self.config, self.settings, self.source)
        for note in notes:
            self.report(f"stream: {note}")
        if not by_venue:
            raise ConfigError("stream: no ccxt instrument on the watchlist can be streamed")
        self.watchers = [
            VenueWatcher(v, pairs, markets[v], self.buffer, self.settings, self.report)
            for v, pairs in by_venue.items()
        ]
        names = ", ".join(f"{w.venue} ({len(w.pairs)})" for w in self.watchers)
        self.report(f"stream: watching {names}; one commit per {self.settings.flush_seconds:g} s")
        self._threads = [
            threading.Thread(target=self._watch, name="stream-watch", daemon=True),
            threading.Thread(
                target=self.writer.run,
                args=(self._stop_writing,),
                name="stream-write",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _watch(self) -> None:
        async def main() -> None:
            try:
                await asyncio.gather(*(w.run(self._stop_watching) for w in self.watchers))
            finally:
                await asyncio.gather(*(w.close() for w in self.watchers))

        asyncio.run(main())

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching, commit what is buffered, and wait for both threads."""
        # Watchers first, so that the writer's last commit holds everything that arrived.
        self._stop_watching.set()
        self._threads[0].join(timeout)
        self._stop_writing.set()
        self._threads[1].join(timeout)
        if self.buffer.dropped:
            self.report(
                f"stream: {self.buffer.dropped} updates dropped while the writer was behind"
            )
        self.report(
            f"stream: stopped; {self.buffer.received} updates received, {self.writer.stored} "
            f"stored, {self.writer.rejected} rejected in {self.writer.commits} commits"
        )


def start_stream_if_enabled(
    db_path: str | Path, config: Config, flag: bool, report: Report
) -> QuoteStream | None:
    """Start streaming when `--stream` was given or `[stream] enabled = true` (else None)."""
    settings = StreamSettings.from_config(config)
    if not (flag or settings.enabled):
        return None
    with store.writing(db_path, "stream", wait=10.0):
        pass  # create/migrate the file first: the stream's commits do not migrate
    return QuoteStream(db_path, config, report=report, settings=settings).start()
