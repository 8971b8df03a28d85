"""A local Binance spot websocket on 127.0.0.1 that streams `24hrTicker` events.

The protocol and payload follow Binance's WebSocket Streams documentation (Individual Symbol
Ticker Streams): the client sends `{"method": "SUBSCRIBE", "params": ["btcusdt@ticker"], "id": 1}`,
the server answers `{"result": null, "id": 1}` and then pushes one `24hrTicker` object per update.
Options make it misbehave the way venues do: a malformed frame every N messages, and a dropped
connection every few seconds (a close frame, as Binance sends before its 24-hour cut, or an
abrupt abort). Every frame sent is recorded, so a test can check that nothing was lost.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

# Frames a stream must refuse, each with a reason, without stopping: truncated JSON, plain
# text, a ticker of a symbol nobody subscribed to, a negative price, a ticker without one.
MALFORMED = [
    '{"e":"24hrTicker","s":"BTCUSDT","c":"6',
    "not json at all",
    '{"e":"24hrTicker","E":1,"s":"FOOUSDT","c":"1.5","P":"0.1","C":1}',
    '{"e":"24hrTicker","E":2,"s":"BTCUSDT","c":"-5.0","P":"0.1","C":2}',
    '{"e":"24hrTicker","E":3,"s":"ETHUSDT","P":"0.1","C":3}',
    "[1, 2",
]


def ticker_event(symbol: str, event_ms: int, last: float, change_pct: float) -> dict[str, Any]:
    """One `24hrTicker` payload as Binance documents it (numbers as strings)."""
    open_ = last / (1 + change_pct / 100)
    return {
        "e": "24hrTicker",
        "E": event_ms,
        "s": symbol,
        "p": f"{last - open_:.8f}",
        "P": f"{change_pct:.3f}",
        "w": f"{(last + open_) / 2:.8f}",
        "x": f"{open_:.8f}",
        "c": f"{last:.8f}",
        "Q": "0.01000000",
        "b": f"{last * 0.9999:.8f}",
        "B": "1.00000000",
        "a": f"{last * 1.0001:.8f}",
        "A": "1.00000000",
        "o": f"{open_:.8f}",
        "h": f"{max(last, open_) * 1.01:.8f}",
        "l": f"{min(last, open_) * 0.99:.8f}",
        "v": "1000.00000000",
        "q": f"{1000 * last:.8f}",
        "O": event_ms - 86_400_000,
        "C": event_ms,
        "F": 1,
        "L": 1000,
        "n": 1000,
    }


@dataclass
class Sent:
    """What the server put on the wire: valid ticker events and malformed frames."""

    tickers: list[dict[str, Any]] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


class BinanceReplay:
    """Binance's spot stream on a free local port, in a thread of its own."""

    def __init__(
        self,
        prices: dict[str, float],
        *,
        rate: float = 50.0,
        malformed_every: int | None = None,
        drop_every: float | None = None,
        abort: bool = False,
        limit: int | None = None,
    ):
        self.prices = dict(prices)  # exchange symbol id (BTCUSDT) -> starting price
        self.rate = rate  # ticker events per second, over all symbols
        self.malformed_every = malformed_every
        self.drop_every = drop_every
        self.abort = abort  # drop by cutting the TCP connection instead of a close frame
        self.limit = limit  # stop sending after this many ticker events
        self.sent = Sent()
        self.connections = 0
        self.subscriptions: list[list[str]] = []
        self._seq = 0
        self._t0_ms = int(time.time() * 1000)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        """The URL to give ccxt in place of wss://stream.binance.com:9443/ws."""
        return f"ws://127.0.0.1:{self.port}/ws"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        try:
            request = json.loads(await ws.recv())
            streams = [s.split("@")[0].upper() for s in request["params"]]
            self.subscriptions.append(streams)
            await ws.send(json.dumps({"result": None, "id": request["id"]}))
            await self._push(ws, [s for s in streams if s in self.prices])
        except ConnectionClosed:
            pass

    async def _push(self, ws: ServerConnection, symbols: list[str]) -> None:
        opened = time.monotonic()
        sent = 0
        while self._stop is not None and not self._stop.is_set():
            now = time.monotonic()
            if self.drop_every is not None and now - opened >= self.drop_every:
                if self.abort:
                    ws.transport.abort()
                else:
                    await ws.close(1001, "going away")
                return
            # keep to the rate on average: send what is due by now, then yield for 5 ms
            due = int((now - opened) * self.rate) - sent
            if self.limit is not None:
                due = min(due, self.limit - len(self.sent.tickers))
            for _ in range(max(0, due)):
                await ws.send(self._next_frame(symbols))
                sent += 1
            await asyncio.sleep(0.005)

    def _next_frame(self, symbols: list[str]) -> str:
        self._seq += 1
        if self.malformed_every and self._seq % self.malformed_every == 0:
            frame = MALFORMED[(self._seq // self.malformed_every) % len(MALFORMED)]
            self.sent.malformed.append(frame)
            return frame
        symbol = symbols[self._seq % len(symbols)]
        self.prices[symbol] *= 1.0001 if self._seq % 3 else 0.9998
        event = ticker_event(symbol, self._t0_ms + self._seq, self.prices[symbol], 1.5)
        self.sent.tickers.append(event)
        return json.dumps(event)

    def __enter__(self) -> BinanceReplay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
