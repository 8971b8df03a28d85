"""dashboard.charts: the strip's formatting (golden values from seed 001) and figure budgets."""

from __future__ import annotations

import base64
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import charts, event_charts, stat_charts

# Seed 001's strip, entry by entry: (symbol, price, 24 h change %, rendered text).
SEED_001 = [
    ("HYPE", 64.44, 4.64, "HYPE $64.44 ▲ 4.64%"),
    ("TRX", 0.3425, -2.16, "TRX $0.3425 ▼ 2.16%"),
    ("BTC", 73_275.00, -0.17, "BTC $73,275.00 ▼ 0.17%"),
    ("USDS", 0.9996, -0.001, "USDS $0.9996 ▼ 0.00%"),
    ("ETH", 2_007.61, 0.10, "ETH $2,007.61 ▲ 0.10%"),
    ("XLM", 0.2680, 33.37, "XLM $0.2680 ▲ 33.37%"),
    ("RAIN", 0.0145, 2.07, "RAIN $0.0145 ▲ 2.07%"),
    ("XAU", 4_593.00, 2.08, "XAU $4,593.00 ▲ 2.08%"),
    ("ZEC", 507.17, -5.14, "ZEC $507.17 ▼ 5.14%"),
]


@pytest.mark.parametrize(("symbol", "price", "change", "text"), SEED_001)
def test_strip_entry_matches_seed(symbol: str, price: float, change: float, text: str) -> None:
    """Each entry renders exactly as on the seed-001 strip."""
    frame = pl.DataFrame(
        {"instrument_id": [symbol], "price": [price], "change_pct": [change], "available": [True]}
    )
    assert charts.strip_text(frame) == text


def test_strip_html_colours_and_greys() -> None:
    """Up is green, down red, unavailable greyed with its reason; the as-of line is in UTC."""
    from datetime import UTC, datetime

    frame = pl.DataFrame(
        {
            "instrument_id": ["BTC", "HYPE", "RAIN"],
            "price": [73_275.0, 64.44, None],
            "change_pct": [-0.17, 4.64, None],
            "available": [True, True, False],
            "unavailable_reason": [None, None, "no venue lists RAIN"],
        }
    )
    html = charts.strip_html(frame, datetime(2026, 5, 27, 4, 57, tzinfo=UTC))
    assert f'<span style="color:{charts.DOWN}">▼ 0.17%</span>' in html
    assert f'<span style="color:{charts.UP}">▲ 4.64%</span>' in html
    assert 'class="tw-strip-item tw-unavailable" title="no venue lists RAIN"' in html
    assert "opacity:0.55" in html
    assert "Prices as of 04:57 UTC" in html


def test_tiny_prices_keep_four_significant_digits() -> None:
    """Sub-cent prices do not collapse to $0.0000."""
    assert charts.format_price(0.00001234) == "$0.00001234"
    assert charts.format_price(0.0009999) == "$0.0009999"
    assert charts.format_price(None) == "—"


@given(st.floats(min_value=1e-8, max_value=1e7, allow_nan=False))
def test_format_price_round_trips(price: float) -> None:
    """The shown price parses back to the true price within its last shown digit."""
    text = charts.format_price(price)
    assert text.startswith("$")
    shown = float(text[1:].replace(",", ""))
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert math.isclose(shown, price, abs_tol=0.5 * 10**-decimals + 1e-12)


@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False))
def test_format_change_arrow_follows_sign(change: float) -> None:
    """▼ for a fall, ▲ otherwise; the magnitude has two decimals."""
    text = charts.format_change(change)
    assert text[0] == ("▼" if change < 0 else "▲")
    assert float(text[2:-1]) == pytest.approx(abs(change), abs=0.005 + 1e-9)


def _prices(n: int) -> pl.DataFrame:
    t = np.arange(n, dtype=np.int64) * 60_000 + 1_780_000_000_000
    close = 100 + np.cumsum(np.sin(np.arange(n)))
    return pl.DataFrame(
        {"t_ms": t, "open": close, "high": close + 1, "low": close - 1, "close": close}
    )


