"""Pure functions: frames in, Plotly figures (or HTML) out. No Streamlit, no database.

Times go to Plotly as epoch milliseconds on a date axis (numbers ship as compact typed arrays;
strings would not). Colours are chosen to read on both the light and the dark theme; the
Streamlit theme supplies backgrounds and fonts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

UP = "#16a34a"
DOWN = "#dc2626"
MUTED = "#8b8f98"
EVENT_LINE = "#c026d3"  # fuchsia: distinct from the series palette, readable light or dark
# Readable on white and on near-black backgrounds.
PALETTE = (
    "#3b82f6",
    "#f97316",
    "#10b981",
    "#ef4444",
    "#a855f7",
    "#eab308",
    "#06b6d4",
    "#ec4899",
    "#84cc16",
    "#94a3b8",
)
MAX_EVENT_MARKERS = 1_000


# ---------------------------------------------------------------------------- the ticker strip


def format_price(price: float | None) -> str:
    """A strip price: `$73,275.00`, `$64.44`, `$0.3425`, `$0.0145`; tiny prices keep 4 significant digits."""
    if price is None or not math.isfinite(price):
        return "—"
    if abs(price) >= 1:
        return f"${price:,.2f}"
    if abs(price) >= 0.001:
        return f"${price:.4f}"
    if price == 0:
        return "$0.00"
    digits = 3 - int(math.floor(math.log10(abs(price))))
    return f"${price:.{digits}f}"


def format_change(change_pct: float | None) -> str:
    """A strip change: `▲ 4.64%` or `▼ 0.17%` (a tiny negative change shows `▼ 0.00%`)."""
    if change_pct is None or not math.isfinite(change_pct):
        return ""
    arrow = "▼" if change_pct < 0 else "▲"
    return f"{arrow} {abs(change_pct):.2f}%"


def strip_items(frame: pl.DataFrame) -> list[dict[str, str]]:
    """One dict per strip entry: symbol, price, change text and state (up/down/flat/unavailable)."""
    items = []
    for row in frame.iter_rows(named=True):
        price = row.get("price")
        change = row.get("change_pct")
        available = row.get("available") is not False and price is not None
        if not available:
            state = "unavailable"
        elif change is None:
            state = "flat"
        else:
            state = "down" if change < 0 else "up"
        items.append(
            {
                "symbol": row["instrument_id"],
                "price": format_price(price) if available else "n/a",
                "change": format_change(change) if available else "",
                "state": state,
                "title": (row.get("unavailable_reason") or "no price stored")
                if not available
                else (row.get("display_name") or row["instrument_id"]),
            }
        )
    return items


def strip_text(frame: pl.DataFrame) -> str:
    """The strip as plain text: `BTC $73,275.00 ▼ 0.17%  ETH …` (unavailable entries say n/a)."""
    parts = []
    for item in strip_items(frame):
        text = f"{item['symbol']} {item['price']}"
        if item["change"]:
            text += f" {item['change']}"
        parts.append(text)
    return "  ".join(parts)


def strip_html(frame: pl.DataFrame, as_of: datetime | None) -> str:
    """The strip as HTML like seed 001: green ▲ / red ▼, unavailable symbols greyed, `Prices as of`."""
    colours = {"up": UP, "down": DOWN, "flat": "inherit", "unavailable": MUTED}
    cells = []
    for item in strip_items(frame):
        colour = colours[item["state"]]
        greyed = "opacity:0.55;" if item["state"] == "unavailable" else ""
        cells.append(
            f'<span class="tw-strip-item tw-{item["state"]}" title="{html.escape(item["title"])}" '
            f'style="white-space:nowrap;margin-right:1.1em;{greyed}">'
            f"<b>{html.escape(item['symbol'])}</b> "
            f'<span style="color:{colour if item["state"] == "unavailable" else "inherit"}">'
            f"{html.escape(item['price'])}</span> "
            f'<span style="color:{colour}">{html.escape(item["change"])}</span></span>'
        )
    as_of = as_of.astimezone(UTC) if as_of is not None else None
    stamp = (
        f"Prices as of {as_of.strftime('%H:%M')} UTC · {as_of:%Y-%m-%d}"
        if as_of is not None
        else "No prices stored yet"
    )
    return (
        '<div class="tw-strip" style="font-family:ui-monospace,SFMono-Regular,Menlo,monospace;'
        "font-size:0.92rem;line-height:1.9;overflow-x:auto;padding:0.4rem 0;"
        'border-top:1px solid rgba(128,128,128,0.35);border-bottom:1px solid rgba(128,128,128,0.35)">'
        + "".join(cells)
        + f'</div><div class="tw-strip-asof" style="font-size:0.8rem;opacity:0.75">{stamp}</div>'
    )


# ---------------------------------------------------------------------------- shared helpers


def _base_layout(fig: go.Figure, title: str | None = None, height: int = 420) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 50, "r": 20, "t": 50 if title else 20, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.15},
        hovermode="closest",
    )
    fig.update_xaxes(gridcolor="rgba(128,128,128,0.2)")
    fig.update_yaxes(gridcolor="rgba(128,128,128,0.2)")
    return fig


def category_colour(category: str | None, categories: Sequence[str]) -> str:
    """A stable colour per event category."""
    cats = sorted({c or "uncategorised" for c in categories})
    name = category or "uncategorised"
    return PALETTE[cats.index(name) % len(PALETTE)] if name in cats else MUTED


def _wrap(text: str, width: int = 60) -> str:
    words, lines, line = (text or "").split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(html.escape(x) for x in lines)


def add_event_markers(
    fig: go.Figure,
    events: pl.DataFrame,
    y_range: tuple[float, float],
    *,
    max_markers: int = MAX_EVENT_MARKERS,
    row: int | None = None,
    col: int | None = None,
) -> int:
    """Vertical lines (one trace per category) plus hoverable markers carrying the headline.

    `events` needs t_ms, title, category, event_id. Returns how many events were drawn.
    """
    if events.height == 0:
        return 0
    ev = events.sort("t_ms").tail(max_markers)
    lo, hi = y_range
    categories = ev["category"].fill_null("uncategorised").to_list()
    for cat in sorted(set(categories)):
        part = ev.filter(pl.col("category").fill_null("uncategorised") == cat)
        t = part["t_ms"].to_numpy().astype(np.float64)
        colour = category_colour(cat, categories)
        xs = np.column_stack([t, t, np.full(len(t), np.nan)]).ravel()
        ys = np.tile([lo, hi, np.nan], len(t))
        kwargs = {"row": row, "col": col} if row is not None else {}
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": 1, "dash": "dot"},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=f"ev-{cat}",
            ),
            **kwargs,
        )
        fig.add_trace(
            go.Scatter(
                x=t,
                y=np.full(len(t), hi),
                mode="markers",
                marker={"symbol": "triangle-down", "size": 11, "color": colour},
                name=f"events: {cat}",
                legendgroup=f"ev-{cat}",
                customdata=np.array(part["event_id"].to_list(), dtype=object),
                text=[_wrap(x) for x in part["title"].to_list()],
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br><b>%{text}</b><extra>"
                + html.escape(cat)
                + "</extra>",
            ),
            **kwargs,
        )
    return ev.height


# ---------------------------------------------------------------------------- price charts


def price_figure(
    prices: pl.DataFrame,
    *,
    kind: str = "candles",
    events: pl.DataFrame | None = None,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Candles (t_ms, open, high, low, close) or a line (t_ms, close), with event markers."""
    fig = go.Figure()
    if prices.height == 0:
        return _base_layout(fig, title, height)
    t = prices["t_ms"].to_numpy().astype(np.float64)
    if kind == "candles" and "open" in prices.columns:
        fig.add_trace(
            go.Candlestick(
                x=t,
                open=prices["open"].to_numpy(),
                high=prices["high"].to_numpy(),
                low=prices["low"].to_numpy(),
                close=prices["close"].to_numpy(),
                increasing={"line": {"color": UP}, "fillcolor": UP},
                decreasing={"line": {"color": DOWN}, "fillcolor": DOWN},
                name="price",
                showlegend=False,
            )
        )
        lo, hi = float(prices["low"].min()), float(prices["high"].max())
    else:
        fig.add_trace(
            go.Scatter(
                x=t,
                y=prices["close"].to_numpy(),
                mode="lines",
                line={"color": PALETTE[0], "width": 1.5},
                name="close",
                showlegend=False,
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{y:,.4g}<extra></extra>",
            )
        )
        lo, hi = float(prices["close"].min()), float(prices["close"].max())
    pad = (hi - lo) * 0.04 or abs(hi) * 0.01 or 1.0
    if events is not None and events.height:
        add_event_markers(fig, events, (lo - pad, hi + pad))
    fig.update_xaxes(type="date", rangeslider_visible=False)
    fig.update_yaxes(range=[lo - 2 * pad, hi + 2 * pad])
    return _base_layout(fig, title, height)


