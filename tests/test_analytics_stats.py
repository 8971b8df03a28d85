"""The statistics module against scipy and against properties they must have."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from pipelines.analytics import stats


def test_rank_rows_ignores_missing_values_and_averages_ties():
    values = np.array([[3.0, np.nan], [1.0, 2.0], [3.0, 1.0], [np.nan, 5.0]])
    ranks = stats.rank_rows(values)
    assert ranks[:, 0].tolist()[:3] == [2.5, 1.0, 2.5]
    assert np.isnan(ranks[3, 0]) and np.isnan(ranks[0, 1])
    assert ranks[1:, 1].tolist() == [2.0, 1.0, 3.0]


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        float,
        hs.tuples(hs.integers(0, 30), hs.integers(1, 6)),
        # few distinct values so ties are common; NaN for missing offsets
        elements=hs.sampled_from([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0, np.nan]) | hs.floats(-5, 5),
    )
)
def test_ranks_and_medians_match_scipy_and_numpy(values):
    ranks, medians = stats.ranks_and_medians(values)
    for j in range(values.shape[1]):
        column = values[:, j]
        present = ~np.isnan(column)
        assert np.array_equal(np.isnan(ranks[:, j]), ~present)
        if present.any():
            assert ranks[present, j] == pytest.approx(sps.rankdata(column[present]))
            assert medians[j] == pytest.approx(np.median(column[present]))
        else:
            assert np.isnan(medians[j])


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        float,
        hs.integers(5, 25),
        elements=hs.floats(-1, 1, allow_nan=False).filter(lambda x: abs(x) > 1e-6),
        unique=True,
    ).filter(lambda a: len(np.unique(np.abs(a))) == len(a))
)
def test_wilcoxon_matches_scipy_exact(sample):
    w, p = stats.wilcoxon_signed_rank(sample[None, :])
    ref = sps.wilcoxon(sample, alternative="two-sided", method="exact")
    n = len(sample)
    # scipy reports min(W+, W−); ours is W+ (as estudy2)
    assert min(w[0], n * (n + 1) / 2 - w[0]) == ref.statistic
    assert p[0] == pytest.approx(ref.pvalue, rel=1e-9)


def test_wilcoxon_with_ties_uses_the_tie_corrected_normal_approximation():
    sample = np.array([1.0, -1.0, 0.5, 0.5, 2.0, 3.0, -0.25, 4.0, 0.5, 1.5])
    w, p = stats.wilcoxon_signed_rank(sample[None, :])
    ref = sps.wilcoxon(sample, method="approx", correction=False)
    assert p[0] == pytest.approx(ref.pvalue, rel=1e-9)


def test_signed_rank_null_distribution_sums_to_two_to_the_n():
    counts = stats.signed_rank_null_cdf(12)
    for n, dist in enumerate(counts):
        assert dist.sum() == 2**n
        assert dist.size == n * (n + 1) // 2 + 1
        assert np.allclose(dist, dist[::-1])  # symmetric around n(n+1)/4


def _input(est: np.ndarray, ev: np.ndarray) -> stats.CrossSectionInput:
    return stats.CrossSectionInput(
        est=est,
        ev=ev,
        n_estimation=np.full(est.shape[1], float(est.shape[0])),
        market_term=np.zeros_like(ev),
    )


def test_t_test_and_sign_test_agree_with_their_definitions():
    rng = np.random.default_rng(3)
    est = rng.normal(0, 0.01, (120, 30))
    ev = rng.normal(0.004, 0.01, (5, 30))
    ev[2, :4] = np.nan  # missing securities on one day
    out = stats.cross_section(_input(est, ev))
    for row in range(5):
        x = ev[row][~np.isnan(ev[row])]
        ref = sps.ttest_1samp(x, 0.0)
        assert out["t_test_stat"][row] == pytest.approx(ref.statistic, rel=1e-12)
        assert out["t_test_p"][row] == pytest.approx(ref.pvalue, rel=1e-9)
        wins = (x > 0).sum()
        assert out["sign_stat"][row] == pytest.approx((wins - len(x) / 2) / np.sqrt(len(x) / 4))
        assert out["n"][row] == len(x)


def test_kolari_pynnonen_deflates_bmp_under_cross_correlation():
    rng = np.random.default_rng(5)
    common = rng.normal(0, 0.01, (200, 1))
    est = 0.7 * common + rng.normal(0, 0.007, (200, 40))  # strongly correlated residuals
    ev = 0.7 * rng.normal(0, 0.01, (3, 1)) + rng.normal(0, 0.007, (3, 40))
    rbar = stats.average_cross_correlation(est)
    empirical = np.corrcoef(est.T)[np.triu_indices(40, 1)].mean()
    assert rbar == pytest.approx(empirical, abs=0.02)
    out = stats.cross_section(_input(est, ev))
    assert np.all(np.abs(out["kp_bmp_stat"]) < np.abs(out["bmp_stat"]))
    independent = stats.average_cross_correlation(rng.normal(0, 0.01, (200, 40)))
    assert abs(independent) < 0.02


def test_statistics_are_centred_under_the_null():
    """Pure noise: across many days, the standardised statistics have mean ≈ 0 and sd ≈ 1."""
    rng = np.random.default_rng(9)
    est = rng.normal(0, 0.01, (250, 50))
    ev = rng.normal(0, 0.01, (400, 50))
    out = stats.cross_section(_input(est, ev))
    for name in (
        "bw_1980_stat",
        "patell_stat",
        "bmp_stat",
        "sign_stat",
        "rank_stat",
        "modified_rank_stat",
    ):
        assert abs(np.mean(out[name])) < 0.2, name
        assert 0.75 < np.std(out[name]) < 1.3, name


def test_wilcoxon_large_samples_use_the_normal_approximation_row_by_row():
    rng = np.random.default_rng(11)
    rows = rng.normal(0.1, 1.0, (4, 80))
    rows[1, :10] = np.nan  # a row with fewer securities
    w, p = stats.wilcoxon_signed_rank(rows)
    for i in range(4):
        x = rows[i][~np.isnan(rows[i])]
        ref = sps.wilcoxon(x, method="approx", correction=False)
        assert p[i] == pytest.approx(ref.pvalue, rel=1e-9)
        assert min(w[i], len(x) * (len(x) + 1) / 2 - w[i]) == pytest.approx(ref.statistic)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        float,
        hs.tuples(hs.integers(0, 12), hs.integers(0, 6)),
        elements=hs.floats(-1e3, 1e3) | hs.just(np.nan),
    ),
    hs.sampled_from([0, 1]),
)
def test_moments_equal_numpys_nan_reductions(values, axis):
    import warnings

    got = stats.moments(values, axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=axis)
        sd = np.nanstd(values, axis=axis, ddof=1)
    assert got.n.tolist() == (~np.isnan(values)).sum(axis=axis).tolist()
    np.testing.assert_allclose(got.mean, mean, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.sd, sd, rtol=1e-9, atol=1e-9)


def test_cross_section_leaves_its_inputs_alone():
    rng = np.random.default_rng(4)
    est, ev = rng.normal(0, 0.01, (60, 1)), rng.normal(0, 0.01, (3, 1))
    est[5, 0] = ev[1, 0] = np.nan  # one pair: the transposes are views of the inputs
    before = est.copy(), ev.copy()
    stats.cross_section(_input(est, ev))
    assert np.array_equal(est, before[0], equal_nan=True)
    assert np.array_equal(ev, before[1], equal_nan=True)
