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


@dataclass(frozen=True)
class Moments:
    """Count, mean and sample standard deviation (ddof 1) of the non-NaN values along an axis."""

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray


def moments(a: np.ndarray, axis: int, present: np.ndarray | None = None) -> Moments:
    """np.nanmean and np.nanstd(ddof=1) along `axis` in two passes sharing one mask (NaN where
    undefined); `present` is ~isnan(a) when the caller has it. numpy's nan-reductions copy and
    mask the array again for every call."""
    if present is None:
        present = ~np.isnan(a)
    complete = bool(present.all())
    n = np.full(np.delete(a.shape, axis), a.shape[axis]) if complete else present.sum(axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (a if complete else np.where(present, a, 0.0)).sum(axis) / n
        dev = a - np.expand_dims(mean, axis)
        if not complete:
            dev[~present] = 0.0
        np.square(dev, out=dev)
        sd = np.sqrt(dev.sum(axis) / (n - 1))
    return Moments(n=n, mean=mean, sd=np.where(n > 1, sd, np.nan))


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
    ranks_t, ordered, count, _filled = _sorted_ranks(values, missing)
    ranks = ranks_t.T
    ranks[missing] = np.nan
    return ranks, _medians(ordered, count)


def _medians(ordered: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Each row's median of its first `count` sorted values (NaN for none)."""
    rows = np.arange(ordered.shape[0])
    lo = ordered[rows, np.maximum((count - 1) // 2, 0)]
    hi = ordered[rows, np.minimum(count // 2, ordered.shape[1] - 1)]
    return np.where(count > 0, (lo + hi) / 2, np.nan)


def _sorted_ranks(
    values: np.ndarray, missing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column of `values` (as rows of the results): average ranks (missing cells hold
    junk), the sorted values (NaN as +inf, last), the count of non-missing values and the
    values themselves (NaN as +inf)."""
    n = values.shape[0]
    # Work along rows of the transpose: each column's values are then contiguous in memory,
    # which makes the sort and the gathers several times faster than along axis 0.
    filled = values.T.copy(order="C")  # a copy even when the transpose is contiguous
    np.copyto(filled, np.inf, where=missing.T)  # NaN sorts last
    order = np.argsort(filled, axis=1)  # ties get averaged ranks, so stability is not needed
    ordered = np.take_along_axis(filled, order, axis=1)
    count = n - missing.sum(axis=0)
    ranks_t = np.empty(ordered.shape)
    positions = np.broadcast_to(np.arange(1, n + 1, dtype=float), ordered.shape)
    np.put_along_axis(ranks_t, order, positions, axis=1)
    # Ties (a value equal to the next, the first of the two present) change the ranks of their
    # run only: average them in the rows that have any (with float data, usually none).
    tie = ordered[:, 1:] == ordered[:, :-1]
    tie &= np.arange(n - 1)[None, :] < count[:, None]
    tied = np.flatnonzero(tie.any(axis=1))
    if len(tied):
        averaged = ranks_t[tied]
        np.put_along_axis(averaged, order[tied], _tied_ranks(ordered[tied]), axis=1)
        ranks_t[tied] = averaged
    return ranks_t, ordered, count, filled


def _tied_ranks(ordered: np.ndarray) -> np.ndarray:
    """Average ranks of row-wise sorted values: tied values share the mean of their run's
    positions."""
    n = ordered.shape[1]
    idx = np.broadcast_to(np.arange(n)[None, :], ordered.shape)
    starts = np.ones(ordered.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    return (first + last) / 2 + 1


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
    if a.shape[1] == 0:
        ranks, sorted_abs = np.zeros(a.shape), np.zeros(a.shape)
    else:  # one sort gives the ranks and, below, the ties (NaN sorts last, as +inf)
        ranks, sorted_abs, _count, _abs = _sorted_ranks(np.abs(a).T, ~present.T)
    w_plus = np.where(present & (a > 0), ranks, 0.0).sum(axis=1)
    w_plus = np.where(n > 0, w_plus, np.nan)
    p = np.full(w_plus.shape, np.nan)
    # Ties among |AR| within a row: the tie-correction term Σ(t³ − t)/48 from sorted runs.
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


def average_cross_correlation(
    est: np.ndarray, by_pair: Moments | None = None, present: np.ndarray | None = None
) -> float:
    """Mean pairwise correlation of the pairs' estimation-window ARs, from the variance of their
    standardised sum (O(P·L), no P×P matrix), for the Kolari–Pynnönen adjustment; by_pair and
    present: moments(est, 0) and ~isnan(est) when the caller has them."""
    n_pairs = est.shape[1]
    if n_pairs < 2:
        return 0.0
    if present is None:
        present = ~np.isnan(est)
    rows = present.any(axis=1)
    if rows.sum() < 3:
        return 0.0
    if by_pair is None:
        by_pair = moments(est, 0, present)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (est - by_pair.mean) / by_pair.sd
    z[~np.isfinite(z)] = 0.0  # missing ARs and pairs without a spread add nothing
    if not rows.all():
        z = z[rows]
    var_total = np.var(z.sum(axis=1), ddof=1)
    z -= z.mean(axis=0)
    own = np.einsum("ij,ij->", z, z) / (len(z) - 1)  # Σ over pairs of each pair's variance
    rbar = (var_total - own) / (n_pairs * (n_pairs - 1))
    return float(np.clip(rbar, -1.0 / (n_pairs - 1) + 1e-12, 0.999999))


def cross_section(data: CrossSectionInput) -> dict[str, np.ndarray]:
    """Every statistic of the summary frame, one value per event-window offset."""
    est, ev = data.est, data.ev
    # The sort behind the rank and sign tests and their sums over pairs run in a second thread
    # (numpy releases the GIL) while the parametric statistics are computed here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pooled = pool.submit(_pooled_rank_sums, np.vstack([est, ev]))
        out = _parametric(data)
        sums = pooled.result()
    _rank_based(out, est.shape[0], ev.shape[1], sums)
    out["wilcoxon_stat"], out["wilcoxon_p"] = wilcoxon_signed_rank(ev)
    return out


def _parametric(data: CrossSectionInput) -> dict[str, np.ndarray]:
    """Mean AR and the parametric tests, per offset."""
    est, ev = data.est, data.ev
    n_pairs = ev.shape[1]
    by_offset = moments(ev, 1)
    n_t = by_offset.n.astype(float)
    n_t_or_nan = np.where(n_t > 0, n_t, np.nan)
    mean_t = by_offset.mean
    wins = np.sum(ev > 0, axis=1).astype(float)
    out: dict[str, np.ndarray] = {"n": n_t, "mean_ar": mean_t, "n_positive": wins}

    est_present = ~np.isnan(est)
    by_pair = moments(est, 0, est_present)
    sigma_i = by_pair.sd  # per pair, ddof 1
    length_i = data.n_estimation.astype(float)
    mean_length = float(np.nanmean(length_i)) if length_i.size else np.nan

    # Brown–Warner 1980: mean AR over sqrt(Σ σ_i²)/N.
    bw80_sd = np.sqrt(np.nansum(sigma_i**2)) / n_pairs
    out["bw_1980_stat"] = _safe_div(mean_t, bw80_sd)
    out["bw_1980_p"] = _two_sided_t(out["bw_1980_stat"], mean_length)

    # Brown–Warner 1985: mean AR over the time-series sd of the estimation-window mean ARs.
    est_means = moments(est, 1, est_present).mean
    bw85_sd = moments(est_means, 0).sd
    out["bw_1985_stat"] = _safe_div(mean_t, bw85_sd)
    out["bw_1985_p"] = _two_sided_t(out["bw_1985_stat"], mean_length)

    # Cross-sectional t-test.
    out["t_test_stat"] = _safe_div(mean_t, by_offset.sd) * np.sqrt(n_t)
    out["t_test_p"] = _two_sided_t(out["t_test_stat"], n_t - 1)

    # Patell 1976 standardised abnormal returns, then BMP (Boehmer et al. 1991).
    correction = np.sqrt(1 + _safe_div(1.0, length_i)[None, :] + data.market_term)
    sar = moments(_safe_div(ev, sigma_i[None, :] * correction), 1)
    patell_var = np.nansum(_safe_div(length_i - 2, length_i - 4))
    out["patell_stat"] = _safe_div(sar.mean * n_pairs, np.sqrt(patell_var))
    out["patell_p"] = two_sided_normal(out["patell_stat"])
    bmp = _safe_div(sar.mean, sar.sd) * np.sqrt(n_t)
    out["bmp_stat"] = bmp
    out["bmp_p"] = _two_sided_t(bmp, n_t - 1)

    # Kolari–Pynnönen 2010: BMP deflated for the average cross-correlation of the residuals.
    rbar = average_cross_correlation(est, by_pair, est_present)
    kp_factor = np.sqrt(_safe_div(1 - rbar, 1 + (n_t - 1) * rbar))
    out["kp_bmp_stat"] = bmp * kp_factor
    out["kp_bmp_p"] = _two_sided_t(out["kp_bmp_stat"], n_t - 1)
    # r̄ itself, so readers can apply the same adjustment to CAR-level tests and bands.
    out["kp_rbar"] = np.full(n_t.shape, rbar)

    # Lamb 1995: BW 1985 scale with the prediction-error factor (mean over pairs).
    market_mean = moments(data.market_term, 1).mean
    lamb_sd = bw85_sd * np.sqrt(1 + 1 / mean_length + market_mean)
    out["lamb_stat"] = _safe_div(mean_t, lamb_sd)
    out["lamb_p"] = two_sided_normal(out["lamb_stat"])

    # Sign test (p = 0.5) and generalised sign test (p from the estimation window).
    out["sign_stat"] = _safe_div(wins - 0.5 * n_t, np.sqrt(0.25 * n_t_or_nan))
    out["sign_p"] = two_sided_normal(out["sign_stat"])
    n_est_present = int(by_pair.n.sum())
    p_hat = float(np.sum(est > 0) / n_est_present) if n_est_present else np.nan
    out["generalized_sign_stat"] = _safe_div(
        wins - n_t * p_hat, np.sqrt(n_t_or_nan * p_hat * (1 - p_hat))
    )
    out["generalized_sign_p"] = two_sided_normal(out["generalized_sign_stat"])

    return out


def _pooled_rank_sums(full: np.ndarray) -> dict[str, np.ndarray]:
    """Per offset of the pooled estimation + event series, sums over pairs of each pair's sign
    around its median, rank deviation from its mean rank and standardised rank (missing ARs
    add nothing), with the valid count per offset (n_t) and per pair (length)."""
    n_pairs = full.shape[1]
    if full.shape[0] == 0:
        empty = np.empty(0)
        return {"sign": empty, "rank": empty, "mrank": empty, "n_t": empty, "length": empty}
    missing = np.isnan(full)
    ranks, ordered, count, filled = _sorted_ranks(full, missing)  # pairs × offsets
    medians = _medians(ordered, count)
    length = count.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        signs = np.sign(filled - medians[:, None])
    absent = np.ascontiguousarray(missing.T) if missing.any() else None
    if absent is not None:  # missing ARs add nothing
        np.copyto(signs, 0.0, where=absent)
        np.copyto(ranks, 0.0, where=absent)
    # Average ranks of c values sum to c(c + 1)/2 and are multiples of ½: the mean rank is
    # (c + 1)/2 and the sums below are exact in any order; unless a present +inf tied with
    # the missing ones (they sort together), which the column's own mean covers.
    mean_rank = (length + 1) / 2
    inf_tail = (count < full.shape[0]) & (
        ordered[np.arange(n_pairs), np.maximum(count - 1, 0)] == np.inf
    )
    if inf_tail.any():
        mean_rank[inf_tail] = ranks[inf_tail].sum(axis=1) / length[inf_tail]
    with np.errstate(invalid="ignore", divide="ignore"):
        uniform = ranks / (1 + length[:, None])
    uniform -= 0.5
    pair_means = np.where(length > 0, mean_rank, 0.0)
    if absent is None:
        n_t = np.full(full.shape[0], float(n_pairs))
        sum_mean_rank = np.full(full.shape[0], pair_means.sum())
    else:
        np.copyto(uniform, 0.0, where=absent)
        n_t = (n_pairs - absent.sum(axis=0)).astype(float)
        sum_mean_rank = pair_means @ ~absent
    return {
        "sign": signs.sum(axis=0),
        "rank": ranks.sum(axis=0) - sum_mean_rank,
        "mrank": uniform.sum(axis=0),
        "n_t": n_t,
        "length": length,
    }


def _rank_based(
    out: dict[str, np.ndarray], n_est: int, n_pairs: int, sums: dict[str, np.ndarray]
) -> None:
    """Corrado–Zivney sign, Corrado rank and modified rank tests, per offset, into `out`, from
    the pooled sums (_pooled_rank_sums; the first n_est offsets are the estimation window's)."""
    n_t = out["n"]  # valid event-window ARs per offset, from _parametric
    n_t_or_nan = np.where(n_t > 0, n_t, np.nan)
    event_rows = slice(n_est, None)
    n_full_t = np.where(sums["n_t"] > 0, sums["n_t"], np.nan)
    length_full = sums["length"]
    mean_length_full = float(np.mean(length_full)) if length_full.size else np.nan
    # Cross-sectional means over the valid pairs, scaled to all pairs (estudy2's mean × N).
    with np.errstate(invalid="ignore", divide="ignore"):
        sign_sums = sums["sign"] / n_full_t * n_pairs
        rank_dev = sums["rank"] / n_full_t * n_pairs
        mrank_dev = sums["mrank"] / n_full_t * n_pairs

    # Corrado–Zivney 1992 sign test: signs around each pair's median.
    cs_sd = np.sqrt(np.nansum((sign_sums / np.sqrt(n_full_t)) ** 2) / mean_length_full)
    out["corrado_sign_stat"] = _safe_div(sign_sums[event_rows] / np.sqrt(n_t_or_nan), cs_sd)
    out["corrado_sign_p"] = two_sided_normal(out["corrado_sign_stat"])

    # Corrado 1989 rank test and the modified (standardised-rank) version.
    rank_sd = np.sqrt(np.nansum((rank_dev / n_full_t) ** 2) / mean_length_full)
    out["rank_stat"] = _safe_div(rank_dev[event_rows] / n_t_or_nan, rank_sd)
    out["rank_p"] = two_sided_normal(out["rank_stat"])
    mrank_sd = np.sqrt(np.nansum((mrank_dev / np.sqrt(n_full_t)) ** 2) / mean_length_full)
    out["modified_rank_stat"] = _safe_div(mrank_dev[event_rows] / np.sqrt(n_t_or_nan), mrank_sd)
    out["modified_rank_p"] = two_sided_normal(out["modified_rank_stat"])
