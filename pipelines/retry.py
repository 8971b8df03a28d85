"""The one retry policy: every network call (HttpClient, ccxt, yfinance) and the store's lock
waits retry through `RetryPolicy` and `call_with_retry`, and bound their whole work by a deadline.

"retries" means the tries after the first one (0: try once). Waits grow as base·2^n up to
`cap`, each drawn in [½, 1] of that (jitter spreads clients that failed together); a server's
Retry-After is waited as asked. `deadline` bounds every try and wait together: a retry that
could not start before it is not started, and `within` stops waiting for a call that hangs.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pipelines.errors import SourceError, first_line

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How to retry: tries after the first, base and cap of the waits (seconds), total deadline."""

    retries: int = 4
    base: float = 1.0
    cap: float = 30.0
    deadline: float | None = None  # seconds for all tries and waits; None: no limit
    retry_after_cap: float | None = None  # None: a server's Retry-After is waited in full
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic

    def wait(self, n: int, retry_after: float | None = None) -> float:
        """The wait before retry n (0 for the first retry): Retry-After when given, else backoff."""
        if retry_after is not None:
            cap = self.retry_after_cap
            return max(0.0, retry_after if cap is None else min(cap, retry_after))
        top = min(self.cap, self.base * 2**n)
        return top * (0.5 + self.rng.random() / 2)

    def ends(self) -> float | None:
        """The clock reading the deadline falls on, for work starting now (None: no deadline)."""
        return None if self.deadline is None else self.clock() + self.deadline


class TryAgain(Exception):
    """A try that may succeed when repeated (a timeout, 429, 5xx), with the server's Retry-After."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.retry_after = retry_after


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
    policy: RetryPolicy | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    give_up: Callable[[BaseException], bool] | None = is_offline,
) -> T:
    """Call fn(); on an exception in `retry_on` (and not in `never`) wait and try again.

    The last exception is re-raised once the retries are used up, or when the next wait would
    end past the policy's deadline; exceptions in `never` (checked first, because they may
    subclass a retried family) are raised at once, and so is one for which `give_up` says
    retrying is pointless (by default: no network at all).
    """
    policy = policy or RetryPolicy()
    ends = policy.ends()
    for n in range(policy.retries + 1):
        try:
            return fn()
        except never:
            raise
        except retry_on as exc:
            if n == policy.retries or (give_up is not None and give_up(exc)):
                raise
            delay = policy.wait(n, exc.retry_after if isinstance(exc, TryAgain) else None)
            if ends is not None and policy.clock() + delay >= ends:
                raise
            if on_retry is not None:
                on_retry(n + 1, exc, delay)
            policy.sleep(delay)
    raise AssertionError("unreachable: the last try returns or raises")


def within(fn: Callable[[], T], seconds: float, what: str) -> T:
    """fn()'s result, or SourceError when it has not answered within `seconds`.

    For libraries whose own timeouts are per socket read (a server trickling bytes, or one
    that never answers, holds them): the call runs in a daemon thread that is left to its
    socket timeouts once the deadline passed, and its late answer is dropped.
    """
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"within:{what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise SourceError(f"{what}: no complete answer within the {seconds:g} s deadline")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
