"""Pure functions: frames in, Plotly figures (or HTML) out. No Streamlit, no database.

Times go to Plotly as epoch milliseconds on a date axis (numbers ship as compact typed arrays;
strings would not). Colours are chosen to read on both the light and the dark theme; the
Streamlit theme supplies backgrounds and fonts.
"""

from __future__ import annotations

import base64
import functools
import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

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
# Fixed colour per event category on every page (unknown categories take the palette by name).
CATEGORY_COLOURS = {
    "policy": "#3b82f6",
    "macro": "#f97316",
    "regulation": "#a855f7",
    "corporate": "#10b981",
    "geopolitics": "#ef4444",
    "crypto": "#eab308",
    "news": "#06b6d4",
    "other": "#ec4899",
    "trade": "#14b8a6",
    "energy": "#84cc16",
    "flows": "#d97706",
    "uncategorised": MUTED,
}
# Per theme: text, grid and the neutral middle of diverging heatmaps (opaque, so the cell text
# colour is chosen against what is really behind it).
THEMES = {
    "light": {
        "text": "#1f2937",
        "grid": "rgba(100,116,139,0.22)",
        "mid": "#f1f5f9",
        "hover": "#ffffff",
    },
    "dark": {
        "text": "#e5e7eb",
        "grid": "rgba(148,163,184,0.22)",
        "mid": "#1e293b",
        "hover": "#111827",
    },
}


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
        "font-size:0.92rem;line-height:1.9;overflow-x:auto;white-space:nowrap;padding:0.4rem 0;"
        'border-top:1px solid rgba(128,128,128,0.35);border-bottom:1px solid rgba(128,128,128,0.35)">'
        + "".join(cells)
        + f'</div><div class="tw-strip-asof" style="font-size:0.8rem;opacity:0.75">{stamp}</div>'
    )


# ---------------------------------------------------------------------------- shared helpers


def base_layout(fig: go.Figure, title: str | None = None, height: int = 420) -> go.Figure:
    """Our layout on a figure: title, height, margins, clear background, legend below."""
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


def category_colour(category: str | None, categories: Sequence[str] = ()) -> str:
    """The fixed colour of an event category, the same on every page whatever else is shown."""
    name = category or "uncategorised"
    if name in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[name]
    # a category not in the table: a colour from its name (stable across pages and runs)
    return PALETTE[sum(name.encode()) % len(PALETTE)]


def apply_theme(fig: go.Figure, theme: str = "light") -> go.Figure:
    """Colour a figure for the light or dark app theme: text, grid, hover and heatmap middles."""
    colours = THEMES.get(theme, THEMES["light"])
    # a small template of our own: assigning plotly's built-in ones costs ~50 ms per figure
    fig.update_layout(template=_template(theme))
    fig.update_xaxes(gridcolor=colours["grid"], zerolinecolor=colours["grid"])
    fig.update_yaxes(gridcolor=colours["grid"], zerolinecolor=colours["grid"])
    for trace in fig.data:
        if trace.type == "heatmap" and trace.meta == "diverging":
            lo, hi = trace.colorscale[0][1], trace.colorscale[-1][1]
            trace.colorscale = [[0, lo], [0.5, colours["mid"]], [1, hi]]
            trace.textfont.color = colours["text"]
    return fig


@functools.cache
def _template(theme: str) -> go.layout.Template:
    """The Plotly template of a theme: our text, grid and hover colours on a clear background."""
    colours = THEMES.get(theme, THEMES["light"])
    axis = {
        "gridcolor": colours["grid"],
        "zerolinecolor": colours["grid"],
        "linecolor": colours["grid"],
        "tickcolor": colours["grid"],
        "automargin": True,
    }
    return go.layout.Template(
        layout={
            "font": {"color": colours["text"]},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "colorway": list(PALETTE),
            "hoverlabel": {"bgcolor": colours["hover"], "font": {"color": colours["text"]}},
            "xaxis": axis,
            "yaxis": axis,
        }
    )


def diverging_heatmap(
    z: Any,
    x: Sequence[str],
    y: Sequence[str],
    text: Any,
    *,
    bound: float,
    high: str = UP,
    **extra: Any,
) -> go.Heatmap:
    """A heatmap coloured DOWN → neutral → `high` over ±bound with each cell's text printed;
    apply_theme later sets the neutral middle and the text colour of the viewer's theme."""
    return go.Heatmap(
        z=z,
        x=x,
        y=y,
        text=text,
        texttemplate="%{text}",
        colorscale=[[0, DOWN], [0.5, THEMES["light"]["mid"]], [1, high]],
        meta="diverging",
        zmin=-bound,
        zmax=bound,
        **extra,
    )


