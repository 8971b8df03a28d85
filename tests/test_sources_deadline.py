"""A slow server cannot hold a fetch past its total deadline, nor a refresh's lock meanwhile."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines import store
from pipelines.config import parse_config
from pipelines.errors import SourceError
from pipelines.refresh import run_refresh
from pipelines.sources.http import HttpClient
from pipelines.sources.rss_source import RssSource


class _Trickle(BaseHTTPRequestHandler):
    """Sends headers at once, then one byte of body every 0.3 s for up to a minute."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass  # the client gave up, as it should


@pytest.fixture
def trickle_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()


def test_a_trickling_body_stops_at_the_total_deadline(trickle_url):
    client = HttpClient(timeout=(2.0, 10.0), retries=2, deadline=2.0)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="deadline") as info:
        client.get(trickle_url)
    elapsed = time.monotonic() - t0
    # Each byte arrives well inside the 10 s read timeout: only the deadline can stop it.
    assert 2.0 <= elapsed < 4.0, elapsed
    assert "body still arriving" in str(info.value)


def test_no_retry_is_started_that_cannot_finish_before_the_deadline():
    # A port nobody answers on quickly: a listening socket that never accepts.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
        client = HttpClient(timeout=(0.5, 0.5), retries=10, backoff=5.0, deadline=1.5)
        t0 = time.monotonic()
        with pytest.raises(SourceError, match="deadline|timed out"):
            client.get(url)
        assert time.monotonic() - t0 < 3.0


def test_refresh_holds_no_lock_while_a_feed_trickles(tmp_path, trickle_url):
    config = parse_config(
        {"feeds": [{"url": trickle_url, "outlet": "Slow Wire"}]}, tmp_path / "c.toml"
    )
    db = tmp_path / "slow.duckdb"
    with store.writing(db, "init"):
        pass
    source = RssSource(client=HttpClient(timeout=(2.0, 10.0), retries=0, deadline=3.0))
    outcome: dict = {}

    def refresh() -> None:
        t0 = time.monotonic()
        outcome["summary"] = run_refresh(db, config, "news", sources={"rss": source})
        outcome["seconds"] = time.monotonic() - t0

    thread = threading.Thread(target=refresh)
    thread.start()
    time.sleep(1.0)  # the feed is trickling now
    t0 = time.monotonic()
    with store.writing(db, "import bars", wait=0) as writer:  # not blocked by the refresh
        writer.start_run("import:bars")
    waited = time.monotonic() - t0
    thread.join(30)
    assert waited < 1.0
    [rss] = outcome["summary"].outcomes
    assert rss.status == "failed" and "deadline" in rss.errors[0]
    assert outcome["seconds"] < 8
