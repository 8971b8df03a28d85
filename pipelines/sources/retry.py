"""Retry with exponential backoff and full jitter, shared by every network source."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

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


def call_with_retry(
    fn: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    never: tuple[type[BaseException], ...] = (),
    backoff: Backoff | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call fn(); on an exception in `retry_on` (and not in `never`) wait and try again.

    The last exception is re-raised once the attempts are used up; exceptions in `never`
    (checked first, because they may subclass a retried family) are raised at once.
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
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            backoff.sleep(delay)
