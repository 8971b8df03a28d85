"""A local HTTP receiver on 127.0.0.1 for webhook alerts (apprise `json://127.0.0.1:PORT/`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Records every POST (arrival time + JSON body); answers 200, or `status`, or hangs `hang` s."""

    def __init__(self, status: int = 200, hang: float = 0.0):
        self.status = status
        self.hang = hang
        self.posts: list[tuple[float, dict[str, Any]]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    payload = {"raw": body.decode("utf-8", "replace")}
                receiver.posts.append((time.perf_counter(), payload))
                receiver.arrived.set()
                if receiver.hang:
                    time.sleep(receiver.hang)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The apprise URL of this receiver."""
        return f"json://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
