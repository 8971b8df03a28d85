"""Cross-sectional event-study test statistics, vectorised over offsets (numpy/scipy).

Inputs are matrices with one column per security-event pair and one row per offset (NaN =
missing): `est` holds estimation-window abnormal returns, `ev` event-window ones. The formulas
follow the conventions of the estudy2 R package (so its published example is reproduced):

* cross-sectional sums over days on which some pairs are missing are taken as mean × N (all
  pairs), as estudy2 does;
* Patell/BMP standardise by the estimation-window AR standard deviation and the market-model
  prediction-error factor sqrt(1 + 1/L + (m_t − m̄)² / Σ(m − m̄)²), with m̄ and the sum over
  the benchmark's whole estimation window and L the number of complete estimation observations;
* the rank and Corrado–Zivney sign tests rank each pair's estimation + event ARs together.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass
class CrossSectionInput:
    """What the statistics need, pair by pair (columns) and offset by offset (rows)."""

    est: np.ndarray  # (n_est_offsets, P) estimation-window abnormal returns
    ev: np.ndarray  # (n_event_offsets, P) event-window abnormal returns
    n_estimation: np.ndarray  # (P,) complete estimation observations (L_i)
    market_term: np.ndarray  # (n_event_offsets, P) (m_t − m̄)² / Σ(m − m̄)², 0 without a market model


def _nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def _nanstd(a: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(a, axis=axis, ddof=1)


def _safe_div(a: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(a, dtype=float) / b
    return np.where(np.isfinite(out), out, np.nan)


def two_sided_normal(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of standard-normal statistics (NaN stays NaN): every z test's p."""
    return np.where(np.isnan(z), np.nan, 2 * sps.norm.sf(np.abs(z)))


