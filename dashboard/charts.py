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
    fig.update_xaxes(type="date", rangeslider_visible=False, rangebreaks=session_breaks(t))
    fig.update_yaxes(range=[lo - 2 * pad, hi + 2 * pad])
    return _base_layout(fig, title, height)


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
        return _base_layout(fig, title, height)

    def x_of(minutes: Any) -> Any:
        m = np.asarray(minutes, dtype=np.float64)
        return m if t0_ms is None else t0_ms + m * 60_000

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
    lo = float(paths["ret_pct"].min())
    hi = float(paths["ret_pct"].max())
    pad = max((hi - lo) * 0.05, 0.02)
    lo, hi = lo - pad, hi + pad
    w_lo, w_hi = window_min or (float(paths["minutes"].min()), float(paths["minutes"].max()))
    fig.add_trace(
        go.Scatter(
            x=x_of([0, 0]),
            y=[lo, hi],
            mode="lines",
            line={"color": EVENT_LINE, "width": 2},
            name="event (t0)",
            hoverinfo="skip",
        )
    )
    if reports is not None and reports.height:
        shown = reports.filter((pl.col("hi") >= w_lo) & (pl.col("lo") <= w_hi))
        exact = shown.filter(pl.col("precise"))
        if exact.height:
            xs: list[Any] = []
            ys: list[Any] = []
            for m in exact["lo"].to_list():
                xs += [m, m, None]
                ys += [lo, hi, None]
            fig.add_trace(
                go.Scatter(
                    x=[None if v is None else x_of(v).item() for v in xs],
                    y=ys,
                    mode="lines",
                    line={"color": MUTED, "width": 1, "dash": "dash"},
                    name="reports",
                    hoverinfo="skip",
                    legendgroup="reports",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x_of(exact["lo"].to_numpy()),
                    y=[hi] * exact.height,
                    mode="markers",
                    marker={"symbol": "line-ns-open", "size": 14, "color": MUTED},
                    text=[_wrap(s) for s in exact["label"].to_list()],
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
                    text=_wrap(row["label"]),
                    hoveron="fills",
                    hoverinfo="text",
                )
            )
    if confounders is not None and confounders.height:
        for cat in sorted(set(confounders["category"].fill_null("uncategorised").to_list())):
            part = confounders.filter(pl.col("category").fill_null("uncategorised") == cat)
            colour = category_colour(cat)
            minutes = part["minutes_from_event"].to_list()
            xs, ys = [], []
            for m in minutes:
                xs += [x_of(m).item(), x_of(m).item(), None]
                ys += [lo, hi, None]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": colour, "width": 1.5, "dash": "dot"},
                    name=f"other events: {cat}",
                    hoverinfo="skip",
                    legendgroup=f"other-{cat}",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x_of(minutes),
                    y=[lo] * len(minutes),
                    mode="markers",
                    marker={"symbol": "triangle-up", "size": 10, "color": colour},
                    text=[_wrap(t) for t in part["title"].to_list()],
                    hovertemplate="%{text}<extra>other event</extra>",
                    showlegend=False,
                    legendgroup=f"other-{cat}",
                )
            )
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
    fig.update_yaxes(title="% from P(t0)", range=[lo, hi])
    _base_layout(fig, title, height)
    fig.update_layout(hovermode="x unified")
    return fig


def returns_grid(
    returns: pl.DataFrame, horizons: Sequence[str], *, height: int | None = None
) -> go.Figure:
    """Instrument × horizon grid: return in % with its mark, coloured by z (clipped at ±4).

    `returns` needs instrument_id, horizon, ret_pct, z, q_value, mark (one row per cell); any
    horizon label works, so a later 'at reopen' column slots in.
    """
    fig = go.Figure()
    if returns.height == 0:
        return _base_layout(fig, None, 200)
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
        go.Heatmap(
            z=z,
            x=cols,
            y=insts,
            text=text,
            customdata=hover,
            texttemplate="%{text}",
            colorscale=[[0, DOWN], [0.5, THEMES["light"]["mid"]], [1, UP]],
            meta="diverging",
            zmin=-4,
            zmax=4,
            xgap=2,
            ygap=2,
            colorbar={"title": "z", "thickness": 10},
            hovertemplate="%{y} %{x}: %{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    out = _base_layout(fig, None, height or max(160, 34 * len(insts) + 70))
    out.update_layout(margin={"l": 70, "r": 20, "t": 40, "b": 10})
    return out


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


# ---------------------------------------------------------------------------- studies


def caar_figure(
    band: pl.DataFrame, *, unit: str = "bars", band_name: str = "95 % band", height: int = 380
) -> go.Figure:
    """The CAAR curve with its 95 % band (in percent), event at offset 0.

    `band` has offset, caar, lo, hi (pipelines.analytics.verdict.caar_band); offsets without a
    band (one pair) draw the curve only."""
    fig = go.Figure()
    if band.height == 0:
        return _base_layout(fig, None, height)
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


def car_heatmap(
    car: pl.DataFrame, *, labels: dict[str, str] | None = None, height: int | None = None
) -> go.Figure:
    """CAR (%) by event × instrument; each cell's mark comes from its `mark` column (BH q).

    `car` needs event_id, instrument_id, car and optionally mark; `labels` maps event ids to the
    row labels a reader sees (time · title)."""
    fig = go.Figure()
    if car.height == 0:
        return _base_layout(fig, None, 300)
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
        go.Heatmap(
            z=z,
            x=insts,
            y=names,
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, DOWN], [0.5, THEMES["light"]["mid"]], [1, UP]],
            meta="diverging",
            zmin=-bound,
            zmax=bound,
            xgap=1,
            ygap=1,
            colorbar={"title": "CAR %"},
            hovertemplate="%{y} × %{x}: %{text} %<extra></extra>",
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
            colorscale=[[0, DOWN], [0.5, THEMES["light"]["mid"]], [1, PALETTE[0]]],
            meta="diverging",
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