def event_paths_figure(
    paths: pl.DataFrame,
    reports: pl.DataFrame | None = None,
    *,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Price paths in event time (minutes → %), 0 % at the event; a dashed line per outlet's report."""
    fig = go.Figure()
    if paths.height == 0:
        return _base_layout(fig, title, height)
    for n, inst in enumerate(paths["instrument_id"].unique(maintain_order=True).to_list()):
        part = paths.filter(pl.col("instrument_id") == inst)
        fig.add_trace(
            go.Scatter(
                x=part["minutes"].to_numpy(),
                y=part["ret_pct"].to_numpy(),
                mode="lines",
                name=inst,
                line={"color": PALETTE[n % len(PALETTE)], "width": 1.6},
                hovertemplate=f"{html.escape(inst)} %{{x:.0f}} min: %{{y:+.3f}} %<extra></extra>",
            )
        )
    lo = float(paths["ret_pct"].min())
    hi = float(paths["ret_pct"].max())
    pad = max((hi - lo) * 0.05, 0.02)
    lo, hi = lo - pad, hi + pad
    fig.add_trace(
        go.Scatter(
            x=[0, 0],
            y=[lo, hi],
            mode="lines",
            line={"color": EVENT_LINE, "width": 2},
            name="event (t0)",
            hoverinfo="skip",
        )
    )
    if reports is not None and reports.height:
        xs, ys, texts = [], [], []
        for row in reports.iter_rows(named=True):
            if row.get("minutes") is None:
                continue
            xs += [row["minutes"], row["minutes"], None]
            ys += [lo, hi, None]
            texts.append((row["minutes"], f"{row.get('outlet') or '?'}: {row.get('title') or ''}"))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": MUTED, "width": 1, "dash": "dash"},
                name="reports",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[m for m, _ in texts],
                y=[hi] * len(texts),
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 14, "color": MUTED},
                text=[_wrap(s) for _, s in texts],
                hovertemplate="%{x:.0f} min<br>%{text}<extra>report</extra>",
                showlegend=False,
            )
        )
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    fig.update_xaxes(title="minutes from the event")
    fig.update_yaxes(title="% from P(t0)", range=[lo, hi])
    return _base_layout(fig, title, height)


