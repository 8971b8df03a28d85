"""The intraday as-of rule (DESIGN §4) for one instrument, as array operations over all events.

Pure: numpy arrays in, numpy arrays out, no database. `align` puts one instrument's bars on
every event's grid at once (events × offsets matrices); `pipelines.analytics.abnormal` pairs a
target with its benchmark and fits the model. The DuckDB engine reads the bar ranges and calls
these per instrument; a distributed engine can call them per instrument partition.

The rule, per event at t0 and offset k (grid_at = t0 + k·Δ):
- P(grid_at) is the close of the last bar whose close time (open + Δ) is ≤ grid_at;
- it is stale (missing) when more than `stale` bars that should have closed after it, by
  grid_at, are absent; on a session calendar only bars opening while the market is open count;
- away from the anchor (k ≠ 0) a session calendar's price is missing while its market is
  closed at grid_at; in the event window an open market whose newest bar closed before the
  session opened has not traded yet (waiting: missing too);
- r_k = ln P_k − ln P_(k−1); in the event window the first price after a closure takes its
  return from the last price before it (back to k = t1 − 1 at most, with only closed grid
  points between): the reaction "at reopen", flagged with the session's open instant.
`sql/queries/study_align_intraday.sql` states the same rule in SQL; a test checks both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NO_TIME = np.iinfo(np.int64).min  # "no instant" in int64 µs arrays (reopen_at, session open)


@dataclass(frozen=True)
class Grid:
    """Event-time grid: bar length Δ in µs, offsets [k_lo, k_hi], windows, staleness in bars."""

    step_us: int
    k_lo: int
    k_hi: int
    l1: int
    l2: int
    t1: int
    t2: int
    stale: int = 2

    def offsets(self) -> np.ndarray:
        """The offsets k_lo … k_hi (one column each in the aligned matrices)."""
        return np.arange(self.k_lo, self.k_hi + 1, dtype=np.int64)

    def estimation_columns(self) -> np.ndarray:
        """Boolean mask of the columns inside the estimation window [l1, l2]."""
        ks = self.offsets()
        return (ks >= self.l1) & (ks <= self.l2)

    def event_columns(self) -> np.ndarray:
        """Boolean mask of the columns inside the event window [t1, t2] (outside [l1, l2])."""
        ks = self.offsets()
        return (ks >= self.t1) & (ks <= self.t2) & ~self.estimation_columns()


@dataclass(frozen=True)
class Bars:
    """One instrument's bars on the study's timeframe and its trading calendar.

    ts_us: bar open times in µs since the epoch, ascending, unique; close: their closes.
    sessions: (n, 2) open/close instants in µs of the calendar's sessions [open, close), by
    open time; None for a 24/7 market (an empty array: a calendar with no known session)."""

    ts_us: np.ndarray
    close: np.ndarray
    sessions: np.ndarray | None = None
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def irregular(self, step: int) -> np.ndarray:
        """Indices i where the bar after bar i does not open one step later (ascending)."""
        if step not in self._memo:
            self._memo[step] = np.flatnonzero(np.diff(self.ts_us) != step)
        return self._memo[step]


@dataclass(frozen=True)
class Aligned:
    """Events × offsets matrices of one instrument on the grid (NaN / NO_TIME where missing).

    prev_col: the column the return at each cell runs from (col − 1, or the last price before a
    closure for an "at reopen" return); reopen_at: the session open of such a return."""

    grid_at: np.ndarray
    price: np.ndarray
    ret: np.ndarray
    prev_col: np.ndarray
    reopen_at: np.ndarray


def align(bars: Bars, t0_us: np.ndarray, grid: Grid) -> Aligned:
    """Every event's grid rows for one instrument: as-of prices, staleness, returns, reopens."""
    step = grid.step_us
    ks = grid.offsets()
    grid_at = np.asarray(t0_us, dtype=np.int64)[:, None] + ks[None, :] * step
    latest_open = grid_at - step  # a bar closed by grid_at opened at or before this
    bar_ts, close = _as_of(bars, latest_open, step)
    if bars.sessions is None:
        return _align_24_7(grid, grid_at, latest_open, bar_ts, close)
    has_bar = bar_ts != NO_TIME
    n_missing = _missing_open_slots(bar_ts, latest_open, bars.sessions, step)
    market_open, session_open = _session_at(grid_at, bars.sessions)
    in_event = (ks >= grid.t1) & (ks <= grid.t2) & ~((ks >= grid.l1) & (ks <= grid.l2))
    waiting = (
        (in_event & (ks != 0))[None, :] & market_open & has_bar & (bar_ts + step <= session_open)
    )
    with np.errstate(invalid="ignore"):
        fresh = (
            has_bar
            & (close > 0)
            & (n_missing <= grid.stale)
            & ((ks == 0)[None, :] | market_open)
            & ~waiting
        )
    gap = ~fresh & ((ks == 0)[None, :] | (market_open & ~waiting))
    return _returns(grid, grid_at, close, fresh, gap, session_open)


