"""Event-page figures: the price paths around an event with its reports and the other events
in the window, and the instrument × horizon returns grid. Pure: frames in, figures out."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from dashboard.charts import (
    EVENT_LINE,
    MUTED,
    PALETTE,
    base_layout,
    category_colour,
    diverging_heatmap,
    session_breaks,
    wrap_text,
)

PRECISE = ("second", "minute")
# How wide an imprecise report time is: a day-precision time covers its UTC day; a time of
# unknown zone could be any offset from UTC−12 to UTC+14.
UNKNOWN_ZONE_MS = (-14 * 3_600_000, 12 * 3_600_000)


def report_spans(reports: pl.DataFrame, t0_ms: int) -> pl.DataFrame:
    """Each report as a span in minutes from t0: lo = hi for a time to the minute, the whole UTC
    day for a day-precision time, ±the world's zones for an unknown zone; untimed ones dropped."""
    schema = {"lo": pl.Float64, "hi": pl.Float64, "precise": pl.Boolean, "label": pl.Utf8}
    if reports.height == 0 or "t_ms" not in reports.columns:
        return pl.DataFrame(schema=schema)
    day_ms = 86_400_000
    prec = pl.col("published_precision").fill_null("unknown")
    t = pl.col("t_ms").cast(pl.Float64)
    lo = (
        pl.when(prec.is_in(PRECISE))
        .then(t)
        .when(prec == "day")
        .then((t / day_ms).floor() * day_ms)
        .when(prec == "unknown-zone")
        .then(t + UNKNOWN_ZONE_MS[0])
    )
    hi = (
        pl.when(prec.is_in(PRECISE))
        .then(t)
        .when(prec == "day")
        .then((t / day_ms).floor() * day_ms + day_ms)
        .when(prec == "unknown-zone")
        .then(t + UNKNOWN_ZONE_MS[1])
    )
    day = pl.col("published_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d")
    when_text = (
        pl.when(prec.is_in(PRECISE))
        .then(pl.col("published_at").dt.convert_time_zone("UTC").dt.strftime("%H:%M UTC"))
        .when(prec == "day")
        .then(pl.lit("some time on ") + day)
        .otherwise(pl.lit("around ") + day + pl.lit(" (time zone unknown)"))
    )
    return (
        reports.filter(pl.col("t_ms").is_not_null())
        .with_columns(
            ((lo - t0_ms) / 60_000).alias("lo"),
            ((hi - t0_ms) / 60_000).alias("hi"),
            prec.is_in(PRECISE).alias("precise"),
            (
                pl.col("outlet").fill_null("?")
                + pl.lit(", ")
                + when_text
                + pl.lit(": ")
                + pl.col("title").fill_null("")
            ).alias("label"),
        )
        .drop_nulls("lo")
        .select(list(schema))
    )


