"""Answers a reader can trust: multiple-testing q-values and marks, a CAAR band that allows for
co-moving instruments, and verdict sentences written from the numbers.

Pure functions of given numbers (no database, no Streamlit); the dashboard and the CLI use them.

Why the band is not the naive one: one event seen through 20 instruments that move together is
nearer one observation than twenty. The naive standard error s/√n of a cross-sectional mean
assumes independence; with average pairwise correlation r̄ the variance of the mean is
σ²(1 + (n−1)r̄)/n while E[s²] = σ²(1 − r̄), so the honest standard error is
s/√n · √((1 + (n−1)r̄)/(1 − r̄)) — the Kolari–Pynnönen (2010) adjustment, applied here to the
cross-sectional t-test on CARs. r̄ comes from the estimation-window abnormal returns (the engine's
`kp_rbar`), floored at 0 so the band is never narrower than the naive one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from scipy import stats as sps

from pipelines import display
from pipelines.analytics.spec import StudyResult
from pipelines.analytics.stats import two_sided_normal  # the engine's p-value, not a second one

# (threshold, mark): a result is marked when its q (or p) is below the threshold.
MARKS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
# A move is stated as a move in a verdict only below this q (or p).
SUPPORTED = 0.05
MODEL_WORDS = {
    "constant": "constant-mean model",
    "market-adjusted": "market-adjusted returns",
    "market": "market model",
}
BAND_TEST = "Kolari–Pynnönen-adjusted cross-sectional t-test on CARs"


def bh_q(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini–Hochberg q-values over the finite p-values (scipy); missing ones stay None."""
    ok = [i for i, p in enumerate(p_values) if not display.is_missing(p)]
    out: list[float | None] = [None] * len(p_values)
    if ok:
        q = sps.false_discovery_control(np.array([float(p_values[i]) for i in ok]), method="bh")
        for i, value in zip(ok, q, strict=True):
            out[i] = float(value)
    return out


def mark(p: float | None) -> str:
    """`***` below 0.01, `**` below 0.05, `*` below 0.10, else '' (also for missing)."""
    if display.is_missing(p):
        return ""
    for threshold, text in MARKS:
        if p < threshold:
            return text
    return ""


def two_sided_p(z: float | None) -> float | None:
    """Two-sided normal p-value of a z-score (None when missing): the engine's own rule."""
    if display.is_missing(z):
        return None
    return float(two_sided_normal(np.asarray([float(z)]))[0])


def with_q_marks(frame: pl.DataFrame, z: str = "z") -> pl.DataFrame:
    """Add p_value (two-sided, from column `z`), the Benjamini–Hochberg q_value over all the
    frame's tests, and the mark from q: the one significance rule of the pages and the CLI."""
    p = [two_sided_p(v) for v in frame[z].to_list()]
    q = bh_q(p)
    return frame.with_columns(
        pl.Series("p_value", p, dtype=pl.Float64),
        pl.Series("q_value", q, dtype=pl.Float64),
        pl.Series("mark", [mark(x) for x in q], dtype=pl.Utf8),
    )


def kp_inflation(n: int | np.ndarray, rbar: float) -> np.ndarray:
    """Factor by which the naive s/√n understates the standard error of a mean of n values with
    average pairwise correlation rbar (floored at 0): √((1 + (n−1)r̄)/(1 − r̄))."""
    r = min(max(float(rbar or 0.0), 0.0), 0.999)
    n = np.asarray(n, dtype=float)
    return np.sqrt((1 + (n - 1) * r) / (1 - r))


@dataclass(frozen=True)
class MeanTest:
    """A correlation-adjusted t-test of a cross-sectional mean, with its 95 % interval."""

    mean: float | None
    se: float | None
    t: float | None
    p: float | None
    n: int
    lo: float | None
    hi: float | None
    rbar: float


