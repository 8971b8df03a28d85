"""Statistics figures: the Study page's CAAR band, placebo histogram and CAR heatmap, and the
Correlations page's matrix and rolling correlation. Pure: frames in, figures out."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboard.charts import (
    EVENT_LINE,
    MUTED,
    PALETTE,
    add_event_markers,
    base_layout,
    diverging_heatmap,
)

# ---------------------------------------------------------------------------- studies


def caar_figure(
    band: pl.DataFrame, *, unit: str = "bars", band_name: str = "95 % band", height: int = 380
) -> go.Figure:
    """The CAAR curve with its 95 % band (in percent), event at offset 0.

    `band` has offset, caar, lo, hi (pipelines.analytics.verdict.caar_band); offsets without a
    band (one pair) draw the curve only."""
    fig = go.Figure()
    if band.height == 0:
        return base_layout(fig, None, height)
    x = band["offset"].to_numpy()
    banded = band.drop_nulls(["lo", "hi"])
    if banded.height:
        bx = banded["offset"].to_numpy()
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([bx, bx[::-1]]),
                y=100 * np.concatenate([banded["hi"].to_numpy(), banded["lo"].to_numpy()[::-1]]),
                fill="toself",
                fillcolor="rgba(59,130,246,0.18)",
                line={"width": 0},
                name=band_name,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=100 * band["caar"].to_numpy(),
            mode="lines+markers",
            line={"color": PALETTE[0], "width": 2},
            marker={"size": 4},
            name="CAAR",
            hovertemplate="offset %{x}: %{y:+.3f} %<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"color": EVENT_LINE, "width": 2})
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    fig.update_xaxes(title=f"offset ({unit})")
    fig.update_yaxes(title="CAAR (%)")
    return base_layout(fig, None, height)


def placebo_histogram(draws: Sequence[float], observed: float, *, height: int = 320) -> go.Figure:
    """A histogram of placebo CARs with the observed CAR marked."""
    fig = go.Figure(
        go.Histogram(
            x=100 * np.asarray(draws, dtype=float),
            nbinsx=40,
            marker_color=PALETTE[0],
            name="placebo CARs",
        )
    )
    fig.add_vline(
        x=100 * observed, line={"color": EVENT_LINE, "width": 3}, annotation_text="observed"
    )
    fig.update_xaxes(title="CAR (%)")
    return base_layout(fig, None, height)


def car_heatmap(
    car: pl.DataFrame, *, labels: dict[str, str] | None = None, height: int | None = None
) -> go.Figure:
    """CAR (%) by event × instrument; each cell's mark comes from its `mark` column (BH q).

    `car` needs event_id, instrument_id, car and optionally mark; `labels` maps event ids to the
    row labels a reader sees (time · title)."""
    fig = go.Figure()
    if car.height == 0:
        return base_layout(fig, None, 300)
    labels = labels or {}
    events = car["event_id"].unique(maintain_order=True).to_list()[:60]
    insts = car["instrument_id"].unique(maintain_order=True).to_list()[:30]
    z = np.full((len(events), len(insts)), np.nan)
    text = [["" for _ in insts] for _ in events]
    ei = {e: n for n, e in enumerate(events)}
    ii = {i: n for n, i in enumerate(insts)}
    has_mark = "mark" in car.columns
    for row in car.iter_rows(named=True):
        value = row["car"]
        if (
            row["event_id"] in ei
            and row["instrument_id"] in ii
            and value is not None
            and math.isfinite(value)
        ):
            r, c = ei[row["event_id"]], ii[row["instrument_id"]]
            z[r, c] = 100 * value
            mark = (row.get("mark") or "") if has_mark else ""
            text[r][c] = f"{100 * value:+.2f}".replace("-", "−") + mark
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    names = [labels.get(e, str(e))[:48] for e in events]
    fig.add_trace(
        diverging_heatmap(
            z,
            insts,
            names,
            text,
            bound=bound,
            xgap=1,
            ygap=1,
            colorbar={"title": "CAR %"},
            hovertemplate="%{y} × %{x}: %{text} %<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    return base_layout(fig, None, height or max(300, 28 * len(events) + 120))


# ---------------------------------------------------------------------------- correlations


def correlation_heatmap(matrix: pl.DataFrame, *, height: int | None = None) -> go.Figure:
    """A correlation matrix (instrument_id + one column per instrument) as an annotated heatmap."""
    fig = go.Figure()
    if matrix.height == 0:
        return base_layout(fig, None, 300)
    names = matrix["instrument_id"].to_list()
    z = matrix.select(names).to_numpy().astype(float)
    fig.add_trace(
        diverging_heatmap(
            z,
            names,
            names,
            [[f"{v:.2f}" if math.isfinite(v) else "" for v in row] for row in z],
            bound=1,
            high=PALETTE[0],
            hovertemplate="%{y} × %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, None, height or max(320, 34 * len(names) + 120))


def rolling_corr_figure(
    frame: pl.DataFrame,
    events: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    height: int = 360,
) -> go.Figure:
    """Rolling correlation over time (t_ms, corr) with event markers."""
    fig = go.Figure()
    if frame.height == 0:
        return base_layout(fig, title, height)
    fig.add_trace(
        go.Scatter(
            x=frame["t_ms"].to_numpy().astype(np.float64),
            y=frame["corr"].to_numpy(),
            mode="lines",
            line={"color": PALETTE[4], "width": 1.5},
            name="rolling correlation",
            hovertemplate="%{x|%Y-%m-%d %H:%M} UTC: %{y:.3f}<extra></extra>",
        )
    )
    if events is not None and events.height:
        add_event_markers(fig, events, (-1.0, 1.0))
    fig.update_xaxes(type="date")
    fig.update_yaxes(range=[-1.1, 1.1], title="correlation")
    return base_layout(fig, title, height)
