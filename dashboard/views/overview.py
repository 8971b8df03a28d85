"""Overview: the ticker strip, the latest events with their biggest mover, sparklines, a price chart."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import charts, data, live, prices, reactions, ui
from dashboard.text import md


def strip_section() -> None:
    """The ticker strip rendered like seed 001, with its as-of time."""
    sources = prices.quote_sources()["source"].to_list()
    source = None
    if len(sources) > 1:
        picked = st.columns([1, 2])[0].selectbox(
            "Prices from", ["newest of any source", *sources], key="quotes", bind="query-params"
        )
        source = None if picked == "newest of any source" else picked
    strip = prices.strip(source)
    if strip.height == 0:
        st.info("No instruments yet: run `tickerwire demo` or `tickerwire refresh`.")
        return
    priced = strip.filter(pl.col("price").is_not_null())
    as_of = priced["priced_at"].max() if priced.height else None
    st.markdown(charts.strip_html(strip, as_of), unsafe_allow_html=True)
    live.quote_age(as_of, live.refresh_every())


def featured_section() -> None:
    """The file's featured story (the seed story in the bundled sample), with a link to its page.

    The newest rows of a recorded sample are its last tariff changes and EIA closes, which say
    little; the story the sample was cut around is where a first look should start."""
    featured = data.meta().get("featured_event")
    ev = data.event(featured) if featured else None
    if ev is None:
        return
    st.info(
        f"**Start here:** {md(ev['title'])} ({ui.fmt_ts(ev['event_at'])}). "
        f"[Open its event page](event?event={featured}) to see what crypto, gold, oil and the "
        "Nasdaq-100 did next; the 2025 posts (the 2025-04-09 tariff pause among them) are a "
        "search away on the Event page.",
        icon=":material/star:",
    )


def latest_events_section() -> None:
    """The newest events with the instrument that moved most in the hour after each."""
    st.subheader("Latest events")
    ev = data.events(limit=10)
    if ev.height == 0:
        st.info(
            "No events stored yet: `tickerwire import events FILE` or `tickerwire refresh` adds some."
        )
        return
    movers = reactions.event_movers(ev)
    table = ev.join(movers, on="event_id", how="left").select(
        "event_at",
        pl.col("top_instrument").fill_null("no fresh price").alias("biggest mover (+1h)"),
        pl.col("top_ret_pct").round(3).alias("move %"),
        "title",
        "category",
        "n_articles",
        ("event?event=" + pl.col("event_id")).alias("open"),
    )
    ui.table(
        table,
        "latest_events",
        column_config={
            "event_at": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm"),
            "move %": st.column_config.NumberColumn(format="%+.3f %%"),
            "title": st.column_config.TextColumn(width="large"),
            "open": st.column_config.LinkColumn("event page", display_text="open"),
        },
        key="latest-events",
    )


def sparkline_section() -> None:
    """A small chart per watchlist instrument over its last 7 days."""
    st.subheader("Watchlist, last 7 days")
    closes = prices.watch_sparklines(days=7)
    if closes.height == 0:
        st.info("No bars stored yet.")
        return
    st.html(charts.sparkline_html(closes, data.instruments_with_bars(), days=7))
    ui.csv_button(closes, "watchlist_7d", key="csv-sparklines", label="sparkline closes")


@ui.fragment
def price_section() -> None:
    """A price chart for a chosen instrument and range, with event markers (headline on hover).

    A fragment: changing its instrument, chart kind or range reruns only this section, not the
    strip, the events table and the sparklines above it."""
    st.subheader("Price chart")
    # the columns exist before the pickers so the empty-database notice needs no layout
    c1, c2 = st.columns([2, 1])
    picked = ui.price_controls(c1, c2)
    if picked is None:
        return
    inst, kind = picked
    first, last = data.span([inst])
    start, end = ui.range_picker(first, last)
    prices = ui.load_prices(inst, kind, start, end)
    if prices is None:
        return
    events = data.events(start=start, end=end, limit=charts.MAX_EVENT_MARKERS)
    fig = charts.price_figure(prices.frame, kind=kind, events=events, title=f"{inst}")
    ui.plot(fig, key="overview-price")
    shown = "candles" if kind == "candles" else "points"
    st.caption(
        f"{prices.raw_points:,} {prices.timeframe} bars → {prices.frame.height:,} {shown} "
        f"(bucket {timedelta(seconds=prices.bucket_s)}); {events.height:,} event marker(s) — "
        "hover a marker for its headline."
    )
    ui.csv_button(prices.frame, f"{inst}_prices", key="csv-overview-prices", label="prices")


def live_sections() -> None:
    """The parts that update themselves on the timer (dashboard/live.py)."""
    strip_section()
    featured_section()
    latest_events_section()
    sparkline_section()


def body() -> None:
    """The Overview page."""
    live.auto_update(live_sections, "overview")
    price_section()


ui.run_page("Overview", body, charts=True)