def test_price_figure_with_markers() -> None:
    """Candles plus one line trace and one marker trace per event category; headlines on hover."""
    events = pl.DataFrame(
        {
            "t_ms": [1_780_000_600_000, 1_780_001_200_000, 1_780_001_800_000],
            "title": ["Fed holds", "China AI travel rules", "ETF outflows"],
            "category": ["macro", "policy", "macro"],
            "event_id": ["a", "b", "c"],
        }
    )
    fig = charts.price_figure(_prices(2_000), events=events)
    kinds = [t.type for t in fig.data]
    assert kinds == ["candlestick", "scatter", "scatter", "scatter", "scatter"]
    markers = [t for t in fig.data if t.type == "scatter" and t.mode == "markers"]
    assert sorted(t.name for t in markers) == ["events: macro", "events: policy"]
    macro = next(t for t in markers if t.name == "events: macro")
    assert list(macro.customdata) == ["a", "c"]
    assert "Fed holds" in macro.text[0]
    assert max(charts.trace_sizes(fig)) <= 5_000
    assert fig.layout.xaxis.type == "date"
    # times travel as numbers (epoch ms), not strings
    assert np.asarray(fig.data[0].x).dtype == np.float64


def test_event_paths_figure_marks_reports() -> None:
    """One line per instrument, the event line at 0, a dashed line per report."""
    paths = pl.DataFrame(
        {
            "instrument_id": ["BTC"] * 3 + ["ETH"] * 3,
            "minutes": [-1.0, 0.0, 1.0] * 2,
            "ret_pct": [0.1, 0.0, 2.0, -0.1, 0.0, 0.3],
        }
    )
    reports = pl.DataFrame(
        {
            "lo": [0.0, 40.0, -600.0],
            "hi": [0.0, 40.0, 800.0],
            "precise": [True, True, False],
            "label": ["The Decoder: x", "Bloomberg: y", "Reuters, some time on 2026-05-26: z"],
        }
    )
    confounders = pl.DataFrame(
        {"minutes_from_event": [0.5], "title": ["Fed"], "category": ["macro"]}
    )
    fig = event_charts.event_paths_figure(paths, reports, confounders, window_min=(-1.0, 1.0))
    names = [t.name for t in fig.data]
    assert names[:3] == ["BTC", "ETH", "event (t0)"]
    report_lines = next(t for t in fig.data if t.name == "reports")
    # the report at +40 min is outside the window (−1, +1): only the one at 0 is drawn
    assert [x for x in report_lines.x if x is not None] == [0.0, 0.0]
    band = next(t for t in fig.data if t.name == "imprecise report times")
    assert min(band.x) == -1.0 and max(band.x) == 1.0  # clipped to the window
    other = next(t for t in fig.data if t.name == "other events: macro")
    assert other.line.color == charts.category_colour("macro")
    assert fig.layout.hovermode == "x unified"
    # clock-time axis: the same paths on epoch-ms x values
    clock = event_charts.event_paths_figure(paths, t0_ms=1_000_000)
    assert list(clock.data[0].x) == [940_000.0, 1_000_000.0, 1_060_000.0]


