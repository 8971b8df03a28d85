"""How a result frame reads in a dashboard table: readable column names, % for percentages,
`2026-05-26 14:25 UTC` for instants, numbers to their magnitude, ids out of the first column.

Pure: a Polars frame in, the frame to show plus its Streamlit column config out (the value rules
themselves live in pipelines.display, shared with the CLI). Missing values read as "—" through
st.dataframe's placeholder (ui.table sets it), so the numbers stay numbers and sort as numbers.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import streamlit as st

from pipelines import display

TIME_FORMAT = "YYYY-MM-DD HH:mm [UTC]"
# Key columns a reader does not need first: moved to the end (kept for CSV and links).
ID_COLUMNS = ("event_id", "other_event_id", "article_id", "pair_id", "run_id")
P_COLUMNS_SUFFIX = ("_p", "p_value", "q_value")
STAT_SUFFIX = ("_stat",)


def _is_p(column: str) -> bool:
    return column.endswith(P_COLUMNS_SUFFIX) or column in {"p", "q"}


def _decimals_for(series: pl.Series, sig: int = 3) -> int:
    """Decimals that give the column's typical (median absolute) value `sig` significant digits."""
    values = series.drop_nulls()
    if values.dtype.is_float():
        values = values.filter(values.is_finite())
    if values.len() == 0:
        return 2
    typical = float(values.abs().median() or 0.0)
    if typical == 0:
        return 2
    return max(0, min(6, sig - 1 - int(math.floor(math.log10(typical)))))


def number_format(column: str, series: pl.Series) -> str:
    """A printf format for a numeric column by what it holds (%, p-value, statistic, count, level)."""
    if column in display.FRACTION_COLUMNS or column in display.PERCENT_COLUMNS:
        scale = 100 if column in display.FRACTION_COLUMNS else 1
        return f"%+.{min(4, max(2, _decimals_for(series * scale, 2)))}f %%"
    if _is_p(column):
        return "%.3f"
    if column.endswith(STAT_SUFFIX) or column in {"z", "t", "beta", "alpha"}:
        return "%.2f"
    if series.dtype.is_integer():
        return "localized"
    decimals = _decimals_for(series)
    return "localized" if decimals == 0 else f"%,.{decimals}f".replace(",", "")


def table_view(
    frame: pl.DataFrame, overrides: dict[str, Any] | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The frame as a person should read it, and the column config that labels and formats it.

    Fraction columns (ar, car, …) are scaled to percent; id columns move to the end; every
    column gets a readable label. `overrides` (column → config) win over the inferred ones.
    """
    overrides = overrides or {}
    scaled = [
        c for c in frame.columns if c in display.FRACTION_COLUMNS and frame[c].dtype.is_numeric()
    ]
    shown = frame.with_columns([(pl.col(c) * 100) for c in scaled]) if scaled else frame
    # NaN is missing too: it then shows as the placeholder dash, like null
    shown = shown.with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))
    order = [c for c in shown.columns if c not in ID_COLUMNS] + [
        c for c in shown.columns if c in ID_COLUMNS
    ]
    shown = shown.select(order)
    config: dict[str, Any] = {}
    for column in shown.columns:
        if column in overrides:
            config[column] = overrides[column]
            continue
        dtype = shown[column].dtype
        name = display.label(column)
        if isinstance(dtype, pl.Datetime):
            config[column] = st.column_config.DatetimeColumn(
                name, format=TIME_FORMAT, timezone="UTC"
            )
        elif dtype == pl.Date:
            config[column] = st.column_config.DateColumn(name, format="YYYY-MM-DD")
        elif dtype.is_numeric():
            fmt = number_format(column, frame[column])
            config[column] = st.column_config.NumberColumn(name, format=fmt)
        else:
            config[column] = st.column_config.Column(name)
    return shown, config
