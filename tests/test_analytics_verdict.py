"""Verdict wording, multiple-testing q-values and marks, and the correlation-robust CAAR band,
on given numbers with expectations worked out independently here."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from pipelines import display
from pipelines.analytics import verdict

T0 = datetime(2026, 5, 26, 14, 25, tzinfo=UTC)


def bh_by_hand(ps: list[float]) -> list[float]:
    """Benjamini–Hochberg step-up, written out: q(i) = min over j ≥ rank(i) of m·p(j)/j, capped at 1."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * m / rank)
        q[i] = running
    return q


def test_bh_q_on_a_worked_example():
    # m = 5: sorted p 0.005 0.01 0.03 0.04 0.5 → m·p/rank 0.025 0.025 0.05 0.05 0.5
    ps = [0.04, 0.005, 0.5, 0.01, 0.03]
    assert verdict.bh_q(ps) == pytest.approx([0.05, 0.025, 0.5, 0.025, 0.05])


def test_the_one_p_014_among_45_tests_is_not_marked_after_bh():
    # The case: one p = 0.014 among 45 horizon × instrument tests, the rest unremarkable.
    ps = [0.014] + [0.2 + 0.015 * i for i in range(44)]
    q = verdict.bh_q(ps)
    assert q[0] == pytest.approx(0.014 * 45)  # rank 1 of 45
    assert verdict.mark(ps[0]) == "**"  # the naive mark
    assert verdict.mark(q[0]) == ""  # the honest one


def test_bh_q_leaves_missing_p_values_out_of_m():
    q = verdict.bh_q([0.01, None, float("nan"), 0.02])
    assert q[1] is None and q[2] is None
    assert q[0] == pytest.approx(0.02) and q[3] == pytest.approx(0.02)  # m = 2