def test_car_heatmap_marks_and_labels() -> None:
    """Each cell shows CAR % with its mark; a missing mark or CAR never prints 'None'."""
    car = pl.DataFrame(
        {
            "event_id": ["e1", "e1", "e1"],
            "instrument_id": ["BTC", "ETH", "XAU"],
            "car": [0.02, -0.001, None],
            "mark": ["***", None, None],
        }
    )
    fig = stat_charts.car_heatmap(car, labels={"e1": "2026-05-26 14:25 · China"})
    assert list(fig.data[0].text[0]) == ["+2.00***", "−0.10", ""]
    assert list(fig.data[0].y) == ["2026-05-26 14:25 · China"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_heatmap_text_and_middle_follow_the_theme(theme: str) -> None:
    """Cell text takes the theme's text colour and the neutral middle is opaque for that theme."""
    car = pl.DataFrame({"event_id": ["e1"], "instrument_id": ["BTC"], "car": [0.01]})
    fig = charts.apply_theme(stat_charts.car_heatmap(car), theme)
    assert fig.data[0].textfont.color == charts.THEMES[theme]["text"]
    assert fig.data[0].colorscale[1][1] == charts.THEMES[theme]["mid"]


def test_category_colours_do_not_depend_on_what_else_is_shown() -> None:
    assert charts.category_colour("macro", ["macro"]) == charts.category_colour(
        "macro", ["policy", "macro", "crypto"]
    )
    assert charts.category_colour(None) == charts.MUTED


def test_session_breaks_cut_weekend_gaps_only() -> None:
    """Hourly bars Fri → Mon with the weekend missing: one rangebreak as long as the gap."""
    hour = 3_600_000
    fri = list(range(0, 10 * hour, hour))
    mon = list(range(fri[-1] + 58 * hour, fri[-1] + 68 * hour, hour))
    breaks = charts.session_breaks(np.array(fri + mon))
    assert breaks == [{"values": [float(fri[-1] + hour)], "dvalue": float(57 * hour)}]
    assert charts.session_breaks(np.arange(0, 48 * hour, hour)) == []


def test_report_spans_lines_and_bands() -> None:
    """A time to the minute is a point; a day-precision time spans its UTC day."""
    from datetime import UTC, datetime

    t0 = datetime(2026, 5, 26, 14, 25, tzinfo=UTC)
    t0_ms = int(t0.timestamp() * 1000)
    reports = pl.DataFrame(
        {
            "published_at": [t0, datetime(2026, 5, 26, tzinfo=UTC)],
            "t_ms": [
                t0_ms + 40 * 60_000,
                int(datetime(2026, 5, 26, tzinfo=UTC).timestamp() * 1000),
            ],
            "published_precision": ["minute", "day"],
            "outlet": ["SCMP", "Bloomberg"],
            "title": ["a", "b"],
        }
    )
    spans = event_charts.report_spans(reports, t0_ms)
    assert spans["lo"].to_list() == [40.0, -(14 * 60 + 25)]
    assert spans["hi"].to_list() == [40.0, 24 * 60 - (14 * 60 + 25)]
    assert spans["label"][1] == "Bloomberg, some time on 2026-05-26: b"


def test_sparklines_colour_by_direction_and_show_percent_change() -> None:
    """A rising series is green, a falling one red; each path is % change from the first close."""
    closes = pl.DataFrame(
        {"instrument_id": ["A", "A", "B", "B"], "t_ms": [1, 2, 1, 2], "close": [1.0, 2.0, 2.0, 1.0]}
    )
    series = charts.sparkline_series(closes, ["A", "B"])
    assert [list(s["pct"]) for s in series] == [[0.0, 100.0], [0.0, -50.0]]
    page = charts.sparkline_html(closes, ["A", "B"])
    a, b = page.split('class="tw-spark"')[1:]

    def svg(cell: str) -> str:
        return base64.b64decode(cell.split("base64,")[1].split('"')[0]).decode()

    assert f'stroke="{charts.UP}"' in svg(a) and "▲ 100.00%" in a
    assert f'stroke="{charts.DOWN}"' in svg(b) and "▼ 50.00%" in b


def test_sparkline_of_a_stablecoin_stays_flat() -> None:
    """A 0.02 % wobble is drawn on at least a ±1 % axis, not stretched to fill the box."""
    closes = pl.DataFrame(
        {"instrument_id": ["USDS"] * 3, "t_ms": [1, 2, 3], "close": [1.0, 1.0002, 0.9999]}
    )
    (series,) = charts.sparkline_series(closes, ["USDS"])
    lo, hi = series["range"]
    assert hi - lo >= 2 * charts.SPARK_MIN_RANGE_PCT
