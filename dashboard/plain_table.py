"""A few rows as a plain Markdown table: for a summary of two or three lines the data grid's
code (DataFrame + Arrow, 1.2 MB of JavaScript) is not worth loading on a page's first paint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from dashboard.text import md
from pipelines import display

# column -> (header, how a value reads); None values read "—"
Columns = dict[str, tuple[str, Callable[[Any], str]]]


def cells(frame: pl.DataFrame, columns: Columns) -> list[list[str]]:
    """The rows of `frame` as display strings, one per column of `columns`, in its order."""
    return [
        [
            display.MISSING if row[col] is None else show(row[col])
            for col, (_, show) in columns.items()
        ]
        for row in frame.iter_rows(named=True)
    ]


def markdown(frame: pl.DataFrame, columns: Columns) -> str:
    """The Markdown of the table (headers and cells escaped; numbers right-aligned)."""
    numeric = [frame.schema[col].is_numeric() for col in columns]
    head = "| " + " | ".join(md(header) for header, _ in columns.values()) + " |"
    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    body = ["| " + " | ".join(md(c) for c in row) + " |" for row in cells(frame, columns)]
    return "\n".join([head, rule, *body])


def show(frame: pl.DataFrame, columns: Columns, caption: str | None = None) -> None:
    """Draw the table (and an optional caption under it)."""
    st.markdown(markdown(frame, columns))
    if caption:
        st.caption(caption)
