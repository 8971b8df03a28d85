"""News: a searchable feed of articles and events, with the market's reaction as a badge."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, reactions, ui
from dashboard.text import md


def reaction(instrument: str | None, ret: float | None) -> str:
    """A reaction badge: 'BTC ▲ 0.42%' (biggest move within +1 h), or '' when unpriced."""
    if instrument is None or ret is None:
        return ""
    return f"{instrument} {charts.format_change(ret)}"


def body() -> None:
    """The News page."""
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    words = c1.text_input(
        "Search", key="q", bind="query-params", placeholder="words in title or summary"
    )
    outlets = data.outlets()["outlet"].to_list()
    outlet = c2.selectbox("Outlet", ["(any)", *outlets], key="outlet", bind="query-params")
    cats = data.categories()["category"].to_list()
    category = c3.selectbox("Category", ["(any)", *cats], key="category", bind="query-params")
    insts = data.instruments()["instrument_id"].to_list()
    instrument = c4.selectbox(
        "Instrument", ["(any)", *insts], key="instrument", bind="query-params"
    )
    sentiment = st.slider(
        "Sentiment", -1.0, 1.0, (-1.0, 1.0), step=0.05, key="sentiment", bind="query-params"
    )
    pick = lambda v: None if v in (None, "(any)") else v  # noqa: E731
    use_sentiment = sentiment != (-1.0, 1.0)

    st.subheader("Events")
    events = data.events(
        words=tuple(words.split()), category=pick(category), instrument=pick(instrument), limit=50
    )
    if events.height == 0:
        st.info("No event matches these filters.")
    else:
        movers = reactions.event_movers(events)
        shown = events.join(movers, on="event_id", how="left")
        badges = [
            reaction(i, r)
            for i, r in zip(
                shown["top_instrument"].to_list(), shown["top_ret_pct"].to_list(), strict=True
            )
        ]
        shown = shown.with_columns(pl.Series("reaction (+1h)", badges)).select(
            "event_at",
            "title",
            "category",
            "n_articles",
            "first_outlet",
            "reaction (+1h)",
            ("event?event=" + pl.col("event_id")).alias("open"),
        )
        top = shown.head(5)
        cols = st.columns(len(top))
        for col, row in zip(cols, top.iter_rows(named=True), strict=True):
            badge = row["reaction (+1h)"]
            col.badge(
                badge or "no price", color="red" if "▼" in badge else "green" if badge else "gray"
            )
            col.caption(md(row["title"][:80]))
        ui.table(
            shown,
            "news_events",
            column_config={"open": st.column_config.LinkColumn("event page", display_text="open")},
            key="news-events",
        )
        if events["n_matched"][0] > events.height:
            st.caption(f"Newest {events.height} of {events['n_matched'][0]:,} matching events.")

    st.subheader("Articles")
    arts = data.articles(
        words=tuple(words.split()),
        outlet=pick(outlet),
        category=pick(category),
        instrument=pick(instrument),
        sentiment=sentiment if use_sentiment else None,
        limit=300,
    )
    ui.table(
        arts.drop("n_matched") if arts.height else arts,
        "news_articles",
        empty="No article matches these filters.",
        column_config={"url": st.column_config.LinkColumn("link")},
        key="news-articles",
    )
    if arts.height and arts["n_matched"][0] > arts.height:
        st.caption(f"Newest {arts.height} of {arts['n_matched'][0]:,} matching articles.")


ui.run_page("News", body)
