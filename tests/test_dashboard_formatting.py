"""The one table formatter every page uses: labels, %, UTC times, ids last, magnitude-aware numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard import formatting


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ["9f3a1c"],
            "instrument_id": ["BTC"],
            "event_at": [datetime(2026, 5, 26, 14, 25, tzinfo=UTC)],
            "car": [0.0123],
            "ret_pct": [1.8],
            "p_value": [0.0143],
            "n_articles": [3],
            "price": [73275.12],
            "sigma_small": [0.000123],
        }
    )


def test_ids_go_last_and_fractions_become_percent() -> None:
    shown, config = formatting.table_view(_frame())
    assert shown.columns[0] == "instrument_id" and shown.columns[-1] == "event_id"
    assert shown["car"][0] == pytest.approx(1.23)  # 0.0123 → 1.23 %
    assert shown["ret_pct"][0] == pytest.approx(1.8)  # already in percent: unchanged
    assert config["car"]["label"] == "CAR"
    assert config["car"]["type_config"]["format"].endswith("%%")
    assert config["ret_pct"]["label"] == "return"


def test_times_read_as_utc_minutes() -> None:
    _, config = formatting.table_view(_frame())
    assert config["event_at"]["label"] == "event time"
    typed = config["event_at"]["type_config"]
    assert (typed["type"], typed["format"], typed["timezone"]) == (
        "datetime",
        "YYYY-MM-DD HH:mm [UTC]",
        "UTC",
    )


def test_numbers_are_formatted_for_their_kind_and_magnitude() -> None:
    _, config = formatting.table_view(_frame())
    fmt = {c: config[c]["type_config"].get("format") for c in config if "type_config" in config[c]}
    assert fmt["p_value"] == "%.3f"
    assert fmt["n_articles"] == "localized"
    assert fmt["price"] == "localized"  # 73,275: no decimals needed at this magnitude
    assert fmt["sigma_small"] == "%.6f"  # 0.000123 keeps three significant digits


def test_overrides_win() -> None:
    _, config = formatting.table_view(_frame(), {"price": {"label": "last price"}})
    assert config["price"] == {"label": "last price"}
