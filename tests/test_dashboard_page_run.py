"""dashboard.data.page_run: a page's cache misses share one read-only connection, closed at the
end of the run; outside a run every query opens (and closes) its own."""

from __future__ import annotations

import pytest
import streamlit as st

from dashboard import data, prices, reactions
from pipelines import store

pytestmark = pytest.mark.usefixtures("use_db")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection the dashboard opens, in order (the real ones, only counted)."""
    seen: list[object] = []
    real = store.open_connection

    def counting(*args, **kwargs):
        con = real(*args, **kwargs)
        seen.append(con)
        return con

    monkeypatch.setattr(store, "open_connection", counting)
    st.cache_data.clear()
    return seen


def test_a_page_run_opens_one_connection_and_closes_it(opened) -> None:
    with data.page_run():
        data.coverage()
        data.events(limit=5)
        prices.strip()
        reactions.event_movers(data.events(limit=3))
    assert len(opened) == 1
    with pytest.raises(Exception, match="closed"):
        opened[0].execute("select 1")


def test_outside_a_run_each_query_has_its_own_connection(opened) -> None:
    data.coverage()
    data.events(limit=5)
    assert len(opened) >= 2


def test_cached_results_open_nothing(opened) -> None:
    with data.page_run():
        data.coverage()
    with data.page_run():
        data.coverage()  # same data key: from the cache
    assert len(opened) == 1
