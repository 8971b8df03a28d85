"""Abnormal returns from aligned grids: the benchmark's return beside each target's, the model
fitted on the estimation window, expected return and AR — array operations over all pairs.

`instrument_rows` is the whole per-instrument step (one instrument's bars, its benchmark's bars,
its events → AR rows and fitted parameters), pure, for any engine that partitions by instrument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.analytics.alignment import NO_TIME, Aligned, Bars, Grid, align
from pipelines.analytics.stats import moments

# Columns of the frames the engine hands from the alignment to the results (Rows below).
EVENT_ROW_SCHEMA = {
    "pair_id": pl.Int64,
    "k": pl.Int64,
    "grid_at": pl.Datetime("us", "UTC"),
    "price": pl.Float64,
    "ret": pl.Float64,
    "mret": pl.Float64,
    "expected": pl.Float64,
    "ar": pl.Float64,
    "reopen_at": pl.Datetime("us", "UTC"),
}
PARAM_SCHEMA = {
    "pair_id": pl.Int64,
    "n_estimation": pl.Int64,
    "alpha": pl.Float64,
    "beta": pl.Float64,
    "m_mean": pl.Float64,
    "m_sxx": pl.Float64,
    "sigma": pl.Float64,
}


def positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of `wanted` is in `ids` (−1 where absent), by direct indexing: pair ids are
    small non-negative integers."""
    ids, wanted = np.asarray(ids, dtype=np.int64), np.asarray(wanted, dtype=np.int64)
    at = np.full(int(max(ids.max(initial=-1), wanted.max(initial=-1))) + 1, -1, dtype=np.int64)
    at[ids] = np.arange(len(ids))
    return at[wanted]


@dataclass(frozen=True)
class EventMatrices:
    """The event window's AR and benchmark return as offsets k × pairs matrices (NaN where
    missing): what the statistics take, kept by an engine that has them so the results need
    not rebuild them from the event rows."""

    pair_ids: np.ndarray  # (P,) the pair of each column
    k: np.ndarray  # (K,) the offset of each row, increasing
    ar: np.ndarray  # (K, P)
    mret: np.ndarray  # (K, P)

    def columns(self, pair_ids: np.ndarray) -> EventMatrices | None:
        """The matrices of these pairs, in this order; None when some pair has no column."""
        pair_ids = np.asarray(pair_ids, dtype=np.int64)
        if np.array_equal(pair_ids, self.pair_ids):
            return self
        cols = positions(self.pair_ids, pair_ids)
        if (cols < 0).any():
            return None
        # C order, as built: numpy's column gather may not be, and the statistics' sums would
        # then round in another order
        ar, mret = (np.ascontiguousarray(m[:, cols]) for m in (self.ar, self.mret))
        return EventMatrices(pair_ids, self.k, ar, mret)