def kp_mean_test(values: Sequence[float | None], rbar: float, level: float = 0.95) -> MeanTest:
    """The KP-adjusted cross-sectional t-test (df n−1) of the mean of `values`; needs n ≥ 2."""
    x = np.array([v for v in values if not display.is_missing(v)], dtype=float)
    n = len(x)
    if n < 2:
        mean = float(x[0]) if n else None
        return MeanTest(mean, None, None, None, n, None, None, float(rbar or 0.0))
    sd = float(np.std(x, ddof=1))
    se = sd / math.sqrt(n) * float(kp_inflation(n, rbar))
    mean = float(np.mean(x))
    if se == 0:
        return MeanTest(mean, 0.0, None, None, n, mean, mean, float(rbar or 0.0))
    t = mean / se
    p = float(2 * sps.t.sf(abs(t), n - 1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * se
    return MeanTest(mean, se, t, p, n, mean - half, mean + half, float(rbar or 0.0))


def caar_band(ar: pl.DataFrame, rbar: float, level: float = 0.95) -> pl.DataFrame:
    """Per offset: CAAR (mean CAR over pairs) with the KP-adjusted 95 % band, its t and p.

    `ar` needs offset and car (one row per event × instrument × offset, as in StudyResult.ar).
    """
    schema = {
        "offset": pl.Int64,
        "caar": pl.Float64,
        "lo": pl.Float64,
        "hi": pl.Float64,
        "t": pl.Float64,
        "p": pl.Float64,
        "n": pl.Int64,
    }
    if ar.height == 0:
        return pl.DataFrame(schema=schema)
    agg = (
        ar.drop_nulls("car")
        .filter(pl.col("car").is_finite())
        .group_by("offset")
        .agg(
            pl.col("car").mean().alias("caar"), pl.col("car").std().alias("sd"), pl.len().alias("n")
        )
        .sort("offset")
    )
    n = agg["n"].to_numpy().astype(float)
    sd = agg["sd"].fill_null(np.nan).to_numpy()
    caar = agg["caar"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(n >= 2, sd / np.sqrt(n) * kp_inflation(n, rbar), np.nan)
        t = np.where(se > 0, caar / se, np.nan)
        df = np.maximum(n - 1, 1)
        half = sps.t.ppf(0.5 + level / 2, df) * se
        p = np.where(np.isfinite(t), 2 * sps.t.sf(np.abs(t), df), np.nan)
    frame = pl.DataFrame(
        {
            "offset": agg["offset"].cast(pl.Int64),
            "caar": caar,
            "lo": caar - half,
            "hi": caar + half,
            "t": t,
            "p": p,
            "n": agg["n"].cast(pl.Int64),
        }
    )
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None)).select(list(schema))


# ---------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Move:
    """One instrument's return over one horizon after an event, with its z and q."""

    instrument: str
    horizon: str
    ret_pct: float | None
    z: float | None
    q: float | None


def _move_text(m: Move) -> str:
    return (
        f"{m.instrument} {display.pct(m.ret_pct)} at {display.horizon_words(m.horizon)} "
        f"(z {display.stat(m.z)})"
    )


def event_verdict(moves: Sequence[Move], *, window: str, t0: datetime, n_tests: int) -> str:
    """One sentence on what moved in the `window` (a horizon label, e.g. `+4h`) after t0.

    `moves` are the instrument × horizon returns inside that window. An instrument is said to
    have moved only when some horizon has q < 0.05 (Benjamini–Hochberg over the `n_tests` tests
    the page shows); its most distinct such horizon (largest |z|) is quoted.
    """
    lead = f"In the {display.horizon_words(window)} after {display.clock(t0)}"
    by_inst: dict[str, list[Move]] = {}
    for m in moves:
        by_inst.setdefault(m.instrument, []).append(m)
    priced = {i: [m for m in ms if not display.is_missing(m.ret_pct)] for i, ms in by_inst.items()}
    unpriced = [i for i, ms in priced.items() if not ms]
    if len(unpriced) == len(by_inst):
        return (
            f"{lead}: no instrument has a fresh price, so nothing can be said about the reaction."
        )
    strong: list[Move] = []
    quiet: list[str] = []
    for inst, ms in priced.items():
        if not ms:
            continue
        supported = [m for m in ms if not display.is_missing(m.q) and m.q < SUPPORTED]
        if supported:
            strong.append(max(supported, key=lambda m: abs(m.z or 0.0)))
        else:
            quiet.append(inst)
    strong.sort(key=lambda m: -abs(m.z or 0.0))
    basis = (
        "Test: each raw return against the instrument's own pre-event volatility, "
        f"Benjamini–Hochberg q < {SUPPORTED:g} over the {n_tests} tests shown."
    )
    if strong:
        text = f"{lead}: " + ", ".join(_move_text(m) for m in strong[:6])
        if len(strong) > 6:
            text += f" and {len(strong) - 6} more"
        text += f" moved beyond {'its' if len(strong) == 1 else 'their'} usual range"
        if quiet:
            text += (
                f"; {_names(quiet)} stayed within {'its' if len(quiet) == 1 else 'their'} "
                "usual range"
            )
    else:
        every = [m for ms in priced.values() for m in ms]
        largest = max(every, key=lambda m: abs(m.z or 0.0))
        text = (
            f"{lead}: no instrument moved beyond its usual range once the {n_tests} tests are "
            f"allowed for; the largest was {_move_text(largest)}"
        )
    if unpriced:
        text += f"; no fresh price for {_names(unpriced)}"
    return f"{text}. {basis}"


def _names(ids: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def study_verdict(
    test: MeanTest,
    *,
    window: tuple[int, int],
    unit: str,
    model: str,
    n_events: int,
) -> str:
    """One sentence on the CAAR over `window`, saying only what the KP-adjusted test supports."""
    span = f"offsets {display.offsets(*window)} ({unit}, {MODEL_WORDS.get(model, model)})"
    pairs = f"{test.n} event × instrument pair{'s' if test.n != 1 else ''} from {n_events} event{'s' if n_events != 1 else ''}"
    if test.n < 2 or test.p is None:
        return (
            f"Over {span}: too few pairs ({pairs}) for a test; the CAAR "
            f"{display.pct(test.mean, fraction=True)} is one observation, not evidence."
        )
    numbers = (
        f"CAAR {display.pct(test.mean, fraction=True)} "
        f"(KP-adjusted t {display.stat(test.t)}, p {display.p_value(test.p)}, "
        f"r̄ {display.stat(max(test.rbar, 0.0))})"
    )
    if test.p < SUPPORTED:
        direction = "rise" if (test.mean or 0) > 0 else "fall"
        text = (
            f"Over {span}, {pairs}: {numbers} — a {direction} larger than the instruments' "
            "co-movement and noise explain"
        )
    else:
        text = (
            f"Over {span}, {pairs}: {numbers} — not distinguishable from zero once the "
            "instruments' co-movement is allowed for"
        )
    if n_events == 1:
        text += "; with one event this describes that moment, not how such news moves markets"
    return text + "."


def car_report(car: pl.DataFrame, model: str) -> pl.DataFrame:
    """The CAR frame as a person reads it (text columns): CAR in %, z, two-sided p, BH q over
    the rows and its mark; alpha/beta only under the market model (elsewhere they are not fitted).
    """
    tested = with_q_marks(car)
    p, q = tested["p_value"].to_list(), tested["q_value"].to_list()
    columns: dict[str, list[str]] = {
        "event": car["event_id"].to_list(),
        "instrument": car["instrument_id"].to_list(),
        "window": [
            display.offsets(a, b) for a, b in zip(car["car_from"], car["car_to"], strict=True)
        ],
        "CAR": [display.pct(v, fraction=True) for v in car["car"].to_list()],
        "z": [display.stat(v) for v in car["z"].to_list()],
        "p": [display.p_value(v) for v in p],
        "q (BH)": [display.p_value(v) for v in q],
        "mark": tested["mark"].to_list(),
        "bars": [str(v) for v in car["n_valid"].to_list()],
    }
    if model == "market":
        columns["alpha"] = [display.number(v) for v in car["alpha"].to_list()]
        columns["beta"] = [display.stat(v) for v in car["beta"].to_list()]
    if car["placebo_p"].is_not_null().any():
        columns["placebo p"] = [display.p_value(v) for v in car["placebo_p"].to_list()]
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.Utf8))


def study_rbar(result: StudyResult) -> float:
    """The average cross-correlation r̄ the engine measured on the estimation windows (0 if none)."""
    summary = result.summary
    if summary.height == 0 or "kp_rbar" not in summary.columns:
        return 0.0
    values = summary["kp_rbar"].drop_nulls()
    return float(values[0]) if values.len() else 0.0


def window_test(
    result: StudyResult, window: tuple[int, int], rbar: float | None = None
) -> MeanTest:
    """The KP-adjusted t-test of the mean CAR over one of the study's CAR windows."""
    car = result.car
    cars = car.filter((pl.col("car_from") == window[0]) & (pl.col("car_to") == window[1]))["car"]
    return kp_mean_test(cars.to_list(), study_rbar(result) if rbar is None else rbar)
