"""Widgets and layout shared by the pages: header with the demo banner, tables with CSV, notices."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
import streamlit as st

from dashboard import charts, data, formatting, preload, prices
from dashboard.text import fences_as_quotes
from pipelines import display, sample
from pipelines.errors import TickerwireError

RANGES: dict[str, timedelta | None] = {
    "1D": timedelta(days=1),
    "1W": timedelta(weeks=1),
    "1M": timedelta(days=30),
    "3M": timedelta(days=91),
    "1Y": timedelta(days=365),
    "All": None,
}
DEMO_BANNER = (
    "**Synthetic demo data** — prices and events on this page are generated offline; they are "
    "not real market data. Run `tickerwire refresh` for live data."
)
SAMPLE_BANNER = (
    "**Bundled sample: recorded real prices and news, not live** — built offline by "
    "`tickerwire demo` from {sources}. Run `tickerwire refresh` for live data."
)


def dataset_banner() -> None:
    """Say what the open file holds when it is not live data: the bundled sample or synthetic."""
    if data.is_sample():
        sources = data.meta().get("sample_sources") or "recorded third-party data"
        missing = data.without_bars()
        text = SAMPLE_BANNER.format(sources=sources)
        if missing.height:
            text += f" No bars in the bundled sample: {', '.join(missing['instrument_id'])}."
        st.warning(text, icon=":material/inventory_2:")
        # drawn only once opened: 75 lines of Markdown on every page's first render otherwise
        box = folded("Sources of the bundled sample (PROVENANCE)", "provenance")
        if box is not None:
            text = sample.provenance_text() or "PROVENANCE.md is missing from this install."
            box.markdown(fences_as_quotes(text))
    elif data.is_demo():
        st.warning(DEMO_BANNER)


THEME_NAMES = {"light": "Light", "dark": "Dark"}
# Streamlit keeps the theme picked in its settings menu in localStorage under this key per page
# path; the switch writes the same entry for every page of the app and reloads.
_THEME_SCRIPT = r"""
<script>
(() => {
  const choice = JSON.stringify(%s);
  const paths = new Set([window.location.pathname, "/"]);
  const base = window.location.pathname.replace(/\/[^\/]*$/, "");
  paths.add(base + "/");
  paths.add(base + "/overview");
  document.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]')
    .forEach((a) => { try { paths.add(new URL(a.href).pathname); } catch (e) {} });
  paths.forEach((p) => window.localStorage.setItem("stActiveTheme-" + p + "-v2", choice));
  window.location.reload();
})();
</script>
"""


def theme() -> str:
    """The theme the viewer sees now: 'light' or 'dark' (light when the browser has not said)."""
    try:
        kind = st.context.theme.type
    except AttributeError:  # bare mode / AppTest
        kind = None
    return "dark" if kind == "dark" else "light"


def theme_switch() -> None:
    """A light/dark switch in the sidebar; charts and tables follow it on every page."""
    current = theme()
    picked = st.sidebar.segmented_control(
        "Theme",
        list(THEME_NAMES),
        default=current,
        format_func=THEME_NAMES.get,
        key="theme_pick",
        required=True,
    )
    if picked and picked != current:
        st.html(_THEME_SCRIPT % f'"{THEME_NAMES[picked]}"', unsafe_allow_javascript=True)


def folded(label: str, key: str) -> Any | None:
    """A closed expander whose content is built only once a reader opens it (opening reruns
    the page): the container when open, else None. Keeps first renders light."""
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


def plot(fig: Any, key: str, **kwargs: Any) -> Any:
    """Show a Plotly figure coloured for the current theme (our colours, not Streamlit's)."""
    return st.plotly_chart(charts.apply_theme(fig, theme()), key=key, theme=None, **kwargs)


@contextmanager
def guarded() -> Iterator[None]:
    """One read-only connection for the block (data.page_run) and its errors as one line."""
    try:
        with data.page_run():
            yield
    except TickerwireError as exc:
        st.error(data.user_message(exc))
    except data.FeatureMissing as exc:
        st.info(f"Not available yet: {exc}")


def fragment(
    render: Callable[..., None], *, run_every: timedelta | None = None
) -> Callable[..., None]:
    """`render` as an st.fragment: its own widgets rerun only it (not the page), on its own
    connection and with the page's one-line errors (a fragment rerun runs outside run_page)."""

    @st.fragment(run_every=run_every)
    @functools.wraps(render)
    def part(*args: Any, **kwargs: Any) -> None:
        with guarded():  # nested in a full page run: run_page's connection is reused
            render(*args, **kwargs)

    return part


def run_page(
    title: str, body: Callable[[], None], caption: str | None = None, *, charts: bool = False
) -> None:
    """Render a page: theme switch, title, the sample/synthetic banner when it applies, then
    `body`; errors as one line. `charts`: the page draws Plotly figures (load that code first)."""
    if charts:
        preload.plotly_early()
    theme_switch()
    st.title(title)
    with guarded():  # one read-only connection for the whole run
        dataset_banner()
        if caption:
            st.caption(caption)
        body()


def csv_button(
    frame: pl.DataFrame, name: str, key: str | None = None, label: str | None = None
) -> None:
    """A 'Download CSV' button for a frame (label says what it holds when not the table above)."""
    what = f" — {label}" if label else ""
    st.download_button(
        f"Download CSV{what} ({frame.height:,} rows)",
        frame.write_csv().encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key or f"csv-{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def table(
    frame: pl.DataFrame,
    name: str,
    *,
    empty: str = "Nothing to show.",
    column_config: dict[str, Any] | None = None,
    height: int | str = "auto",
    key: str | None = None,
    labels: bool = True,
    **kwargs: Any,
) -> Any:
    """A data grid read like a report (dashboard.formatting) with its CSV download, or a clear
    empty state. The CSV keeps the raw columns and values; missing values show as "—"."""
    if frame.height == 0:
        st.info(empty)
        return None
    # labels=False (the SQL console) keeps the user's own column names and values.
    shown, config = (
        formatting.table_view(frame, column_config) if labels else (frame, column_config)
    )
    event = st.dataframe(
        shown,
        hide_index=True,
        column_config=config,
        height=height,
        key=key,
        placeholder=display.MISSING,
        **kwargs,
    )
    csv_button(frame, name, key=f"csv-{key or name}")
    return event


def missing(message: str) -> None:
    """The notice a page shows when a part of tickerwire it needs is not there yet."""
    st.info(f"Not available yet: {message}", icon=":material/construction:")


def as_utc(d: date, end_of_day: bool = False) -> datetime:
    """A date as a UTC instant at 00:00 (or the next day's 00:00 for an inclusive end)."""
    dt = datetime.combine(d, time(0), tzinfo=UTC)
    return dt + timedelta(days=1) if end_of_day else dt


def range_picker(
    first: datetime, last: datetime, *, default: str = "1W", key: str = "range"
) -> tuple[datetime, datetime]:
    """Preset ranges ending at the newest bar, or custom dates; state lives in the URL."""
    options = [*RANGES, "Custom"]
    choice = st.segmented_control(
        "Range", options, default=default, key=key, bind="query-params", required=True
    )
    end = last + timedelta(seconds=1)
    if choice == "Custom":
        c1, c2 = st.columns(2)
        start_d = c1.date_input(
            "From",
            value=max(first, last - timedelta(days=7)).date(),
            min_value=first.date(),
            max_value=last.date(),
            key="start",
            bind="query-params",
        )
        end_d = c2.date_input(
            "To",
            value=last.date(),
            min_value=first.date(),
            max_value=last.date(),
            key="end",
            bind="query-params",
        )
        start, end = as_utc(start_d), as_utc(end_d, end_of_day=True)
        if end <= start:
            st.warning("'To' is before 'From'; showing one day from 'From'.")
            end = start + timedelta(days=1)
        return start, end
    delta = RANGES.get(choice or default)
    start = first if delta is None else max(first, end - delta)
    return start, end


def fmt_ts(ts: datetime | None) -> str:
    """An instant as 'YYYY-MM-DD HH:MM UTC' ('—' when missing)."""
    return display.when(ts)


def event_label(row: dict[str, Any]) -> str:
    """How an event is listed in pickers: time · title."""
    return f"{row['event_at'].astimezone(UTC):%Y-%m-%d %H:%M} · {row['title'][:90]}"


def price_controls(inst_col: Any, kind_col: Any) -> tuple[str, str] | None:
    """Instrument picker and candles/line switch (both in the URL); None with a notice if no bars."""
    instruments = data.instruments_with_bars()
    if not instruments:
        st.info(
            "No bars stored yet: `tickerwire import bars FILE …` or `tickerwire refresh` adds some."
        )
        return None
    default = "BTC" if "BTC" in instruments else instruments[0]
    inst = inst_col.selectbox(
        "Instrument",
        instruments,
        index=instruments.index(default),
        key="instrument",
        bind="query-params",
    )
    kind = kind_col.segmented_control(
        "Chart",
        ["candles", "line"],
        default="candles",
        key="chart",
        bind="query-params",
        required=True,
    )
    return inst, kind


def load_prices(inst: str, kind: str, start: datetime, end: datetime) -> Any:
    """Candles or a down-sampled line for the range; None with a notice when there are no bars."""
    shown = prices.candles(inst, start, end) if kind == "candles" else prices.line(inst, start, end)
    if shown is None or shown.frame.height == 0:
        st.info(f"No {inst} bars between {fmt_ts(start)} and {fmt_ts(end)}.")
        return None
    return shown
