"""A local 127.0.0.1 HTTP server answering in Binance's kline / 24 h ticker JSON formats.

Used by the ops tests to drive refresh through a real HTTP client (requests) in-process or
from subprocesses. Bars are a deterministic function of (symbol, minute index), so a crashed
and resumed database can be compared with a clean one. Faults are injected per symbol by a
queue of fault names consumed one per request: timeout, 429, 500, 503, malformed, refuse.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the first bar of every symbol
MINUTE_MS = 60_000
BASES = {"BTC": 90_000.0, "ETH": 3_000.0, "SOL": 150.0, "XRP": 2.0, "DOGE": 0.2, "ADA": 0.5}


def kline(symbol: str, i: int) -> list:
    """The i-th one-minute kline of a symbol (deterministic, always a valid bar)."""
    base = BASES.get(symbol, 10.0)
    close = base * (1 + 0.02 * math.sin(i / 37.0) + 0.005 * math.cos(i / 5.0))
    open_ = base * (1 + 0.02 * math.sin((i - 1) / 37.0) + 0.005 * math.cos((i - 1) / 5.0))
    high = max(open_, close) * 1.001
    low = min(open_, close) * 0.999
    open_ms = T0_MS + i * MINUTE_MS
    return [
        open_ms, f"{open_:.8f}", f"{high:.8f}", f"{low:.8f}", f"{close:.8f}",
        f"{(i % 97) + 1.5:.4f}", open_ms + MINUTE_MS - 1, "0", 10, "0", "0", "0",
    ]  # fmt: skip


class MarketServer:
    """The server plus its knobs: how many bars exist per symbol, faults, a request log."""

    def __init__(self, n_bars: int = 100, bars_per_second: float = 0.0, timeout_sleep: float = 1.0):
        self.n_bars_fixed = n_bars
        self.bars_per_second = bars_per_second  # > 0: the market grows with wall time
        self.timeout_sleep = timeout_sleep
        self.started = time.monotonic()
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[tuple[str, str]] = []  # (path, symbol)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MarketServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def n_bars(self) -> int:
        """Bars available now for each symbol."""
        grown = int((time.monotonic() - self.started) * self.bars_per_second)
        return self.n_bars_fixed + grown

    def set_bars(self, n: int) -> None:
        """Fix the number of bars available (stops wall-clock growth)."""
        with self.lock:
            self.n_bars_fixed, self.bars_per_second = n, 0.0

    def inject(self, symbol: str, *faults: str) -> None:
        """Queue faults for the next requests about `symbol`."""
        with self.lock:
            self.faults[symbol].extend(faults)

    def count(self, symbol: str, path_part: str = "") -> int:
        """How many requests about `symbol` (whose path contains path_part) arrived."""
        with self.lock:
            return sum(1 for p, s in self.requests if s == symbol and path_part in p)

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        """Answer one GET: a queued fault, klines, or a ticker."""
        url = urlparse(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        symbol = query.get("symbol", "").removesuffix("USDT")
        with self.lock:
            self.requests.append((url.path, symbol))
            fault = self.faults[symbol].popleft() if self.faults[symbol] else None
        if fault == "timeout":
            time.sleep(self.timeout_sleep)
            return self._send(req, 200, b"[]")
        if fault == "429":
            return self._send(
                req, 429, b'{"code":-1003,"msg":"Too many requests."}', {"Retry-After": "0"}
            )
        if fault in ("500", "502", "503"):
            return self._send(req, int(fault), b"<html>upstream error</html>", ctype="text/html")
        if fault == "malformed":
            return self._send(req, 200, b'[[1767225600000, "1.0", "1.1"')
        if fault == "refuse":
            req.close_connection = True
            req.connection.close()
            return None
        if url.path == "/api/v3/klines":
            return self._klines(req, symbol, query)
        if url.path == "/api/v3/ticker/24hr":
            return self._ticker(req, symbol)
        return self._send(req, 404, b'{"code":-1,"msg":"not found"}')

    def _klines(self, req: BaseHTTPRequestHandler, symbol: str, query: dict[str, str]) -> None:
        start_ms = int(query.get("startTime", T0_MS))
        limit = min(int(query.get("limit", 500)), 1000)
        first = max(0, -(-(start_ms - T0_MS) // MINUTE_MS))
        last = min(self.n_bars(), first + limit)
        body = json.dumps([kline(symbol, i) for i in range(first, last)]).encode()
        self._send(req, 200, body)

    def _ticker(self, req: BaseHTTPRequestHandler, symbol: str) -> None:
        n = self.n_bars()
        last = kline(symbol, n - 1)
        prev = kline(symbol, max(0, n - 1440))
        change = (float(last[4]) / float(prev[4]) - 1) * 100
        body = {
            "symbol": f"{symbol}USDT",
            "lastPrice": last[4],
            "priceChangePercent": f"{change:.3f}",
            "closeTime": last[6],
        }
        self._send(req, 200, json.dumps(body).encode())

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        ctype: str = "application/json",
    ) -> None:
        try:
            req.send_response(status)
            req.send_header("Content-Type", ctype)
            req.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer
