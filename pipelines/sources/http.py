"""A small HTTP client for sources: timeouts, conditional GET, retries with backoff, one-line errors.

Usage::

    client = HttpClient(timeout=10, retries=3)
    result = client.get(url, etag=old_etag, last_modified=old_lm)
    if result.not_modified: ...            # 304: keep what we have
    else: parse(result.content); save(result.etag, result.last_modified)

Behaviour:
- timeouts (connect, read) on every request, and a total `deadline` per GET (all attempts,
  waits and the body together): a server trickling its answer cannot hold a refresh longer;
- a response larger than `max_bytes` is refused;
- retries on timeouts, HTTP 429 and 5xx with exponential backoff plus jitter, honouring a
  `Retry-After` header (seconds or an HTTP date) up to `max_delay`;
- DNS failure or refused connection → `NetworkUnavailable` at once (no retry: nothing to wait for);
- any other failure → `SourceError` with one line naming the URL and the cause.
`sleep` is injectable so tests run without waiting.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3

from pipelines.errors import NetworkUnavailable, SourceError
from pipelines.sources.retry import root_cause

USER_AGENT = "tickerwire/0.1 (+https://github.com/; news and price research tool)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


@dataclass
class FetchResult:
    """What a GET returned: status, body bytes, validators for the next conditional GET."""

    url: str
    status: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        """True for 304 Not Modified (the caller keeps what it has)."""
        return self.status == 304

    @property
    def content_type(self) -> str:
        """The Content-Type header ('' when absent)."""
        return self.headers.get("Content-Type", "") or ""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """A requests session with the policies above; one per source run."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] = (5.0, 20.0),
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        max_bytes: int = 20_000_000,
        deadline: float = 60.0,
        user_agent: str = USER_AGENT,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.clock: Callable[[], float] = time.monotonic
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", user_agent)
        self.sleep = sleep

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        base = min(self.max_delay, self.backoff * 2**attempt)
        return base * (0.5 + random.random() / 2)  # jitter: spread retries of many clients

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET with conditional headers and retries; raises SourceError / NetworkUnavailable."""
        send = dict(headers or {})
        if etag:
            send["If-None-Match"] = etag
        if last_modified:
            send["If-Modified-Since"] = last_modified
        last_problem = ""
        ends = self.clock() + self.deadline
        for attempt in range(self.retries + 1):
            retry_after = None
            left = ends - self.clock()
            if left <= 0:
                raise SourceError(f"GET {url}: {self._late(last_problem)}")
            try:
                response = self.session.get(
                    url, params=params, headers=send, timeout=self._timeouts(left), stream=True
                )
            except requests.exceptions.Timeout:
                last_problem = "timed out"
            except requests.exceptions.ConnectionError as exc:
                raise NetworkUnavailable(f"GET {url}: cannot connect ({_root_cause(exc)})") from exc
            except requests.exceptions.RequestException as exc:
                raise SourceError(f"GET {url}: {_root_cause(exc)}") from exc
            else:
                status = response.status_code
                if status in RETRY_STATUSES:
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                    last_problem = f"HTTP {status} {response.reason or ''}".strip()
                    response.close()
                else:
                    return self._finish(url, response, attempt + 1, ends)
            if attempt < self.retries:
                delay = self._delay(attempt, retry_after)
                if self.clock() + delay >= ends:
                    raise SourceError(f"GET {url}: {self._late(last_problem)}")
                self.sleep(delay)
        raise SourceError(f"GET {url}: {last_problem} after {self.retries + 1} attempts")

    def _timeouts(self, left: float) -> tuple[float, float]:
        """(connect, read) timeouts, neither beyond the time left before the deadline."""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        return (min(connect, left), min(read, left))

    def _late(self, last_problem: str) -> str:
        why = f" (last: {last_problem})" if last_problem else ""
        return f"no complete answer within the {self.deadline:g} s deadline{why}"

    def _finish(
        self, url: str, response: requests.Response, attempts: int, ends: float
    ) -> FetchResult:
        status = response.status_code
        headers = dict(response.headers)
        if status == 304:
            response.close()
            return FetchResult(url, 304, b"", headers, attempts=attempts)
        if status >= 400:
            response.close()
            raise SourceError(f"GET {url}: HTTP {status} {response.reason or ''}".rstrip())
        chunks, size = [], 0
        try:
            for chunk in _arriving(response):
                if self.clock() > ends:
                    raise SourceError(f"GET {url}: body still arriving; {self._late('')}")
                size += len(chunk)
                if size > self.max_bytes:
                    raise SourceError(
                        f"GET {url}: response larger than {self.max_bytes} bytes; refused"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"GET {url}: body cut short ({_root_cause(exc)})") from exc
        finally:
            response.close()
        return FetchResult(
            url=response.url or url,
            status=status,
            content=b"".join(chunks),
            headers=headers,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            attempts=attempts,
        )


def _arriving(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: each piece as soon as the socket has some (not 64 KiB at a time).

    `iter_content` waits for a full chunk, so a server sending a byte every few seconds would
    never let the deadline be checked.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(65536)
        return
    try:
        while True:
            piece = read1(65536, decode_content=True)
            if not piece:
                return
            yield piece
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError, OSError) as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc


def fetch(url: str, **kwargs: Any) -> FetchResult:
    """One GET with a default client (see HttpClient.get for the keyword arguments)."""
    return HttpClient().get(url, **kwargs)


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, on one line."""
    seen = root_cause(exc)
    text = str(seen) or type(seen).__name__
    if (
        "Name or service not known" in text
        or "nodename nor servname" in text
        or "getaddrinfo" in text
    ):
        return "DNS lookup failed"
    if "Connection refused" in text:
        return "connection refused"
    return " ".join(text.split())[:200]