@dataclass
class Rows:
    """What alignment hands to the results: event-window rows, one fit per pair, and the
    estimation-window ARs as a matrix (offsets est_k × pairs, column j = params row j); the
    event-window matrices too when the engine has them (else the results build them)."""

    event: pl.DataFrame  # EVENT_ROW_SCHEMA
    params: pl.DataFrame  # PARAM_SCHEMA
    est_ar: np.ndarray
    est_k: np.ndarray
    event_matrices: EventMatrices | None = None

    def without(self, pair_ids: set[int]) -> Rows:
        """The same rows less some pairs."""
        if not pair_ids:
            return self
        keep = ~pl.col("pair_id").is_in(list(pair_ids))
        kept = ~self.params["pair_id"].is_in(list(pair_ids)).to_numpy()
        matrices = self.event_matrices
        if matrices is not None:
            left = ~np.isin(matrices.pair_ids, np.fromiter(pair_ids, np.int64, len(pair_ids)))
            matrices = matrices.columns(matrices.pair_ids[left])
        return Rows(
            self.event.filter(keep),
            self.params.filter(keep),
            self.est_ar[:, kept],
            self.est_k,
            matrices,
        )

    @classmethod
    def concat(cls, parts: list[Rows], est_k: np.ndarray) -> Rows:
        """Rows of several partitions on the same estimation offsets as one."""
        if not parts:
            return cls(
                pl.DataFrame(schema=EVENT_ROW_SCHEMA),
                pl.DataFrame(schema=PARAM_SCHEMA),
                np.empty((len(est_k), 0)),
                est_k,
            )
        return cls(
            pl.concat([p.event for p in parts]),
            pl.concat([p.params for p in parts]),
            np.hstack([p.est_ar for p in parts]),
            est_k,
        )

    def estimation_rows(self) -> pl.DataFrame:
        """The estimation-window ARs as (pair_id, k, ar) rows: what a partitioned engine ships
        back to its driver, which rebuilds Rows with `from_frames`."""
        n_k, n_pairs = self.est_ar.shape
        return pl.DataFrame(
            {
                "pair_id": np.tile(self.params["pair_id"].to_numpy(), n_k),
                "k": np.repeat(self.est_k, n_pairs),
                "ar": self.est_ar.ravel(),
            },
            schema={"pair_id": pl.Int64, "k": pl.Int64, "ar": pl.Float64},
        ).with_columns(pl.col("ar").fill_nan(None))

    @classmethod
    def from_frames(
        cls, event: pl.DataFrame, estimation: pl.DataFrame, params: pl.DataFrame
    ) -> Rows:
        """Rows from frames of (pair_id, k, ar) estimation rows (the SQL path's output)."""
        if estimation.height == 0:
            return cls(event, params, np.empty((0, params.height)), np.empty(0, np.int64))
        lo, hi = int(estimation["k"].min()), int(estimation["k"].max())
        col_of = {pid: j for j, pid in enumerate(params["pair_id"].to_list())}
        cols = estimation["pair_id"].replace_strict(col_of, default=-1).to_numpy()
        ks = estimation["k"].to_numpy() - lo
        est_ar = np.full((hi - lo + 1, params.height), np.nan)
        ok = cols >= 0
        est_ar[ks[ok], cols[ok]] = (
            estimation["ar"].cast(pl.Float64).fill_null(np.nan).to_numpy()[ok]
        )
        return cls(event, params, est_ar, np.arange(lo, hi + 1, dtype=np.int64))


@dataclass(frozen=True)
class Abnormal:
    """Pairs × offsets matrices of the benchmark return, expected return and AR, and the fit."""

    mret: np.ndarray
    expected: np.ndarray
    ar: np.ndarray
    n_estimation: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    m_mean: np.ndarray
    m_sxx: np.ndarray
    sigma: np.ndarray


def benchmark_returns(target: Aligned, bench: Aligned | None) -> np.ndarray:
    """The benchmark's return over the same span as each target return (NaN without one): the
    same grid step, or for an "at reopen" return from the same last price before the closure."""
    if bench is None:
        return np.full(target.ret.shape, np.nan)
    reopens = target.reopen_at != NO_TIME
    if not reopens.any():  # every return spans one grid step (always on a 24/7 market)
        return bench.ret
    rows = np.arange(target.ret.shape[0])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        bridged = np.log(bench.price) - np.log(bench.price[rows, np.maximum(target.prev_col, 0)])
    return np.where(reopens, bridged, bench.ret)


