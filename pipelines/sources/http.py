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
- retries on timeouts, HTTP 429 and 5xx through the shared `pipelines.retry.RetryPolicy`
  (`retries` = tries after the first; exponential backoff with jitter), waiting a
  `Retry-After` header (seconds or an HTTP date) as asked unless `max_delay` caps it;
- DNS failure or refused connection → `NetworkUnavailable` at once (no retry: nothing to wait for);
- any other failure → `SourceError` with one line naming the URL and the cause.
`sleep` is injectable so tests run without waiting.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3

from pipelines.errors import NetworkUnavailable, SourceError
from pipelines.retry import RetryPolicy, TryAgain, call_with_retry, root_cause

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
        max_delay: float | None = None,
        max_bytes: int = 20_000_000,
        deadline: float = 60.0,
        user_agent: str = USER_AGENT,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.timeout = timeout
        # The shared policy; `max_delay`, when given, caps both the backoff and a Retry-After
        # (by default a Retry-After is waited as asked, as long as it ends before the deadline).
        self.policy = RetryPolicy(
            retries=retries,
            base=backoff,
            cap=max_delay if max_delay is not None else 30.0,
            deadline=deadline,
            retry_after_cap=max_delay,
            sleep=sleep,
        )
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", user_agent)

    @property
    def retries(self) -> int:
        """Tries after the first one."""
        return self.policy.retries

    @property
    def deadline(self) -> float:
        """Seconds for every try, wait and the body of one GET together."""
        return self.policy.deadline or 0.0

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
        ends = self.policy.clock() + self.deadline
        tries: list[TryAgain] = []

        def attempt() -> FetchResult:
            left = ends - self.policy.clock()
            if left <= 0:
                raise SourceError(f"GET {url}: {self._late(tries)}")
            try:
                response = self.session.get(
                    url, params=params, headers=send, timeout=self._timeouts(left), stream=True
                )
            except requests.exceptions.Timeout:
                tries.append(TryAgain("timed out"))
                raise tries[-1] from None
            except requests.exceptions.ConnectionError as exc:
                raise NetworkUnavailable(f"GET {url}: cannot connect ({_root_cause(exc)})") from exc
            except requests.exceptions.RequestException as exc:
                raise SourceError(f"GET {url}: {_root_cause(exc)}") from exc
            if response.status_code in RETRY_STATUSES:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
                response.close()
                tries.append(TryAgain(reason, wait))
                raise tries[-1]
            return self._finish(url, response, len(tries) + 1, ends)

        try:
            return call_with_retry(attempt, retry_on=(TryAgain,), policy=self.policy, give_up=None)
        except TryAgain as exc:
            if len(tries) <= self.retries:  # stopped before the last try: the deadline
                raise SourceError(f"GET {url}: {self._late(tries)}") from None
            raise SourceError(f"GET {url}: {exc} after {len(tries)} attempts") from None

    def _timeouts(self, left: float) -> tuple[float, float]:
        """(connect, read) timeouts, neither beyond the time left before the deadline."""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        return (min(connect, left), min(read, left))

    def _late(self, tries: list[TryAgain]) -> str:
        why = f" (last: {tries[-1]})" if tries else ""
        if tries and tries[-1].retry_after is not None:
            why = f" (last: {tries[-1]}, asked to retry after {tries[-1].retry_after:g} s)"
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
                if self.policy.clock() > ends:
                    raise SourceError(f"GET {url}: body still arriving; {self._late([])}")
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
