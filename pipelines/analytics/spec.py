"""What an event study asks for (StudySpec) and what it returns (StudyResult)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

MODELS = ("constant", "market-adjusted", "market")
LEVELS = ("ar", "car", "summary", "placebo", "confounders")

_TEXT, _INT, _COUNT, _REAL = pl.Utf8, pl.Int64, pl.Int32, pl.Float64
_INSTANT = pl.Datetime("us", "UTC")

# Stable columns of each result frame and their types (the csv/json contract in the README).
AR_SCHEMA: dict[str, pl.DataType] = {
    "event_id": _TEXT,
    "instrument_id": _TEXT,
    "timeframe": _TEXT,
    "offset": _INT,
    "ts": _INSTANT,
    "price": _REAL,
    "ret": _REAL,
    "expected": _REAL,
    "ar": _REAL,
    "car": _REAL,
    # set when the return at this offset bridges a market closure (an event while the market
    # was shut): the instant the market reopened; the return runs from the last price before
    "reopen_at": _INSTANT,
}
CAR_SCHEMA: dict[str, pl.DataType] = {
    "event_id": _TEXT,
    "instrument_id": _TEXT,
    "timeframe": _TEXT,
    "event_at": _INSTANT,
    "car_from": _INT,
    "car_to": _INT,
    "car": _REAL,
    "n_valid": _COUNT,
    "n_window": _COUNT,
    "n_estimation": _INT,
    "alpha": _REAL,
    "beta": _REAL,
    "sigma": _REAL,
    "car_sd": _REAL,
    "z": _REAL,
    "placebo_p": _REAL,
}
SUMMARY_STATS = (
    "bw_1980",
    "bw_1985",
    "t_test",
    "patell",
    "bmp",
    "lamb",
    "kp_bmp",
    "sign",
    "generalized_sign",
    "corrado_sign",
    "rank",
    "modified_rank",
    "wilcoxon",
)
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "offset": _INT,
    "ts": _INSTANT,
    "n": _INT,
    "mean_ar": _REAL,
    "caar": _REAL,
    "n_positive": _INT,
    "kp_rbar": _REAL,
    **{f"{s}_{suffix}": _REAL for s in SUMMARY_STATS for suffix in ("stat", "p")},
}
CONFOUNDER_SCHEMA: dict[str, pl.DataType] = {
    "event_id": _TEXT,
    "other_event_id": _TEXT,
    "other_title": _TEXT,
    "other_event_at": _INSTANT,
    "window": _TEXT,
    "offset": _INT,
}
# One row per placebo draw that gave a CAR: the distribution behind placebo_p (for histograms).
PLACEBO_DRAW_SCHEMA: dict[str, pl.DataType] = {
    "event_id": _TEXT,
    "instrument_id": _TEXT,
    "car_from": _INT,
    "car_to": _INT,
    "car": _REAL,
}
PLACEBO_SCHEMA: dict[str, pl.DataType] = {
    "event_id": _TEXT,
    "instrument_id": _TEXT,
    "car_from": _INT,
    "car_to": _INT,
    "car": _REAL,
    "n_placebo": _INT,
    "placebo_mean": _REAL,
    "placebo_sd": _REAL,
    "placebo_p": _REAL,
}
AR_COLUMNS = tuple(AR_SCHEMA)
CAR_COLUMNS = tuple(CAR_SCHEMA)
SUMMARY_COLUMNS = tuple(SUMMARY_SCHEMA)
CONFOUNDER_COLUMNS = tuple(CONFOUNDER_SCHEMA)
PLACEBO_DRAW_COLUMNS = tuple(PLACEBO_DRAW_SCHEMA)
PLACEBO_COLUMNS = tuple(PLACEBO_SCHEMA)


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A result frame with no rows but its stable columns and types."""
    return pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class StudySpec:
    """The question: which events, which instruments, which windows, which model.

    Offsets are in bars of the chosen timeframe (trading days for daily exchange-calendar data).
    `window` is the event window [T1, T2]; `estimation` is [L1, L2] (before the event, with a gap).
    `window_dates` / `estimation_dates` give the same windows as calendar dates for daily studies.
    `instruments=None` means "the instruments linked to each event" (event_instruments).
    `events` may be given directly as a frame (event_id, event_at[, title]) instead of ids.
    """

    event_ids: tuple[str, ...] = ()
    events: pl.DataFrame | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    instruments: tuple[str, ...] | None = None
    timeframe: str = "auto"
    window: tuple[int, int] = (-12, 24)
    estimation: tuple[int, int] = (-288, -13)
    window_dates: tuple[date, date] | None = None
    estimation_dates: tuple[date, date] | None = None
    model: str = "constant"
    benchmark: str | None = None
    car_windows: tuple[tuple[int, int], ...] = ()
    placebo: int = 0
    seed: int = 0
    stale_bars: int | None = None
    min_estimation: int | None = None


@dataclass
class StudyResult:
    """The answer, as Polars frames with the stable columns listed in this module.

    ar: one row per (event, instrument, offset) of the event window.
    car: one row per (event, instrument, CAR sub-window), with pre-event volatility and z-score.
    summary: one row per offset: the cross-section (mean AR, CAAR) and every test statistic with
        its p-value (two-sided, normal or exact as the statistic defines).
    confounders: other events that fall inside each event's estimation or event window.
    placebo: per (event, instrument, CAR window) the empirical p-value from random non-event instants.
    placebo_draws: the placebo CARs themselves, one row per draw (PLACEBO_DRAW_COLUMNS).
    """

    spec: StudySpec
    timeframe: str
    ar: pl.DataFrame
    car: pl.DataFrame
    summary: pl.DataFrame
    confounders: pl.DataFrame
    placebo: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    # the individual placebo CARs behind `placebo` (empty when no placebo was asked for)
    placebo_draws: pl.DataFrame = field(default_factory=lambda: empty_frame(PLACEBO_DRAW_SCHEMA))

    def frame(self, level: str) -> pl.DataFrame:
        """The result frame for a CLI --level name (ar, car, summary, placebo, confounders)."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}")
        return getattr(self, level)