def _align_24_7(
    grid: Grid, grid_at: np.ndarray, latest_open: np.ndarray, bar_ts: np.ndarray, close: np.ndarray
) -> Aligned:
    """The rule on a market that never closes: a price is fresh when its bar is at most
    `stale` slots older than the newest that could have closed; no return bridges a closure
    (a gap before a price is always a missing price), so each runs from the column before."""
    # bar_ts > latest_open − (stale + 1)·Δ  ⇔  ⌊(latest_open − bar_ts)/Δ⌋ ≤ stale; NO_TIME fails
    with np.errstate(invalid="ignore"):
        fresh = (bar_ts > latest_open - (grid.stale + 1) * grid.step_us) & (close > 0)
    price = np.where(fresh, close, np.nan)
    lnp = np.log(price)
    ret = np.empty_like(lnp)
    ret[:, 0] = np.nan
    np.subtract(lnp[:, 1:], lnp[:, :-1], out=ret[:, 1:])
    cols = np.arange(grid_at.shape[1])
    return Aligned(
        grid_at=grid_at,
        price=price,
        ret=ret,
        prev_col=np.broadcast_to(cols - 1, grid_at.shape),
        reopen_at=np.broadcast_to(np.int64(NO_TIME), grid_at.shape),
    )


def _as_of(bars: Bars, latest_open: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Open time (NO_TIME when none) and close of the last bar opening at or before each instant.

    Each row of instants steps by one bar. Where a row's bars form one regular run (a bar
    every step, from the one pricing its first instant to the one after its last), column c
    is priced by that first bar plus c: no search, the closes are one slice. Other rows guess
    the same, check the guess and search only the cells where it fails."""
    ts = bars.ts_us
    n, width = len(ts), latest_open.shape[1]
    if n == 0:
        return np.full(latest_open.shape, NO_TIME), np.full(latest_open.shape, np.nan)
    first = np.searchsorted(ts, latest_open[:, 0], side="right") - 1
    last = first + width - 1
    breaks = bars.irregular(step)  # a break at b: ts[b + 1] − ts[b] ≠ step
    regular = (
        (first >= 0)
        & (last < n)
        & (np.searchsorted(breaks, first) == np.searchsorted(breaks, last))
        & ((last + 1 >= n) | (ts[np.minimum(last + 1, n - 1)] > latest_open[:, -1]))
    )
    bar_ts = np.empty(latest_open.shape, dtype=np.int64)
    close = np.empty(latest_open.shape)
    rows = np.flatnonzero(regular)
    if len(rows):
        start = first[rows]
        bar_ts[rows] = ts[start][:, None] + np.arange(width) * step
        close[rows] = np.lib.stride_tricks.sliding_window_view(bars.close, width)[start]
    rows = np.flatnonzero(~regular)
    if len(rows):
        bar_ts[rows], close[rows] = _as_of_checked(bars, latest_open[rows], first[rows])
    return bar_ts, close


def _as_of_checked(
    bars: Bars, latest_open: np.ndarray, first: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """_as_of for rows whose bars are not one regular run: the guess first + c, checked (it
    opens at or before the instant and the next bar after it), searched where it fails."""
    ts = bars.ts_us
    n = len(ts)
    idx = first[:, None] + np.arange(latest_open.shape[1])
    np.clip(idx, 0, n - 1, out=idx)
    after = np.minimum(idx + 1, n - 1)
    wrong = (ts[idx] > latest_open) | ((ts[after] <= latest_open) & (after != idx))
    if wrong.any():
        idx[wrong] = np.searchsorted(ts, latest_open[wrong], side="right") - 1
        found = idx >= 0
        idx[~found] = 0
        return np.where(found, ts[idx], NO_TIME), np.where(found, bars.close[idx], np.nan)
    return ts[idx], bars.close[idx]


def _session_at(grid_at: np.ndarray, sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the market is open at each instant, and the open of that session (else NO_TIME)."""
    if len(sessions) == 0:
        return np.zeros(grid_at.shape, dtype=bool), np.full(grid_at.shape, NO_TIME)
    j = np.searchsorted(sessions[:, 0], grid_at, side="right") - 1
    safe = np.where(j >= 0, j, 0)
    is_open = (j >= 0) & (grid_at < sessions[safe, 1])
    return is_open, np.where(is_open, sessions[safe, 0], NO_TIME)


