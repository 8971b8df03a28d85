"""The write side of streaming: a bounded buffer of ticker updates and the once-a-second writer.

Updates arrive on the websocket loop's thread (pipelines/sources/ccxt_stream.py); the writer
thread turns them into quote rows with the REST quotes' transform (`to_quote_frame`), validates
them, and commits at most `max_batch` of them per `flush_seconds` through `store.writing` (the
one write path). A failed commit puts its rows back for the next one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from pipelines import store
from pipelines.config import Instrument
from pipelines.errors import TickerwireError, first_line
from pipelines.schemas import Reject, validate_quotes
from pipelines.sources.ccxt_source import to_quote_frame

REJECT_SOURCE = "ccxt-stream"
# Seconds a commit waits for another writer (a scheduled refresh committing) before it retries.
WRITE_WAIT = 5.0

Report = Callable[[str], None]


class Pacing(Protocol):
    """What the writer needs of the stream settings."""

    flush_seconds: float
    max_batch: int


# ---------------------------------------------------------------------------- the buffer


@dataclass
class Update:
    """One ticker as the exchange parsed it, with where it came from."""

    venue: str
    inst: Instrument
    symbol: str
    ticker: dict[str, Any]


class QuoteBuffer:
    """Updates and rejects waiting for the writer; bounded (the oldest go first, counted)."""

    def __init__(self, max_pending: int):
        self.updates: deque[Update] = deque()
        self.rejects: list[Reject] = []
        self.max_pending = max_pending
        self.dropped = 0  # updates pushed out because the writer fell this far behind
        self.received = 0
        self._lock = threading.Lock()

    def add(self, update: Update) -> None:
        """Queue one update (called on the websocket loop's thread)."""
        with self._lock:
            self.received += 1
            self.updates.append(update)
            if len(self.updates) > self.max_pending:
                self.updates.popleft()
                self.dropped += 1

    def reject(self, reason: str, raw: str) -> None:
        """Queue an input that could not be used, with why."""
        with self._lock:
            self.rejects.append(Reject(reason=reason, raw=raw[:2000]))

    def take(self, limit: int) -> tuple[list[Update], list[Reject]]:
        """Up to `limit` of the oldest updates and every pending reject."""
        with self._lock:
            n = min(limit, len(self.updates))
            taken = [self.updates.popleft() for _ in range(n)]
            rejects, self.rejects = self.rejects, []
        return taken, rejects

    def put_back(self, updates: list[Update], rejects: list[Reject]) -> None:
        """Return what a failed commit took, ahead of what arrived since."""
        with self._lock:
            self.updates.extendleft(reversed(updates))
            self.rejects[:0] = rejects

    def __len__(self) -> int:
        return len(self.updates)


def to_frame(updates: list[Update], now: datetime) -> tuple[pl.DataFrame, list[Reject]]:
    """Buffered tickers → valid quote rows (the REST quotes' transform) and rejects."""
    rejects = [
        Reject(f"{u.venue} websocket ticker {u.symbol} without a last price", str(u.ticker)[:500])
        for u in updates
        if u.ticker.get("last") is None
    ]
    frames = []
    by_venue: dict[str, list[Update]] = {}
    for u in updates:
        if u.ticker.get("last") is not None:
            by_venue.setdefault(u.venue, []).append(u)
    for venue, group in by_venue.items():
        # to_quote_frame maps symbol → ticker; numbered keys let one call hold every update of a
        # symbol, and the number is taken off the captured_from text afterwards.
        keys = [f"{u.symbol}#{n}" for n, u in enumerate(group)]
        frame = to_quote_frame(
            {k: u.ticker for k, u in zip(keys, group, strict=True)},
            [(u.inst, k) for k, u in zip(keys, group, strict=True)],
            venue,
            now,
        )
        frames.append(
            frame.with_columns(
                pl.col("captured_from").str.replace(r" ticker (.*)#\d+$", " websocket ticker $1")
            )
        )
    if not frames:
        return pl.DataFrame(), rejects
    valid, bad = validate_quotes(pl.concat(frames))
    return valid.sort("instrument_id", "ts", "source"), rejects + bad


# ---------------------------------------------------------------------------- the writer


class StreamWriter:
    """Commits the buffer every `flush_seconds` through `store.writing`, until stopped."""

    def __init__(self, db_path: str | Path, buffer: QuoteBuffer, settings: Pacing, report: Report):
        self.db_path, self.buffer, self.settings, self.report = db_path, buffer, settings, report
        self.stored = 0
        self.rejected = 0
        self.commits = 0
        self.failing: str | None = None  # the reason of the current run of failed commits

    def run(self, stop: threading.Event) -> None:
        """Flush once per interval; after `stop`, flush what is left and return."""
        interval = self.settings.flush_seconds
        started = time.monotonic()
        # Commits start on a grid of `interval` from the first one: a commit that took 0.3 s is
        # followed by the next one 0.7 s later, never sooner.
        while not stop.wait(max(0.0, interval - (time.monotonic() - started))):
            started = time.monotonic()
            self.flush()
        while self.flush() and (len(self.buffer) or self.buffer.rejects):
            time.sleep(self.settings.flush_seconds)  # still one commit per interval at most

    def flush(self) -> bool:
        """Commit one bounded batch; False when the commit failed (its rows stay buffered)."""
        updates, rejects = self.buffer.take(self.settings.max_batch)
        if not updates and not rejects:
            return True
        frame, bad = to_frame(updates, datetime.now(UTC))
        try:
            with store.writing(self.db_path, "stream", wait=WRITE_WAIT, migrate=False) as writer:
                frames = {"quotes": frame} if frame.height else {}
                results = store.commit_batch(
                    writer, REJECT_SOURCE, "", frames, rejects=rejects + bad
                )
        except TickerwireError as exc:
            self.buffer.put_back(updates, rejects)
            reason = first_line(exc)
            if reason != self.failing:
                self.report(f"stream: commit failed, kept {len(updates)} updates: {reason}")
            self.failing = reason
            return False
        if self.failing:
            self.report("stream: commits work again")
            self.failing = None
        self.commits += 1
        self.stored += results["quotes"].stored if "quotes" in results else 0
        self.rejected += len(rejects) + len(bad)
        return True
