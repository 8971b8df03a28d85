"""How numbers, times and column names read to a person: one set of rules for the dashboard and the CLI.

Pure functions of values (no Streamlit, no database). Missing values (None, NaN, ±inf) read as
"—" everywhere, never as the word "None"; instants read as `2026-05-26 14:25 UTC`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

MISSING = "—"
MINUS = "−"  # U+2212: a real minus sign lines up with the plus in signed figures

# Column name → what a reader sees. Names not listed are shown with underscores as spaces.
COLUMN_LABELS: dict[str, str] = {
    "instrument_id": "instrument",
    "event_id": "event id",
    "other_event_id": "other event id",
    "event_at": "event time",
    "other_event_at": "other event time",
    "other_title": "other event",
    "published_at": "published",
    "published_precision": "time precision",
    "priced_at": "priced at",
    "p0_at": "anchor at",
    "ts": "time",
    "first_ts": "first bar",
    "last_ts": "last bar",
    "n_articles": "reports",
    "n_outlets": "outlets",
    "n_bars": "bars",
    "n_matched": "matching",
    "ret_pct": "return",
    "change_pct": "24 h change",
    "ar": "abnormal return",
    "car": "CAR",
    "caar": "CAAR",
    "mean_ar": "mean AR",
    "car_from": "CAR from",
    "car_to": "CAR to",
    "car_sd": "CAR sd",
    "n_valid": "valid bars",
    "n_window": "window bars",
    "n_estimation": "estimation bars",
    "n_positive": "positive ARs",
    "n": "pairs",
    "sigma": "bar volatility",
    "z": "z",
    "p_value": "p",
    "q_value": "q (BH)",
    "signif": "mark",
    "placebo_p": "placebo p",
    "placebo_mean": "placebo mean",
    "placebo_sd": "placebo sd",
    "n_placebo": "placebo draws",
    "minutes_from_event": "minutes from event",
    "age_hours": "age (h)",
    "n_gaps": "gaps",
    "missing_bars": "missing bars",
    "longest_gap_bars": "longest gap (bars)",
    "longest_gap_after": "longest gap after",
    "kp_rbar": "cross-correlation r̄",
}
# Test statistics of the study summary: column prefix → readable name.
STAT_LABELS: dict[str, str] = {
    "bw_1980": "Brown–Warner 1980",
    "bw_1985": "Brown–Warner 1985",
    "t_test": "cross-sectional t",
    "patell": "Patell",
    "bmp": "BMP",
    "lamb": "Lamb",
    "kp_bmp": "Kolari–Pynnönen BMP",
    "sign": "sign",
    "generalized_sign": "generalised sign",
    "corrado_sign": "Corrado sign",
    "rank": "Corrado rank",
    "modified_rank": "modified rank",
    "wilcoxon": "Wilcoxon",
}
# Columns holding fractions (0.012 = 1.2 %) and columns already in percent (1.2 = 1.2 %).
FRACTION_COLUMNS = frozenset(
    {"ar", "car", "caar", "mean_ar", "car_sd", "sigma", "ret", "expected", "placebo_mean"}
    | {"placebo_sd"}
)
PERCENT_COLUMNS = frozenset({"ret_pct", "change_pct", "top_ret_pct"})


def is_missing(value: Any) -> bool:
    """True for None, NaN and ±inf (what a table shows as a dash)."""
    if value is None:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def label(column: str) -> str:
    """The readable name of a result column (`instrument_id` → `instrument`, `kp_bmp_p` → `Kolari–Pynnönen BMP p`)."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    for suffix, word in (("_stat", "stat"), ("_p", "p")):
        stem = column.removesuffix(suffix)
        if column.endswith(suffix) and stem in STAT_LABELS:
            return f"{STAT_LABELS[stem]} {word}"
    return column.replace("_", " ")


def signed(text: str) -> str:
    """Swap an ASCII leading '-' for a real minus sign."""
    return MINUS + text[1:] if text.startswith("-") else text


def _decimals(value: float, sig: int) -> int:
    """Decimals that keep `sig` significant digits (at least 0, at most 6)."""
    if value == 0:
        return sig - 1
    return max(0, min(6, sig - 1 - int(math.floor(math.log10(abs(value))))))


def number(value: Any, *, sig: int = 3) -> str:
    """A plain number for its magnitude: `73,275`, `64.4`, `0.342`, `0.00145`; missing → '—'."""
    if is_missing(value):
        return MISSING
    value = float(value)
    if abs(value) >= 10 ** (sig - 1):
        return signed(f"{value:,.0f}")
    return signed(f"{value:,.{_decimals(value, sig)}f}")


def pct(value: Any, *, fraction: bool = False, plus: bool = True, sig: int = 2) -> str:
    """A percentage with sign: `+1.8 %`, `−0.042 %`, `+12.3 %` (fraction=True takes 0.018 for 1.8 %)."""
    if is_missing(value):
        return MISSING
    x = float(value) * (100 if fraction else 1)
    if abs(x) >= 10:
        text = f"{x:+,.1f}" if plus else f"{x:,.1f}"
    else:
        digits = max(1, _decimals(x, sig)) if x else 2
        digits = min(digits, 4)
        text = f"{x:+.{digits}f}" if plus else f"{x:.{digits}f}"
    return signed(text) + " %"


def p_value(p: Any) -> str:
    """A p- or q-value: `0.43`, `0.014`, `< 0.001`; missing → '—'."""
    if is_missing(p):
        return MISSING
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def stat(value: Any) -> str:
    """A test statistic with two decimals and a real minus: `−2.71`."""
    if is_missing(value):
        return MISSING
    return signed(f"{float(value):.2f}")


def when(value: datetime | date | None, *, seconds: bool = False) -> str:
    """An instant as `2026-05-26 14:25 UTC` (naive times are taken as UTC); a date as `2026-05-26`."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
        )
    return value.isoformat()


def clock(value: datetime) -> str:
    """The UTC clock time of an instant: `14:25 UTC`."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%H:%M UTC")


def offset(k: int) -> str:
    """An event-time offset: `−12`, `0`, `+24`."""
    return "0" if k == 0 else signed(f"{k:+d}")


def offsets(lo: int, hi: int) -> str:
    """An offset span in words: `−12 to +24`."""
    return f"{offset(lo)} to {offset(hi)}"


def horizon_words(horizon: str) -> str:
    """A horizon label as words: `+5m` → `5 min`, `+1h` → `1 h`, `+1d` → `1 day`, `+3d` → `3 days`."""
    text = horizon.lstrip("+")
    units = {"m": "min", "h": "h", "d": "day"}
    if text[:-1].isdigit() and text[-1] in units:
        n, unit = int(text[:-1]), units[text[-1]]
        if unit == "day" and n != 1:
            unit = "days"
        return f"{n} {unit}"
    return text
