"""The live parts of the pages (dashboard/live.py): quote age, timer setting, new-event notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.live import age_text
from pipelines import store
from pipelines.config import load_config
from pipelines.errors import ConfigError
from pipelines.live_settings import DashboardSettings
from tests.dashboard_fixture_db import build

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "just now"),
        (0.4, "just now"),
        (12, "12 s ago"),
        (59.9, "59 s ago"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (3 * 3600 + 5, "3 h ago"),
        (86400 * 2 + 1, "2 d ago"),
    ],  # fmt: skip
)
def test_age_text(seconds, text):
    assert age_text(NOW - timedelta(seconds=seconds), NOW) == text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", timedelta(seconds=10)),
        ('refresh = "2s"', timedelta(seconds=2)),
        ('refresh = "1m"', timedelta(minutes=1)),
        ('refresh = "off"', None),
    ],  # fmt: skip
)
def test_dashboard_refresh_setting(tmp_path, body, expected):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f"[dashboard]\n{body}\n" if body else "[database]\npath = 'x.duckdb'\n")
    assert DashboardSettings.from_config(load_config(cfg)).refresh == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('refresh = "soon"', "'soon' is not an interval"),
        ('refresh = "0.5s"', "shorter than 1 s"),
        ("every = 3", "unknown key"),
    ],  # fmt: skip
)
def test_dashboard_refresh_errors_name_the_key(tmp_path, body, message):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f"[dashboard]\n{body}\n")
    with pytest.raises(ConfigError, match=r"d\.toml: dashboard\.\w+: .*" + message):
        load_config(cfg)


def add_event_and_quote(db: Path, price: float) -> None:
    """What a refresh would write: one new event and a newer BTC quote."""
    with store.writing(db, "test") as writer:
        writer.upsert(
            "events",
            pl.DataFrame(
                {
                    "event_id": ["ev-live"],
                    "title": ["Gold jumps on a tariff headline"],
                    "event_at": pl.Series(
                        [NOW - timedelta(days=400)], dtype=pl.Datetime("us", "UTC")
                    ),
                    "category": ["policy"],
                }
            ),
        )
        writer.upsert(
            "quotes",
            pl.DataFrame(
                {
                    "instrument_id": ["BTC"],
                    "ts": pl.Series([datetime.now(UTC)], dtype=pl.Datetime("us", "UTC")),
                    "source": ["ccxt:binance"],
                    "price": [price],
                    "change_pct": [1.25],
                    "captured_from": ["binance ticker BTC/USDT"],
                }
            ),
        )


def test_overview_shows_quote_age_and_a_new_event_without_losing_widgets(tmp_path, monkeypatch):
    db = build(tmp_path / "live.duckdb")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=60)
    at.run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert any(c.startswith("as of ") and "updates every 10 s" in c for c in captions), captions
    assert not any("New since you opened" in i.value for i in at.info)
    at.selectbox(key="instrument").set_value("XAU").run()
    add_event_and_quote(db, 80_123.0)
    at.run()  # what the fragment's timer does, here run by hand
    assert not at.exception
    notice = next(i.value for i in at.info if "New since you opened" in i.value)
    # an event stored now counts as new although its event_at lies 400 days back
    assert "[Gold jumps on a tariff headline](event?event=ev-live)" in notice
    assert "$80,123.00" in at.markdown[0].value and "▲ 1.25%" in at.markdown[0].value
    fresh = [c.value for c in at.caption if c.value.startswith("as of ")]
    assert fresh and ("just now" in fresh[0] or " s ago" in fresh[0]), fresh
    assert at.selectbox(key="instrument").value == "XAU"  # the price chart kept its pick


def test_health_page_shows_a_new_event_notice(tmp_path, monkeypatch):
    db = build(tmp_path / "health.duckdb")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    at = AppTest.from_file(str(VIEWS / "health.py"), default_timeout=60)
    at.run()
    assert not at.exception and not any("New since" in i.value for i in at.info)
    add_event_and_quote(db, 80_000.0)
    at.run()
    assert any("event?event=ev-live" in i.value for i in at.info)


def test_a_lake_shows_the_new_event_notice_after_an_export(tmp_path, monkeypatch):
    from pipelines import export

    db = build(tmp_path / "lake-src.duckdb")
    lake = tmp_path / "lake"
    with store.reader(db) as con:
        export.export(con, lake)
    monkeypatch.delenv("TICKERWIRE_DB", raising=False)
    monkeypatch.setenv("TICKERWIRE_LAKE", str(lake))
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=60)
    at.run()
    assert not at.exception and not any("New since" in i.value for i in at.info)
    add_event_and_quote(db, 80_000.0)
    export.append_to_lake(db, lake)  # what a refresh into a lake does after its commit
    at.run()
    assert not at.exception
    notice = next(i.value for i in at.info if "New since you opened" in i.value)
    assert "[Gold jumps on a tariff headline](event?event=ev-live)" in notice


def test_stored_at_is_the_insertion_time_and_an_update_keeps_it(tmp_path):
    db = tmp_path / "s.duckdb"
    row = {
        "event_id": ["e1"],
        "title": ["first title"],
        "event_at": pl.Series([NOW], dtype=pl.Datetime("us", "UTC")),
    }
    before = datetime.now(UTC)
    with store.writing(db, "test") as writer:
        writer.upsert("events", pl.DataFrame(row))
    with store.writing(db, "test") as writer:
        result = writer.upsert("events", pl.DataFrame({**row, "title": ["changed title"]}))
        writer.upsert("events", pl.DataFrame({**row, "event_id": ["e2"]}))
    assert result.updated == 1
    with store.reader(db) as con:
        got = dict(con.execute("select event_id, stored_at from events").fetchall())
    first, second = got["e1"], got["e2"]
    assert before <= first < second  # e1 kept the time of its insert through the update