def abnormal(ret: np.ndarray, mret: np.ndarray, est: np.ndarray, model: str) -> Abnormal:
    """Fit `model` on the estimation columns `est` and compute expected returns and AR.

    constant: α = mean estimation return; market-adjusted: α = 0, β = 1; market: OLS of the
    return on the benchmark's over the complete cases. Also the benchmark's estimation mean and
    Σ(m − m̄)² (Patell's prediction-error term) and the AR volatility σ (sample sd)."""
    est = _span(est)
    r, m = ret[:, est], mret[:, est]  # views: the estimation columns are one run
    r_ok, m_ok = ~np.isnan(r), ~np.isnan(m)
    complete = r_ok & m_ok
    everywhere = bool(complete.all())  # the usual case: no masking below
    with np.errstate(invalid="ignore", divide="ignore"):
        n_ret = r_ok.sum(axis=1)
        n_complete = complete.sum(axis=1)
        x = m if everywhere else np.where(complete, m, 0.0)
        y = r if everywhere else np.where(complete, r, 0.0)
        x_bar = x.sum(axis=1) / n_complete
        y_bar = y.sum(axis=1) / n_complete
        dx = m - x_bar[:, None]
        dy = r - y_bar[:, None]
        if not everywhere:
            np.copyto(dx, 0.0, where=~complete)
            np.copyto(dy, 0.0, where=~complete)
        sxx = np.sum(dx * dx, axis=1)
        beta_ols = np.sum(dx * dy, axis=1) / sxx
        alpha_ols = np.where(sxx > 0, y_bar - beta_ols * x_bar, np.nan)
        n_m = m_ok.sum(axis=1)
        m_known = m if everywhere else np.where(m_ok, m, 0.0)
        m_sum = m_known.sum(axis=1)
        m_mean = m_sum / n_m
        m_sxx = np.sum(m_known * m_known, axis=1) - m_sum * m_sum / np.where(n_m > 0, n_m, np.nan)
        if model == "constant":
            r_known = r if everywhere else np.where(r_ok, r, 0.0)
            n_est, alpha, beta = n_ret, r_known.sum(axis=1) / n_ret, np.zeros(len(r))
            expected = np.broadcast_to(alpha[:, None], ret.shape)
        else:
            if model == "market":
                alpha, beta = alpha_ols, beta_ols
            else:
                alpha, beta = np.zeros(len(r)), np.ones(len(r))
            n_est = n_complete
            expected = alpha[:, None] + beta[:, None] * mret
        ar = ret - expected
    return Abnormal(
        mret=mret,
        expected=np.asarray(expected),
        ar=ar,
        n_estimation=n_est,
        alpha=alpha,
        beta=beta,
        m_mean=m_mean,
        m_sxx=m_sxx,
        sigma=moments(ar[:, est], 1).sd,
    )


def _span(mask: np.ndarray) -> slice | np.ndarray:
    """A boolean column mask as a slice when its columns are one run (views, not copies)."""
    cols = np.flatnonzero(mask)
    if len(cols) and cols[-1] - cols[0] + 1 == len(cols):
        return slice(int(cols[0]), int(cols[-1]) + 1)
    return mask


@dataclass(frozen=True)
class WindowPart:
    """What the result frames keep of one block of pairs' matrices: the event-window columns,
    the fit per pair and the estimation ARs (offsets × pairs) — the rest of the grid is let go
    as soon as a block is fitted, so memory does not hold every instrument's whole grid."""

    event: dict[str, np.ndarray]
    fit: dict[str, np.ndarray]
    est_ar: np.ndarray


_EVENT_FROM_TARGET = ("grid_at", "price", "ret", "reopen_at")
_EVENT_FROM_RESULT = ("mret", "expected", "ar")
_FIT = ("n_estimation", "alpha", "beta", "m_mean", "m_sxx", "sigma")


def window_part(target: Aligned, result: Abnormal, grid: Grid) -> WindowPart:
    """The columns of a block of aligned, fitted pairs that become rows (copies: compact)."""
    ev, est = _span(grid.event_columns()), _span(grid.estimation_columns())
    event = {
        name: np.ascontiguousarray(getattr(target, name)[:, ev]) for name in _EVENT_FROM_TARGET
    }
    event |= {
        name: np.ascontiguousarray(getattr(result, name)[:, ev]) for name in _EVENT_FROM_RESULT
    }
    fit = {name: np.asarray(getattr(result, name)) for name in _FIT}
    return WindowPart(event, fit, np.ascontiguousarray(result.ar[:, est].T))


