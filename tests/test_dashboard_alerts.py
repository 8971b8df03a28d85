"""AppTest of the Alerts page: the configured rules and the recorded history, read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import alerts, store
from pipelines.config import load_config

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"

CONFIG = """
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"

[[alerts]]
name = "btc-swing"
kind = "price"
instruments = ["BTC"]
move_pct = 4
window = "30m"
targets_env = "TW_TEST_UNSET_URLS"

[[alerts]]
name = "policy"
kind = "event"
categories = ["policy"]
z = 3
"""


@pytest.fixture
def alerts_env(tmp_path, monkeypatch):
    db = tmp_path / "a.duckdb"
    with store.writing(db, "test"):
        pass
    cfg = tmp_path / "t.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    monkeypatch.setenv("TICKERWIRE_CONFIG", str(cfg))
    monkeypatch.delenv("TW_TEST_UNSET_URLS", raising=False)
    rules = {r.name: r for r in alerts.rules_from_config(load_config(cfg))}
    at = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    sent = alerts.Firing(
        rules["policy"],
        "policy|event|ev9",
        "[policy] Tariffs raised",
        "BTC -3.1 %",
        at,
        event_id="ev9",
    )
    failed = alerts.Firing(
        rules["btc-swing"], "btc-swing|price|BTC", "[btc-swing] BTC +4.5 % in 30m", "m", at
    )
    alerts.record(
        db,
        [
            alerts.Delivery(sent, "sent", 1, None, at),
            alerts.Delivery(failed, "failed", 3, "HTTP 500 from json://127.0.0.1"),
        ],
    )
    return db


def test_alerts_page_lists_rules_and_history(alerts_env):
    at = AppTest.from_file(str(VIEWS / "alerts.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    rules, history = (df.value for df in at.dataframe)
    assert list(rules.iloc[:, 0]) == ["btc-swing", "policy"]
    assert len(history) == 2
    cells = " ".join(str(v) for v in history.astype(str).to_numpy().ravel())
    assert "Tariffs raised" in cells and "/event?event=ev9" in cells
    warnings = " ".join(w.value for w in at.warning)
    assert "1 alert(s) could not be delivered" in warnings and "HTTP 500" in warnings
    captions = " ".join(c.value for c in at.caption)
    assert "$TW_TEST_UNSET_URLS" in captions


def test_alerts_page_on_a_file_without_alerts_table(tmp_path, monkeypatch):
    db = tmp_path / "old.duckdb"
    with store.writing(db, "test") as writer:  # as a file written before migration 0080
        writer.con.execute("drop table alerts; drop sequence alert_seq")
        writer.con.execute("delete from _migrations where name = '0080_alerts.sql'")
    cfg = tmp_path / "t.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    monkeypatch.setenv("TICKERWIRE_CONFIG", str(cfg))
    at = AppTest.from_file(str(VIEWS / "alerts.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("no alerts table yet" in i.value for i in at.info)