def sparkline_grid(closes: pl.DataFrame, order: Sequence[str], *, columns: int = 5) -> go.Figure:
    """A grid of small line charts (one per instrument) coloured by the direction over the span."""
    ids = [i for i in order if i in set(closes["instrument_id"].to_list())] if closes.height else []
    if not ids:
        return _base_layout(go.Figure(), None, 200)
    rows = math.ceil(len(ids) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=ids,
        vertical_spacing=0.5 / rows,
        horizontal_spacing=0.04,
    )
    for n, inst in enumerate(ids):
        part = closes.filter(pl.col("instrument_id") == inst).drop_nulls("close")
        if part.height == 0:
            continue
        first, last = part["close"][0], part["close"][-1]
        change = 100 * (last / first - 1) if first else 0.0
        fig.add_trace(
            go.Scatter(
                x=part["t_ms"].to_numpy().astype(np.float64),
                y=part["close"].to_numpy(),
                mode="lines",
                line={"color": DOWN if change < 0 else UP, "width": 1.3},
                hovertemplate=f"{html.escape(inst)} %{{x|%m-%d %H:%M}}: %{{y:,.4g}}<extra>{change:+.2f}% over span</extra>",
                showlegend=False,
            ),
            row=n // columns + 1,
            col=n % columns + 1,
        )
    fig.update_xaxes(type="date", showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False)
    fig.update_annotations(font_size=11)
    return _base_layout(fig, None, 90 * rows + 60).update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10}
    )


# ---------------------------------------------------------------------------- studies