def rows_frames(pair_ids: np.ndarray, grid: Grid, parts: list[WindowPart]) -> Rows:
    """Blocks of one or more instruments (rows in pair_ids' order) as Rows: event-window
    rows, one fit per pair, the estimation ARs."""
    ks = grid.offsets()
    ev_mask, est_mask = grid.event_columns(), grid.estimation_columns()
    pair_ids = np.asarray(pair_ids, dtype=np.int64)
    # event rows in (pair_id, offset) order, the AR frame's: permuting whole pairs here is a
    # cheap gather where sorting 300k rows afterwards is not
    order = np.argsort(pair_ids, kind="stable")
    in_order = bool((order == np.arange(len(order))).all())

    blocks: dict[str, np.ndarray] = {}

    def window(name: str) -> np.ndarray:
        block = np.concatenate([part.event[name] for part in parts])
        blocks[name] = block if in_order else block[order]  # pairs × offsets
        return blocks[name].ravel()

    def per_pair(name: str) -> np.ndarray:
        return np.concatenate([part.fit[name] for part in parts])

    event = pl.DataFrame(
        {
            "pair_id": np.repeat(pair_ids[order], int(ev_mask.sum())),
            "k": np.tile(ks[ev_mask], len(pair_ids)),
            **{name: window(name) for name in EVENT_ROW_SCHEMA if name not in ("pair_id", "k")},
        }
    ).with_columns(
        pl.col("grid_at").cast(pl.Datetime("us", "UTC")),
        pl.when(pl.col("reopen_at") != NO_TIME)
        .then(pl.col("reopen_at"))
        .cast(pl.Datetime("us", "UTC"))
        .alias("reopen_at"),
        pl.col("price", "ret", "mret", "expected", "ar").fill_nan(None),
    )
    params = pl.DataFrame(
        {
            "pair_id": pair_ids,
            "n_estimation": per_pair("n_estimation").astype(np.int64),
            **{name: per_pair(name) for name in _FIT[1:]},
        }
    ).with_columns(pl.col("alpha", "m_mean", "m_sxx", "sigma").fill_nan(None))
    est_ar = np.hstack([part.est_ar for part in parts])
    # offsets × pairs in C order, the layout the statistics' reductions are written for
    ev_ar, ev_mret = (np.ascontiguousarray(blocks[name].T) for name in ("ar", "mret"))
    matrices = EventMatrices(pair_ids[order], ks[ev_mask], ev_ar, ev_mret)
    return Rows(
        event.cast(EVENT_ROW_SCHEMA), params.cast(PARAM_SCHEMA), est_ar, ks[est_mask], matrices
    )


def instrument_matrices(
    bars: Bars,
    benchmark: Bars | None,
    t0_us: np.ndarray,
    grid: Grid,
    model: str,
) -> tuple[Aligned, Abnormal]:
    """One instrument's events aligned, paired with its benchmark and fitted, as matrices."""
    target = align(bars, t0_us, grid)
    bench = align(benchmark, t0_us, grid) if benchmark is not None else None
    result = abnormal(
        target.ret, benchmark_returns(target, bench), grid.estimation_columns(), model
    )
    return target, result


def instrument_rows(
    bars: Bars,
    benchmark: Bars | None,
    pair_ids: np.ndarray,
    t0_us: np.ndarray,
    grid: Grid,
    model: str,
) -> Rows:
    """One instrument's study: its bars and its benchmark's on every event's grid → AR rows.

    bars / benchmark: the instrument's and its benchmark's bars (None for the constant-mean
    model); pair_ids, t0_us: one entry per event (the ids label the output rows); grid: offsets,
    windows, staleness; model: constant, market-adjusted or market. Returns Rows (event-window
    rows, fitted parameters per pair, estimation-window ARs)."""
    target, result = instrument_matrices(bars, benchmark, t0_us, grid, model)
    return rows_frames(pair_ids, grid, [window_part(target, result, grid)])