def _missing_open_slots(
    bar_ts: np.ndarray, latest_open: np.ndarray, sessions: np.ndarray, step: int
) -> np.ndarray:
    """Open-market Δ slots after the priced bar's and up to latest_open: bars that should exist."""
    first = (sessions[:, 0] + step - 1) // step
    end = (sessions[:, 1] + step - 1) // step
    keep = end > first
    first, end = first[keep], end[keep]
    before = np.concatenate(([0], np.cumsum(end - first)[:-1])) if len(first) else first

    def open_slots_below(bound: np.ndarray) -> np.ndarray:
        # open slots < bound: the sessions starting before it, the last one cut at bound
        if len(first) == 0:
            return np.zeros(bound.shape, dtype=np.int64)
        j = np.searchsorted(first, bound - 1, side="right") - 1
        safe = np.where(j >= 0, j, 0)
        return np.where(j >= 0, before[safe] + np.minimum(bound, end[safe]) - first[safe], 0)

    lo = (bar_ts + 2 * step - 1) // step  # the first slot after the priced bar's
    hi = latest_open // step
    n = open_slots_below(hi + 1) - open_slots_below(lo)
    return np.where(hi < lo, 0, n)


def _before(mask: np.ndarray) -> np.ndarray:
    """Per cell, the column of the last True strictly before it in its row (−1 when none)."""
    cols = np.where(mask, np.arange(mask.shape[1])[None, :], -1)
    last = np.maximum.accumulate(cols, axis=1)
    return np.concatenate([np.full((mask.shape[0], 1), -1), last[:, :-1]], axis=1)


def _returns(
    grid: Grid,
    grid_at: np.ndarray,
    close: np.ndarray,
    fresh: np.ndarray,
    gap: np.ndarray,
    session_open: np.ndarray,
) -> Aligned:
    """Prices, returns (an "at reopen" return bridges closed grid points) and their origins."""
    ks = grid.offsets()
    cols = np.arange(len(ks))[None, :]
    rows = np.arange(grid_at.shape[0])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        lnp = np.where(fresh, np.log(np.where(fresh, close, 1.0)), np.nan)
    prev_lnp = np.concatenate([np.full((lnp.shape[0], 1), np.nan), lnp[:, :-1]], axis=1)
    last_priced = _before(fresh)
    last_gap = _before(gap)
    in_event = ((ks >= grid.t1) & (ks <= grid.t2) & ~((ks >= grid.l1) & (ks <= grid.l2)))[None, :]
    reopens = (
        in_event
        & fresh
        & np.isnan(prev_lnp)
        & (last_priced >= 0)
        & (last_priced >= grid.t1 - 1 - grid.k_lo)
        & (last_priced < cols - 1)
        & (last_gap < last_priced)
    )
    last_lnp = lnp[rows, np.maximum(last_priced, 0)]
    return Aligned(
        grid_at=grid_at,
        price=np.where(fresh, close, np.nan),
        ret=np.where(reopens, lnp - last_lnp, lnp - prev_lnp),
        prev_col=np.where(reopens, last_priced, cols - 1),
        reopen_at=np.where(reopens, session_open, NO_TIME),
    )