def session_breaks(
    t_ms: np.ndarray, *, min_gap_ms: int = 6 * 3_600_000, limit: int = 300
) -> list[dict]:
    """Plotly rangebreaks for closed sessions: every gap between points longer than `min_gap_ms`
    (and than 5 typical steps) is cut out of the time axis, so weekends draw no ramp."""
    t = np.sort(np.asarray(t_ms, dtype=np.float64))
    if len(t) < 3:
        return []
    steps = np.diff(t)
    typical = float(np.median(steps))
    gap = max(min_gap_ms, 5 * typical)
    starts = np.nonzero(steps > gap)[0]
    if len(starts) == 0 or len(starts) > limit:
        return []
    # keep one typical step visible on each side of the gap
    return [
        {"values": [float(t[i] + typical)], "dvalue": float(steps[i] - typical)} for i in starts
    ]


def wrap_text(text: str, width: int = 60) -> str:
    """Text escaped for a Plotly hover and wrapped at `width` characters with <br>."""
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
                text=[wrap_text(x) for x in part["title"].to_list()],
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
        return base_layout(fig, title, height)
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
    fig.update_xaxes(type="date", rangeslider_visible=False, rangebreaks=session_breaks(t))
    fig.update_yaxes(range=[lo - 2 * pad, hi + 2 * pad])
    return base_layout(fig, title, height)


SPARK_MIN_RANGE_PCT = 1.0  # a sparkline's y axis spans at least ±1 %: a stablecoin stays flat
SPARK_W, SPARK_H = 160, 44


def sparkline_series(closes: pl.DataFrame, order: Sequence[str]) -> list[dict[str, Any]]:
    """Per instrument (in `order`): its % change path over the span, the final change and the
    y range to draw it on (at least ±1 % around the middle, so tiny moves look tiny)."""
    out = []
    have = set(closes["instrument_id"].to_list()) if closes.height else set()
    for inst in order:
        if inst not in have:
            continue
        part = closes.filter(pl.col("instrument_id") == inst).drop_nulls("close").sort("t_ms")
        if part.height == 0 or not part["close"][0]:
            continue
        y = 100 * (part["close"].to_numpy() / part["close"][0] - 1)
        lo, hi = float(np.nanmin(y)), float(np.nanmax(y))
        mid = (lo + hi) / 2
        half = max((hi - lo) / 2 * 1.1, SPARK_MIN_RANGE_PCT)
        out.append(
            {
                "instrument_id": inst,
                "t_ms": part["t_ms"].to_numpy().astype(np.float64),
                "pct": y,
                "change": float(y[-1]),
                "range": (mid - half, mid + half),
            }
        )
    return out


def sparkline_html(closes: pl.DataFrame, order: Sequence[str], *, days: int = 7) -> str:
    """Small inline-SVG charts of each instrument's % change over the span, in a wrapping grid:
    green when up, red when down, titled `BTC ▲ 5.96%` (a hover gives the change in words).

    Plain SVG instead of a 20-subplot Plotly figure: built in milliseconds and drawn at once."""
    cells = []
    for item in sparkline_series(closes, order):
        t, y = item["t_ms"], item["pct"]
        lo, hi = item["range"]
        span_t = float(t[-1] - t[0]) or 1.0
        xs = (t - t[0]) / span_t * SPARK_W
        ys = SPARK_H - (y - lo) / (hi - lo) * SPARK_H
        points = " ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs, ys, strict=True))
        zero = SPARK_H - (0 - lo) / (hi - lo) * SPARK_H
        colour = DOWN if item["change"] < 0 else UP
        name = html.escape(item["instrument_id"])
        change = html.escape(format_change(item["change"]))
        svg = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SPARK_W} {SPARK_H}" '
            f'preserveAspectRatio="none">'
            f'<line x1="0" x2="{SPARK_W}" y1="{zero:.1f}" y2="{zero:.1f}" '
            f'stroke="{MUTED}" stroke-width="0.6" stroke-dasharray="2,2"/>'
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.3" points="{points}"/></svg>'
        )
        # an <img> of a data URI: the page's HTML sanitiser keeps it (inline <svg> is stripped)
        src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        cells.append(
            f'<div class="tw-spark" style="text-align:center">'
            f'<div style="font-size:0.78rem"><b>{name}</b> '
            f'<span style="color:{colour}">{change}</span></div>'
            f'<img src="{src}" width="100%" height="{SPARK_H}" style="display:block" '
            f'alt="{name} sparkline" title="{name}: {item["change"]:+.2f} % over {days} days"/>'
            "</div>"
        )
    return (
        '<div class="tw-sparklines" style="display:grid;'
        'grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:0.6rem 1rem">'
        + "".join(cells)
        + "</div>"
    )


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