def caar_band(ar: pl.DataFrame) -> pl.DataFrame:
    """Per offset: CAAR (mean CAR over events × instruments) with a 95 % band from their spread."""
    if ar.height == 0:
        return pl.DataFrame(
            schema={
                "offset": pl.Int64,
                "caar": pl.Float64,
                "lo": pl.Float64,
                "hi": pl.Float64,
                "n": pl.UInt32,
            }
        )
    return (
        ar.drop_nulls("car")
        .group_by("offset")
        .agg(
            pl.col("car").mean().alias("caar"),
            pl.col("car").std().alias("sd"),
            pl.len().alias("n"),
        )
        .with_columns(
            (1.96 * pl.col("sd").fill_null(0) / pl.col("n").cast(pl.Float64).sqrt()).alias("half")
        )
        .with_columns(
            (pl.col("caar") - pl.col("half")).alias("lo"),
            (pl.col("caar") + pl.col("half")).alias("hi"),
        )
        .select("offset", "caar", "lo", "hi", "n")
        .sort("offset")
    )


def caar_figure(band: pl.DataFrame, *, unit: str = "bars", height: int = 380) -> go.Figure:
    """The CAAR curve with its 95 % band (in percent), event at offset 0."""
    fig = go.Figure()
    if band.height == 0:
        return _base_layout(fig, None, height)
    x = band["offset"].to_numpy()
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([x, x[::-1]]),
            y=100 * np.concatenate([band["hi"].to_numpy(), band["lo"].to_numpy()[::-1]]),
            fill="toself",
            fillcolor="rgba(59,130,246,0.18)",
            line={"width": 0},
            name="95 % band",
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
    return _base_layout(fig, None, height)


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
    return _base_layout(fig, None, height)


def stars(p: float | None) -> str:
    """Significance stars for a p-value."""
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def car_heatmap(car: pl.DataFrame, *, height: int | None = None) -> go.Figure:
    """CAR (%) by event × instrument, with significance stars from each CAR's z-score."""
    fig = go.Figure()
    if car.height == 0:
        return _base_layout(fig, None, 300)
    frame = car.with_columns(
        pl.col("z")
        .map_elements(
            lambda z: (
                stars(math.erfc(abs(z) / math.sqrt(2)))
                if z is not None and math.isfinite(z)
                else ""
            ),
            return_dtype=pl.Utf8,
        )
        .alias("stars")
    )
    events = frame["event_id"].unique(maintain_order=True).to_list()[:60]
    insts = frame["instrument_id"].unique(maintain_order=True).to_list()[:30]
    z = np.full((len(events), len(insts)), np.nan)
    text = [["" for _ in insts] for _ in events]
    ei = {e: n for n, e in enumerate(events)}
    ii = {i: n for n, i in enumerate(insts)}
    for row in frame.iter_rows(named=True):
        if row["event_id"] in ei and row["instrument_id"] in ii and row["car"] is not None:
            r, c = ei[row["event_id"]], ii[row["instrument_id"]]
            z[r, c] = 100 * row["car"]
            text[r][c] = f"{100 * row['car']:+.2f}{row['stars']}"
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=insts,
            y=[str(e) for e in events],
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, DOWN], [0.5, "rgba(128,128,128,0.15)"], [1, UP]],
            zmin=-bound,
            zmax=bound,
            colorbar={"title": "CAR %"},
            hovertemplate="%{y} × %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    return _base_layout(fig, None, height or max(300, 28 * len(events) + 120))


# ---------------------------------------------------------------------------- correlations


def correlation_heatmap(matrix: pl.DataFrame, *, height: int | None = None) -> go.Figure:
    """A correlation matrix (instrument_id + one column per instrument) as an annotated heatmap."""
    fig = go.Figure()
    if matrix.height == 0:
        return _base_layout(fig, None, 300)
    names = matrix["instrument_id"].to_list()
    z = matrix.select(names).to_numpy().astype(float)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale=[[0, DOWN], [0.5, "rgba(128,128,128,0.12)"], [1, PALETTE[0]]],
            text=[[f"{v:.2f}" if math.isfinite(v) else "" for v in row] for row in z],
            texttemplate="%{text}",
            hovertemplate="%{y} × %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _base_layout(fig, None, height or max(320, 34 * len(names) + 120))


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
        return _base_layout(fig, title, height)
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
    return _base_layout(fig, title, height)


def trace_sizes(fig: go.Figure) -> list[int]:
    """Number of points in each trace (for the ≤ 5,000 points per trace budget)."""
    sizes = []
    for trace in fig.data:
        x = getattr(trace, "x", None)
        if x is None:
            z = getattr(trace, "z", None)
            sizes.append(int(np.size(z)) if z is not None else 0)
        else:
            sizes.append(len(x))
    return sizes
