"""Retry with exponential backoff and full jitter, shared by every network source."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from pipelines.errors import first_line

T = TypeVar("T")


@dataclass
class Backoff:
    """How to retry: attempts in total, base and cap of the delay (seconds), and the clock."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delays(self) -> Iterator[float]:
        """The waits between attempts: uniform in [0, min(cap, base·2^n)] ("full jitter")."""
        # Full jitter spreads clients that failed together, so they do not retry in lock step.
        for n in range(max(self.attempts - 1, 0)):
            yield self.rng.uniform(0, min(self.cap, self.base * 2**n))


# What the OS says when there is no network at all (no DNS, no route): retrying cannot help.
_OFFLINE_MARKERS = (
    "Name or service not known",
    "Temporary failure in name resolution",
    "nodename nor servname provided",
    "NameResolutionError",
    "Failed to resolve",
    "Network is unreachable",
    "No route to host",
    "Could not resolve host",
)


def exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it wraps (__cause__, else __context__), outermost first."""
    chain = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (ccxt and yfinance wrap the requests error)."""
    return exception_chain(exc)[-1]


def is_offline(exc: BaseException) -> bool:
    """True when the failure means the machine has no network (DNS or route), not a busy server."""
    return any(marker in str(e) for e in exception_chain(exc) for marker in _OFFLINE_MARKERS)


def describe(exc: BaseException, limit: int = 240) -> str:
    """One line naming the error and, when it wraps another, the underlying reason."""
    text = f"{type(exc).__name__}: {first_line(exc)}"
    cause = root_cause(exc)
    if cause is not exc:
        reason = first_line(cause)
        if is_offline(exc):
            reason = "no network (DNS lookup or route failed)"
        text += f" ({reason})"
    return text[:limit]


def call_with_retry(
    fn: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    never: tuple[type[BaseException], ...] = (),
    backoff: Backoff | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    give_up: Callable[[BaseException], bool] | None = is_offline,
) -> T:
    """Call fn(); on an exception in `retry_on` (and not in `never`) wait and try again.

    The last exception is re-raised once the attempts are used up; exceptions in `never`
    (checked first, because they may subclass a retried family) are raised at once, and so
    is one for which `give_up` says retrying is pointless (by default: no network at all).
    """
    backoff = backoff or Backoff()
    delays = backoff.delays()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except never:
            raise
        except retry_on as exc:
            delay = next(delays, None)
            if delay is None or (give_up is not None and give_up(exc)):
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            backoff.sleep(delay)
