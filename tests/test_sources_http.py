"""The HTTP client sources share: timeouts, conditional GET, retries, one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses

from pipelines.errors import NetworkUnavailable, SourceError
from pipelines.sources.http import HttpClient, retry_after_seconds

URL = "https://feeds.example.com/news.xml"


def client(**kwargs) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient(sleep=waits.append, **kwargs), waits


@responses.activate
def test_conditional_get_sends_validators_and_reports_304():
    responses.get(
        URL,
        status=304,
        match=[
            responses.matchers.header_matcher(
                {"If-None-Match": '"v1"', "If-Modified-Since": "Wed, 18 Jun 2025 18:00:00 GMT"}
            )
        ],
    )
    http, _ = client()
    result = http.get(URL, etag='"v1"', last_modified="Wed, 18 Jun 2025 18:00:00 GMT")
    assert result.not_modified and result.content == b""


@responses.activate
def test_ok_response_returns_body_and_validators():
    responses.get(
        URL,
        body=b"<rss/>",
        headers={"ETag": '"v2"', "Last-Modified": "Thu, 19 Jun 2025 00:00:00 GMT"},
    )
    http, _ = client()
    result = http.get(URL)
    assert (result.status, result.content, result.etag) == (200, b"<rss/>", '"v2"')
    assert result.last_modified == "Thu, 19 Jun 2025 00:00:00 GMT"


@responses.activate
def test_retries_5xx_with_growing_jittered_backoff_then_succeeds():
    responses.get(URL, status=503)
    responses.get(URL, status=502)
    responses.get(URL, body=b"ok")
    http, waits = client(retries=3, backoff=1.0)
    result = http.get(URL)
    assert result.content == b"ok" and result.attempts == 3
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


@responses.activate
def test_429_honours_retry_after():
    responses.get(URL, status=429, headers={"Retry-After": "7"})
    responses.get(URL, body=b"ok")
    http, waits = client(retries=2, max_delay=60)
    assert http.get(URL).content == b"ok"
    assert waits == [7.0]


@responses.activate
def test_retry_after_is_capped_by_max_delay():
    responses.get(URL, status=503, headers={"Retry-After": "3600"})
    responses.get(URL, body=b"ok")
    http, waits = client(retries=1, max_delay=10)
    http.get(URL)
    assert waits == [10]


def test_retry_after_accepts_http_dates():
    now = datetime(2025, 6, 18, 18, 0, tzinfo=UTC)
    assert retry_after_seconds("Wed, 18 Jun 2025 18:00:30 GMT", now) == 30
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("soon") is None


@responses.activate
def test_persistent_5xx_gives_one_line_error_after_all_attempts():
    responses.get(URL, status=500)
    http, waits = client(retries=2)
    with pytest.raises(SourceError) as info:
        http.get(URL)
    message = str(info.value)
    assert "\n" not in message
    assert message == f"GET {URL}: HTTP 500 Internal Server Error after 3 attempts"
    assert len(waits) == 2


@responses.activate
def test_timeouts_are_retried_then_reported():
    responses.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    http, waits = client(retries=1)
    with pytest.raises(SourceError, match="timed out after 2 attempts"):
        http.get(URL)
    assert len(waits) == 1


@responses.activate
def test_404_is_not_retried():
    responses.get(URL, status=404)
    http, waits = client(retries=3)
    with pytest.raises(SourceError, match="HTTP 404 Not Found$"):
        http.get(URL)
    assert waits == [] and len(responses.calls) == 1


@responses.activate
def test_connection_failure_is_network_unavailable_without_retry():
    responses.get(URL, body=requests.exceptions.ConnectionError("Name or service not known"))
    http, waits = client(retries=3)
    with pytest.raises(NetworkUnavailable, match="DNS lookup failed"):
        http.get(URL)
    assert waits == []


def test_refused_connection_on_localhost_is_network_unavailable():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http, _ = client(retries=0, timeout=2)
    with pytest.raises(NetworkUnavailable, match="cannot connect"):
        http.get(f"http://127.0.0.1:{port}/feed")


@responses.activate
def test_oversized_body_is_refused():
    responses.get(URL, body=b"x" * 5000)
    http, _ = client(max_bytes=1000)
    with pytest.raises(SourceError, match="larger than 1000 bytes"):
        http.get(URL)
