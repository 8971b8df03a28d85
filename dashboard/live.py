"""The parts of a page that update themselves: a timer (`st.fragment(run_every=…)`), the age of
the newest quote, and a notice for events stored since the page was opened.

Only the fragment reruns on the timer, so the widgets elsewhere on the page (the price chart's
instrument and range, a table's sort) keep their values; the data loaders are cached on the
file's data version, so a tick with nothing new written costs a stat of the file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import polars as pl
import streamlit as st

from dashboard import data, ui
from dashboard.text import md
from pipelines.errors import ConfigError
from pipelines.live_settings import DashboardSettings

NEW_EVENTS_SHOWN = 3


@st.cache_data(ttl=60, show_spinner=False)
def refresh_every() -> timedelta | None:
    """The timer of the live parts: `[dashboard] refresh` (10 s by default; None when off)."""
    try:
        return DashboardSettings.from_config(data.config()).refresh
    except ConfigError:
        return DashboardSettings().refresh


def age_text(then: datetime, now: datetime) -> str:
    """'12 s ago', '5 min ago', '3 h ago', '2 d ago' (a time ahead of `now` reads 'just now')."""
    seconds = (now - then).total_seconds()
    if seconds < 1:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def quote_age(as_of: datetime | None, every: timedelta | None) -> None:
    """The caption under the strip: how old its newest price is, and how often it updates
    (on the recorded sample: that it is a recording, and its date — it never updates)."""
    if as_of is None:
        return
    if data.is_sample():
        st.caption(
            f"Recorded sample: prices as of {as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
            "not live — `tickerwire refresh` fetches live prices."
        )
        return
    timer = f"updates every {_short(every)}" if every else "updates when the page is reloaded"
    st.caption(f"as of {age_text(as_of, datetime.now(UTC))} · {timer}")


@data.cached
def _events_since(db: str, after: datetime | None) -> pl.DataFrame:
    return data.query(db, "events_since", {"after": after, "limit": NEW_EVENTS_SHOWN})


def new_events_notice(page: str) -> None:
    """A notice, with links, for events stored since this page was opened in this session."""
    # A fixed slot, so the notice appearing does not shift (and redraw) what follows it.
    slot = st.empty()
    behind = data.update_note()
    if behind:  # events.stored_at (migration 0150) is what the notice reads
        slot.caption(f"New events are not announced on this page: {behind}.")
        return
    mark_key = f"live_events_mark_{page}"
    if mark_key not in st.session_state:
        newest = _events_since(None)
        st.session_state[mark_key] = newest["stored_at"][0] if newest.height else data.FAR_PAST
        return
    new = _events_since(st.session_state[mark_key])
    if new.height == 0:
        return
    links = "; ".join(
        f"[{md(r['title'])}](event?event={r['event_id']})" for r in new.iter_rows(named=True)
    )
    slot.info(
        f"**New since you opened this page:** {links}", icon=":material/notifications_active:"
    )


def auto_update(render: Callable[[], None], page: str) -> None:
    """Run `render` in a fragment that reruns itself on the timer, with the new-event notice."""

    def live_part() -> None:
        new_events_notice(page)
        render()

    ui.fragment(live_part, run_every=refresh_every())()


def _short(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    return f"{seconds // 60} min" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} s"