def _two_sided_t(t: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    df = np.broadcast_to(np.asarray(df, dtype=float), np.shape(t))
    ok = ~np.isnan(t) & (df > 0)
    out = np.full(np.shape(t), np.nan)
    out[ok] = 2 * sps.t.sf(np.abs(t[ok]), df[ok])
    return out


def rank_rows(values: np.ndarray) -> np.ndarray:
    """Average ranks along axis 0 of each column, ignoring NaN (which stays NaN)."""
    return ranks_and_medians(values)[0]


def ranks_and_medians(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks along axis 0 of each column (NaN stays NaN) and each column's median of
    its non-NaN values, from one sort (scipy's rankdata and np.nanmedian sort twice, the
    latter column by column in Python)."""
    n = values.shape[0]
    if n == 0:
        return np.empty(values.shape), np.full(values.shape[1], np.nan)
    missing = np.isnan(values)
    # Work along rows of the transpose: each column's values are then contiguous in memory,
    # which makes the sort and the gathers several times faster than along axis 0.
    filled = np.ascontiguousarray(np.where(missing, np.inf, values).T)  # NaN sorts last
    order = np.argsort(filled, axis=1)  # ties get averaged ranks, so stability is not needed
    ordered = np.take_along_axis(filled, order, axis=1)
    # Tied values share the mean of the positions their run spans.
    idx = np.broadcast_to(np.arange(n)[None, :], ordered.shape)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks_t = np.empty(ordered.shape)
    np.put_along_axis(ranks_t, order, (first + last) / 2 + 1, axis=1)
    ranks = ranks_t.T
    ranks[missing] = np.nan
    count = n - missing.sum(axis=0)
    rows = np.arange(values.shape[1])
    lo = ordered[rows, np.maximum((count - 1) // 2, 0)]
    hi = ordered[rows, np.minimum(count // 2, n - 1)]
    medians = np.where(count > 0, (lo + hi) / 2, np.nan)
    return ranks, medians


def signed_rank_null_cdf(n_max: int) -> list[np.ndarray]:
    """Exact null distributions (counts) of the Wilcoxon signed-rank sum for n = 0…n_max."""
    counts = [np.ones(1)]
    dist = np.ones(1)
    for n in range(1, n_max + 1):
        new = np.zeros(dist.size + n)
        new[: dist.size] += dist
        new[n : n + dist.size] += dist
        dist = new
        counts.append(dist.copy())
    return counts


def wilcoxon_signed_rank(ev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the sum of ranks of |AR| belonging to positive ARs (zeros dropped) and its
    two-sided p-value (exact for n ≤ 50 without ties, else normal with tie correction)."""
    a = np.where(ev == 0, np.nan, ev)
    present = ~np.isnan(a)
    n = present.sum(axis=1)
    ranks = rank_rows(np.abs(a).T).T
    w_plus = np.where(present & (a > 0), ranks, 0.0).sum(axis=1)
    w_plus = np.where(n > 0, w_plus, np.nan)
    p = np.full(w_plus.shape, np.nan)
    # Ties among |AR| within a row: the tie-correction term Σ(t³ − t)/48 from sorted runs.
    sorted_abs = np.sort(np.where(present, np.abs(a), np.inf), axis=1)
    tie_term = np.zeros(len(n))
    has_ties = np.zeros(len(n), dtype=bool)
    if sorted_abs.shape[1] > 1:
        same = (sorted_abs[:, 1:] == sorted_abs[:, :-1]) & np.isfinite(sorted_abs[:, 1:])
        has_ties = same.any(axis=1)
        for row in np.flatnonzero(has_ties):
            _, counts = np.unique(sorted_abs[row][np.isfinite(sorted_abs[row])], return_counts=True)
            tie_term[row] = np.sum(counts**3 - counts) / 48
    exact_rows = (n > 0) & (n <= 50) & ~has_ties
    if exact_rows.any():
        table = signed_rank_null_cdf(int(n[exact_rows].max()))
        for size in np.unique(n[exact_rows]):
            rows = np.flatnonzero(exact_rows & (n == size))
            cdf = np.cumsum(table[size] / table[size].sum())
            w = np.rint(w_plus[rows]).astype(int)
            lower = cdf[w]
            upper = 1.0 - np.where(w > 0, cdf[np.maximum(w - 1, 0)], 0.0)
            p[rows] = np.minimum(1.0, 2 * np.minimum(lower, upper))
    normal_rows = (n > 0) & ~exact_rows
    if normal_rows.any():
        nn = n[normal_rows].astype(float)
        var = nn * (nn + 1) * (2 * nn + 1) / 24 - tie_term[normal_rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (w_plus[normal_rows] - nn * (nn + 1) / 4) / np.sqrt(var)
        p[normal_rows] = np.where(np.isfinite(z), 2 * sps.norm.sf(np.abs(z)), np.nan)
    return w_plus, p


def average_cross_correlation(est: np.ndarray) -> float:
    """Mean pairwise correlation of the pairs' estimation-window ARs, from the variance of their
    standardised sum (O(P·L), no P×P matrix), for the Kolari–Pynnönen adjustment."""
    n_pairs = est.shape[1]
    if n_pairs < 2:
        return 0.0
    mean = _nanmean(est, 0)
    sd = _nanstd(est, 0)
    z = _safe_div(est - mean, sd)
    z = np.where(np.isnan(z), 0.0, z)
    rows = (~np.isnan(est)).any(axis=1)
    if rows.sum() < 3:
        return 0.0
    total = z[rows].sum(axis=1)
    var_total = np.var(total, ddof=1)
    own = np.sum(np.var(z[rows], axis=0, ddof=1))
    rbar = (var_total - own) / (n_pairs * (n_pairs - 1))
    return float(np.clip(rbar, -1.0 / (n_pairs - 1) + 1e-12, 0.999999))


def cross_section(data: CrossSectionInput) -> dict[str, np.ndarray]:
    """Every statistic of the summary frame, one value per event-window offset."""
    est, ev = data.est, data.ev
    # The one sort behind the rank and sign tests runs in a second thread (numpy releases the
    # GIL while sorting) while the parametric statistics are computed here.
    full = np.vstack([est, ev])
    with ThreadPoolExecutor(max_workers=1) as pool:
        ranked = pool.submit(ranks_and_medians, full)
        out = _parametric(data)
        ranks, median_i = ranked.result()
    _rank_based(out, est, ev, full, ranks, median_i)
    out["wilcoxon_stat"], out["wilcoxon_p"] = wilcoxon_signed_rank(ev)
    return out


def _parametric(data: CrossSectionInput) -> dict[str, np.ndarray]:
    """Mean AR and the parametric tests, per offset."""
    est, ev = data.est, data.ev
    n_pairs = ev.shape[1]
    n_t = (~np.isnan(ev)).sum(axis=1).astype(float)
    n_t_or_nan = np.where(n_t > 0, n_t, np.nan)
    mean_t = _nanmean(ev, 1)
    out: dict[str, np.ndarray] = {"n": n_t, "mean_ar": mean_t}
    out["n_positive"] = np.sum(ev > 0, axis=1).astype(float)

    sigma_i = _nanstd(est, 0)  # per pair, ddof 1
    length_i = data.n_estimation.astype(float)
    mean_length = float(np.nanmean(length_i)) if length_i.size else np.nan

    # Brown–Warner 1980: mean AR over sqrt(Σ σ_i²)/N.
    bw80_sd = np.sqrt(np.nansum(sigma_i**2)) / n_pairs
    out["bw_1980_stat"] = _safe_div(mean_t, bw80_sd)
    out["bw_1980_p"] = _two_sided_t(out["bw_1980_stat"], mean_length)

    # Brown–Warner 1985: mean AR over the time-series sd of the estimation-window mean ARs.
    est_means = _nanmean(est, 1)
    bw85_sd = _nanstd(est_means, 0)
    out["bw_1985_stat"] = _safe_div(mean_t, bw85_sd)
    out["bw_1985_p"] = _two_sided_t(out["bw_1985_stat"], mean_length)

    # Cross-sectional t-test.
    out["t_test_stat"] = _safe_div(mean_t, _nanstd(ev, 1)) * np.sqrt(n_t)
    out["t_test_p"] = _two_sided_t(out["t_test_stat"], n_t - 1)

    # Patell 1976 standardised abnormal returns, then BMP (Boehmer et al. 1991).
    correction = np.sqrt(1 + _safe_div(1.0, length_i)[None, :] + data.market_term)
    sar = _safe_div(ev, sigma_i[None, :] * correction)
    patell_var = np.nansum(_safe_div(length_i - 2, length_i - 4))
    out["patell_stat"] = _safe_div(_nanmean(sar, 1) * n_pairs, np.sqrt(patell_var))
    out["patell_p"] = two_sided_normal(out["patell_stat"])
    bmp = _safe_div(_nanmean(sar, 1), _nanstd(sar, 1)) * np.sqrt(n_t)
    out["bmp_stat"] = bmp
    out["bmp_p"] = _two_sided_t(bmp, n_t - 1)

    # Kolari–Pynnönen 2010: BMP deflated for the average cross-correlation of the residuals.
    rbar = average_cross_correlation(est)
    kp_factor = np.sqrt(_safe_div(1 - rbar, 1 + (n_t - 1) * rbar))
    out["kp_bmp_stat"] = bmp * kp_factor
    out["kp_bmp_p"] = _two_sided_t(out["kp_bmp_stat"], n_t - 1)
    # r̄ itself, so readers can apply the same adjustment to CAR-level tests and bands.
    out["kp_rbar"] = np.full(n_t.shape, rbar)

    # Lamb 1995: BW 1985 scale with the prediction-error factor (mean over pairs).
    lamb_sd = bw85_sd * np.sqrt(1 + 1 / mean_length + _nanmean(data.market_term, 1))
    out["lamb_stat"] = _safe_div(mean_t, lamb_sd)
    out["lamb_p"] = two_sided_normal(out["lamb_stat"])

    # Sign test (p = 0.5) and generalised sign test (p from the estimation window).
    wins = np.sum(ev > 0, axis=1).astype(float)
    out["sign_stat"] = _safe_div(wins - 0.5 * n_t, np.sqrt(0.25 * n_t_or_nan))
    out["sign_p"] = two_sided_normal(out["sign_stat"])
    est_present = ~np.isnan(est)
    p_hat = float(np.sum(est > 0) / est_present.sum()) if est_present.any() else np.nan
    out["generalized_sign_stat"] = _safe_div(
        wins - n_t * p_hat, np.sqrt(n_t_or_nan * p_hat * (1 - p_hat))
    )
    out["generalized_sign_p"] = two_sided_normal(out["generalized_sign_stat"])

    return out


def _rank_based(
    out: dict[str, np.ndarray],
    est: np.ndarray,
    ev: np.ndarray,
    full: np.ndarray,
    ranks: np.ndarray,
    median_i: np.ndarray,
) -> None:
    """Corrado–Zivney sign, Corrado rank and modified rank tests, per offset, into `out`."""
    n_pairs = ev.shape[1]
    n_t = out["n"]  # valid event-window ARs per offset, from _parametric
    n_t_or_nan = np.where(n_t > 0, n_t, np.nan)
    # Tests on the pooled estimation + event series of each pair.
    event_rows = slice(est.shape[0], full.shape[0])
    present = ~np.isnan(full)
    n_full_t = present.sum(axis=1).astype(float)
    n_full_t = np.where(n_full_t > 0, n_full_t, np.nan)
    length_full = present.sum(axis=0).astype(float)
    mean_length_full = float(np.mean(length_full)) if length_full.size else np.nan

    # Corrado–Zivney 1992 sign test: signs around each pair's median.
    signs = np.sign(full - median_i[None, :])
    sign_sums = _nanmean(signs, 1) * n_pairs
    cs_sd = np.sqrt(np.nansum((sign_sums / np.sqrt(n_full_t)) ** 2) / mean_length_full)
    out["corrado_sign_stat"] = _safe_div(sign_sums[event_rows] / np.sqrt(n_t_or_nan), cs_sd)
    out["corrado_sign_p"] = two_sided_normal(out["corrado_sign_stat"])

    # Corrado 1989 rank test and the modified (standardised-rank) version.
    mean_rank = _nanmean(ranks, 0)
    rank_dev = _nanmean(ranks - mean_rank[None, :], 1) * n_pairs
    rank_sd = np.sqrt(np.nansum((rank_dev / n_full_t) ** 2) / mean_length_full)
    out["rank_stat"] = _safe_div(rank_dev[event_rows] / n_t_or_nan, rank_sd)
    out["rank_p"] = two_sided_normal(out["rank_stat"])
    uniform = ranks / (1 + length_full[None, :])
    mrank_dev = _nanmean(uniform - 0.5, 1) * n_pairs
    mrank_sd = np.sqrt(np.nansum((mrank_dev / np.sqrt(n_full_t)) ** 2) / mean_length_full)
    out["modified_rank_stat"] = _safe_div(mrank_dev[event_rows] / np.sqrt(n_t_or_nan), mrank_sd)
    out["modified_rank_p"] = two_sided_normal(out["modified_rank_stat"])