def event_paths_figure(
    paths: pl.DataFrame,
    reports: pl.DataFrame | None = None,
    confounders: pl.DataFrame | None = None,
    *,
    t0_ms: int | None = None,
    window_min: tuple[float, float] | None = None,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Price paths around an event (% from P(t0)), with every report and every other event drawn.

    x is minutes from the event, or clock time (UTC) when `t0_ms` is given. `reports` come from
    report_spans (lo/hi/precise/label): a time to the minute is a dashed line, an imprecise one
    a shaded band. `confounders` (minutes_from_event, title, category) are dotted lines in their
    category colour. One hover lists every series at the hovered time.
    """
    fig = go.Figure()
    if paths.height == 0:
        return base_layout(fig, title, height)

    def x_of(minutes: Any) -> Any:
        m = np.asarray(minutes, dtype=np.float64)
        return m if t0_ms is None else t0_ms + m * 60_000

    _add_paths(fig, paths, x_of)
    lo = float(paths["ret_pct"].min())
    hi = float(paths["ret_pct"].max())
    pad = max((hi - lo) * 0.05, 0.02)
    y_range = (lo - pad, hi + pad)
    window = window_min or (float(paths["minutes"].min()), float(paths["minutes"].max()))
    fig.add_trace(
        go.Scatter(
            x=x_of([0, 0]),
            y=list(y_range),
            mode="lines",
            line={"color": EVENT_LINE, "width": 2},
            name="event (t0)",
            hoverinfo="skip",
        )
    )
    if reports is not None and reports.height:
        _add_reports(fig, reports, x_of, y_range, window)
    if confounders is not None and confounders.height:
        _add_confounders(fig, confounders, x_of, y_range)
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    if t0_ms is None:
        fig.update_xaxes(title="minutes from the event", hoverformat="+.0f")
    else:
        # closed sessions shared by every series are cut out, as on the price charts
        fig.update_xaxes(
            title="time (UTC)",
            type="date",
            hoverformat="%Y-%m-%d %H:%M UTC",
            rangebreaks=session_breaks(x_of(paths["minutes"].unique().sort().to_numpy())),
        )
    fig.update_yaxes(title="% from P(t0)", range=list(y_range))
    base_layout(fig, title, height)
    fig.update_layout(hovermode="x unified")
    return fig


def _add_paths(fig: go.Figure, paths: pl.DataFrame, x_of: Callable[[Any], Any]) -> None:
    """One line per instrument, in palette order, its % from P(t0) in the unified hover."""
    for n, inst in enumerate(paths["instrument_id"].unique(maintain_order=True).to_list()):
        part = paths.filter(pl.col("instrument_id") == inst)
        fig.add_trace(
            go.Scatter(
                x=x_of(part["minutes"].to_numpy()),
                y=part["ret_pct"].to_numpy(),
                mode="lines",
                name=inst,
                line={"color": PALETTE[n % len(PALETTE)], "width": 1.6},
                hovertemplate=f"{html.escape(inst)} %{{y:+.3f}} %<extra></extra>",
            )
        )


def _vertical_lines(
    xs: Sequence[float], y_range: tuple[float, float], line: dict, name: str, group: str
) -> go.Scatter:
    """One trace drawing a vertical line at each x across y_range (segments split by None),
    no hover of its own."""
    lo, hi = y_range
    x_out: list[Any] = []
    y_out: list[Any] = []
    for x in xs:
        x_out += [x, x, None]
        y_out += [lo, hi, None]
    return go.Scatter(
        x=x_out, y=y_out, mode="lines", line=line, name=name, hoverinfo="skip", legendgroup=group
    )


def _add_reports(
    fig: go.Figure,
    reports: pl.DataFrame,
    x_of: Callable[[Any], Any],
    y_range: tuple[float, float],
    window: tuple[float, float],
) -> None:
    """Reports inside the window: a dashed line with a hover mark per timed report, a shaded
    band per report known only to the day or without a time zone."""
    lo, hi = y_range
    w_lo, w_hi = window
    shown = reports.filter((pl.col("hi") >= w_lo) & (pl.col("lo") <= w_hi))
    exact = shown.filter(pl.col("precise"))
    if exact.height:
        xs = [x_of(m).item() for m in exact["lo"].to_list()]
        dashed = {"color": MUTED, "width": 1, "dash": "dash"}
        fig.add_trace(_vertical_lines(xs, y_range, dashed, "reports", "reports"))
        fig.add_trace(
            go.Scatter(
                x=x_of(exact["lo"].to_numpy()),
                y=[hi] * exact.height,
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 14, "color": MUTED},
                text=[wrap_text(s) for s in exact["label"].to_list()],
                hovertemplate="%{text}<extra>report</extra>",
                showlegend=False,
                legendgroup="reports",
            )
        )
    for n, row in enumerate(shown.filter(~pl.col("precise")).iter_rows(named=True)):
        a, b = max(row["lo"], w_lo), min(row["hi"], w_hi)
        fig.add_trace(
            go.Scatter(
                x=x_of([a, b, b, a, a]),
                y=[lo, lo, hi, hi, lo],
                fill="toself",
                mode="lines",
                line={"width": 0},
                fillcolor="rgba(139,143,152,0.13)",
                name="imprecise report times",
                showlegend=n == 0,
                legendgroup="imprecise",
                text=wrap_text(row["label"]),
                hoveron="fills",
                hoverinfo="text",
            )
        )


def _add_confounders(
    fig: go.Figure,
    confounders: pl.DataFrame,
    x_of: Callable[[Any], Any],
    y_range: tuple[float, float],
) -> None:
    """Other events in the window: dotted lines in their category colour, a hover mark below."""
    for cat in sorted(set(confounders["category"].fill_null("uncategorised").to_list())):
        part = confounders.filter(pl.col("category").fill_null("uncategorised") == cat)
        colour = category_colour(cat)
        minutes = part["minutes_from_event"].to_list()
        xs = [x_of(m).item() for m in minutes]
        dotted = {"color": colour, "width": 1.5, "dash": "dot"}
        fig.add_trace(_vertical_lines(xs, y_range, dotted, f"other events: {cat}", f"other-{cat}"))
        fig.add_trace(
            go.Scatter(
                x=x_of(minutes),
                y=[y_range[0]] * len(minutes),
                mode="markers",
                marker={"symbol": "triangle-up", "size": 10, "color": colour},
                text=[wrap_text(t) for t in part["title"].to_list()],
                hovertemplate="%{text}<extra>other event</extra>",
                showlegend=False,
                legendgroup=f"other-{cat}",
            )
        )


def returns_grid(
    returns: pl.DataFrame, horizons: Sequence[str], *, height: int | None = None
) -> go.Figure:
    """Instrument × horizon grid: return in % with its mark, coloured by z (clipped at ±4).

    `returns` needs instrument_id, horizon, ret_pct, z, q_value, mark (one row per cell); any
    horizon label works, so a later 'at reopen' column slots in.
    """
    fig = go.Figure()
    if returns.height == 0:
        return base_layout(fig, None, 200)
    insts = returns["instrument_id"].unique(maintain_order=True).to_list()
    cols = [h for h in horizons if h in set(returns["horizon"].to_list())]
    cols += [h for h in returns["horizon"].unique(maintain_order=True).to_list() if h not in cols]
    z = np.full((len(insts), len(cols)), np.nan)
    text = [["—" for _ in cols] for _ in insts]
    hover = [["no fresh price" for _ in cols] for _ in insts]
    ii = {x: n for n, x in enumerate(insts)}
    hi_ = {x: n for n, x in enumerate(cols)}
    for row in returns.iter_rows(named=True):
        r, c = ii[row["instrument_id"]], hi_[row["horizon"]]
        ret = row.get("ret_pct")
        if ret is None or not math.isfinite(ret):
            continue
        zz = row.get("z")
        z[r, c] = max(-4.0, min(4.0, zz)) if zz is not None and math.isfinite(zz) else 0.0
        pct_text = f"{ret:+.2f} %".replace("-", "−")
        text[r][c] = pct_text + (row.get("mark") or "")
        q = row.get("q_value")
        hover[r][c] = (
            f"{pct_text}; z {zz:+.2f}".replace("-", "−") if zz is not None else pct_text
        ) + (f"; q {q:.3f}" if q is not None and math.isfinite(q) else "")
    fig.add_trace(
        diverging_heatmap(
            z,
            cols,
            insts,
            text,
            bound=4,
            customdata=hover,
            xgap=2,
            ygap=2,
            colorbar={"title": "z", "thickness": 10},
            hovertemplate="%{y} %{x}: %{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    out = base_layout(fig, None, height or max(160, 34 * len(insts) + 70))
    out.update_layout(margin={"l": 70, "r": 20, "t": 40, "b": 10})
    return out