@given(hs.lists(hs.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_bh_q_matches_the_hand_written_step_up(ps):
    assert verdict.bh_q(ps) == pytest.approx(bh_by_hand(ps), abs=1e-12)


@pytest.mark.parametrize(
    ("p", "want"),
    [
        (0.0005, "***"),
        (0.01, "**"),
        (0.049, "**"),
        (0.05, "*"),
        (0.099, "*"),
        (0.1, ""),
        (None, ""),
    ],
)
def test_marks(p, want):
    assert verdict.mark(p) == want


def test_kp_inflation_is_one_without_correlation_and_sqrt_n_when_fully_correlated():
    assert float(verdict.kp_inflation(20, 0.0)) == pytest.approx(1.0)
    # r̄ = 0.5, n = 20: √((1 + 19·0.5)/0.5) = √21
    assert float(verdict.kp_inflation(20, 0.5)) == pytest.approx(math.sqrt(21))
    # a negative r̄ never narrows the band
    assert float(verdict.kp_inflation(20, -0.04)) == pytest.approx(1.0)


def test_kp_mean_test_on_given_numbers():
    values = [0.01, 0.02, 0.03, 0.00, -0.01]
    # mean 0.01, sd = √(0.0005/2)... computed by hand: deviations 0, .01, .02, -.01, -.02 → Σd² = .001
    sd = math.sqrt(0.001 / 4)
    se = sd / math.sqrt(5) * math.sqrt((1 + 4 * 0.25) / 0.75)
    out = verdict.kp_mean_test(values, 0.25)
    assert out.mean == pytest.approx(0.01)
    assert out.se == pytest.approx(se)
    assert out.t == pytest.approx(0.01 / se)
    # p from the t distribution with 4 df; t = 0.01/se ≈ 0.8165 → two-sided p from scipy's own table
    from scipy import stats

    assert out.p == pytest.approx(2 * stats.t.sf(0.01 / se, 4))
    half = stats.t.ppf(0.975, 4) * se
    assert (out.lo, out.hi) == pytest.approx((0.01 - half, 0.01 + half))


def test_kp_band_covers_zero_95_percent_of_the_time_for_correlated_instruments():
    # One event seen through 20 instruments that share a common factor (r = 0.6) and have no
    # reaction of their own, simulated 2,000 times (one offset per simulation). The band must
    # cover the true CAAR (0) about 95 % of the time; the naive band (r̄ = 0) covers far less.
    rng = np.random.default_rng(7)
    reps, n, r = 2_000, 20, 0.6
    common = rng.normal(0, math.sqrt(r), (reps, 1))
    cars = (common + rng.normal(0, math.sqrt(1 - r), (reps, n))) * 0.01
    ar = pl.DataFrame({"offset": np.repeat(np.arange(reps), n), "car": cars.ravel()})

    def coverage(rbar: float) -> float:
        band = verdict.caar_band(ar, rbar)
        return float(((band["lo"] < 0) & (band["hi"] > 0)).mean())

    assert coverage(r) == pytest.approx(0.95, abs=0.02)
    assert coverage(0.0) < 0.5


def test_band_is_missing_for_a_single_pair():
    ar = pl.DataFrame({"offset": [0, 1], "car": [0.01, 0.02]})
    band = verdict.caar_band(ar, 0.3)
    assert band["lo"].to_list() == [None, None]
    assert band["n"].to_list() == [1, 1]


def test_event_verdict_names_only_supported_moves():
    moves = [
        verdict.Move("ETH", "+1h", -1.8, -2.7, 0.01),
        verdict.Move("ETH", "+15m", -0.5, -1.1, 0.4),
        verdict.Move("BTC", "+1h", -0.9, -2.0, 0.04),
        verdict.Move("XAU", "+1h", 0.05, 0.3, 0.8),
        verdict.Move("WTI", "+1h", -0.1, -0.4, 0.7),
        verdict.Move("BRENT", "+1h", None, None, None),
    ]
    text = verdict.event_verdict(moves, window="+2h", t0=T0, n_tests=45)
    assert text.startswith(
        "In the 2 h after 14:25 UTC: ETH −1.8 % at 1 h (z −2.70), BTC −0.90 % at 1 h (z −2.00) "
        "moved beyond their usual range; XAU, WTI stayed within their usual range"
    )
    assert "no fresh price for BRENT" in text
    assert "45 tests" in text


def test_event_verdict_quotes_each_instruments_most_distinct_supported_horizon():
    moves = [
        verdict.Move("BTC", "+5m", 2.0, 11.3, 1e-20),
        verdict.Move("BTC", "+1h", 2.3, 3.7, 0.001),
        verdict.Move("BTC", "+4h", 0.46, 0.37, 0.88),
    ]
    text = verdict.event_verdict(moves, window="+4h", t0=T0, n_tests=3)
    assert "BTC +2.0 % at 5 min (z 11.30) moved beyond its usual range" in text


def test_event_verdict_without_supported_moves_says_so_and_names_the_largest():
    moves = [verdict.Move("ETH", "+4h", -0.4, -1.2, 0.6), verdict.Move("BTC", "+4h", 0.1, 0.5, 0.8)]
    text = verdict.event_verdict(moves, window="+4h", t0=T0, n_tests=10)
    assert "no instrument moved beyond its usual range" in text
    assert "the largest was ETH −0.40 % at 4 h (z −1.20). Test:" in text
    assert text.startswith("In the 4 h after 14:25 UTC")


def test_study_verdict_follows_the_kp_test():
    flat = verdict.MeanTest(-0.0042, 0.005, -0.84, 0.41, 20, -0.015, 0.006, 0.45)
    text = verdict.study_verdict(flat, window=(0, 24), unit="5m bars", model="constant", n_events=1)
    assert "not distinguishable from zero" in text
    assert "CAAR −0.42 %" in text and "p 0.41" in text and "constant-mean model" in text
    assert "with one event" in text
    moved = verdict.MeanTest(0.013, 0.004, 3.1, 0.004, 60, 0.005, 0.021, 0.1)
    text = verdict.study_verdict(moved, window=(0, 24), unit="5m bars", model="market", n_events=3)
    assert "a rise larger than" in text and "p 0.004" in text and "market model" in text
    assert "with one event" not in text


def test_study_verdict_with_one_pair_does_not_test():
    one = verdict.MeanTest(0.01, None, None, None, 1, None, None, 0.0)
    text = verdict.study_verdict(one, window=(-2, 10), unit="1h bars", model="constant", n_events=1)
    assert "too few pairs" in text and "None" not in text


@pytest.mark.parametrize(
    ("value", "kw", "want"),
    [
        (1.8, {}, "+1.8 %"),
        (-0.042, {}, "−0.042 %"),
        (12.345, {}, "+12.3 %"),
        (0.018, {"fraction": True}, "+1.8 %"),
        (None, {}, "—"),
        (float("nan"), {}, "—"),
    ],
)
def test_pct(value, kw, want):
    assert display.pct(value, **kw) == want


def test_other_display_rules():
    assert display.p_value(0.0004) == "< 0.001"
    assert display.p_value(0.0143) == "0.014"
    assert display.p_value(0.43) == "0.43"
    assert display.when(T0) == "2026-05-26 14:25 UTC"
    assert display.number(73275.0) == "73,275"
    assert display.number(0.0014523) == "0.00145"
    assert display.number(None) == "—"
    assert display.label("instrument_id") == "instrument"
    assert display.label("kp_bmp_p") == "Kolari–Pynnönen BMP p"
    assert display.horizon_words("+1d") == "1 day"


def _result(cars: list[float], rbar: float | None):
    """A StudyResult with one CAR window (0, 5) over the given CARs and a summary carrying r̄."""
    from pipelines.analytics import StudyResult, StudySpec

    n = len(cars)
    car = pl.DataFrame(
        {
            "event_id": ["e1"] * n,
            "instrument_id": [f"I{i}" for i in range(n)],
            "car_from": [0] * n,
            "car_to": [5] * n,
            "car": cars,
        }
    )
    summary = pl.DataFrame({"offset": [0], "kp_rbar": [rbar]})
    empty = pl.DataFrame()
    return StudyResult(StudySpec(), "5m", empty, car, summary, empty, empty)


def test_window_test_takes_rbar_from_the_summary():
    cars = [0.01, 0.02, 0.03, 0.00, -0.01]
    out = verdict.window_test(_result(cars, 0.25), (0, 5))
    assert out.rbar == pytest.approx(0.25)
    assert out == verdict.kp_mean_test(cars, 0.25)
    assert verdict.window_test(_result(cars, None), (0, 5)).rbar == 0.0
    assert verdict.window_test(_result(cars, 0.25), (1, 5)).n == 0  # no such window
