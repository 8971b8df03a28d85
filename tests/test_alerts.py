"""Alerts: rules validated on load, evaluated over given rows, delivered once to a local receiver."""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import alerts, store
from pipelines.config import load_config
from pipelines.errors import ConfigError
from pipelines.retry import RetryPolicy
from pipelines.schemas import BAR_SCHEMA, EVENT_INSTRUMENT_SCHEMA, EVENT_SCHEMA
from tests.alert_receiver import Receiver

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # the instant the test's news breaks

INSTRUMENTS = """
[[instruments]]
id = "BTC"
asset_class = "crypto"
source = "ccxt"
symbol = "BTC/USDT"

[[instruments]]
id = "ETH"
asset_class = "crypto"
source = "ccxt"
symbol = "ETH/USDT"
"""


def write_config(tmp_path: Path, rules: str, name: str = "t.toml") -> Path:
    path = tmp_path / name
    path.write_text(INSTRUMENTS + textwrap.dedent(rules), encoding="utf-8")
    return path


def bars(instrument: str, closes: list[float], start: datetime) -> pl.DataFrame:
    """1-minute bars opening at `start`, one per close (open = high = low = close)."""
    return pl.DataFrame(
        {
            "instrument_id": [instrument] * len(closes),
            "timeframe": ["1m"] * len(closes),
            "ts": [start + timedelta(minutes=i) for i in range(len(closes))],
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": [1.0] * len(closes),
            "source": ["test"] * len(closes),
        },
        schema=BAR_SCHEMA,
    )


def event(event_id: str, title: str, category: str, at: datetime, instrument: str):
    ev = pl.DataFrame(
        [
            {
                "event_id": event_id,
                "title": title,
                "event_at": at,
                "event_at_lower": at,
                "event_at_upper": at,
                "category": category,
                "countries": [],
                "n_articles": 1,
                "n_outlets": 1,
                "first_outlet": "test",
                "is_manual": True,
            }
        ],
        schema=EVENT_SCHEMA,
    )
    link = pl.DataFrame(
        [
            {
                "event_id": event_id,
                "instrument_id": instrument,
                "reason": "manual",
                "confidence": 1.0,
            }
        ],
        schema=EVENT_INSTRUMENT_SCHEMA,
    )
    return ev, link


def store_rows(db: Path, **tables: pl.DataFrame) -> None:
    with store.writing(db, "test") as writer:
        for table, frame in tables.items():
            writer.upsert(table, frame)


def history(db: Path) -> pl.DataFrame:
    with store.reader(db) as con:
        return store.query_frame(con, "select * from alerts order by alert_id")


# ---------------------------------------------------------------------------- config


def test_unknown_instrument_category_and_kind_are_each_one_line(tmp_path):
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "a"
        kind = "price"
        instruments = ["BTC", "DOGGO"]
        move_pct = 2

        [[alerts]]
        name = "b"
        kind = "event"
        categories = ["policy", "tarifs"]
        z = 3

        [[alerts]]
        name = "c"
        kind = "weather"

        [[alerts]]
        name = "ok"
        kind = "health"
        """,
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 3, lines
    assert "alerts[0].instruments: unknown instrument 'DOGGO'" in lines[0]
    assert "alerts[1].categories: unknown category 'tarifs'; did you mean 'tariffs'?" in lines[1]
    assert "alerts[2].kind: 'weather' is not allowed" in lines[2]
    assert all(line.startswith(str(path)) for line in lines)


def test_valid_rules_load_with_their_settings(tmp_path):
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "moves"
        kind = "event"
        categories = ["policy", "sanctions"]
        move_pct = 1.5
        horizon = "15m"
        targets_env = "MY_URLS"
        """,
    )
    (rule,) = alerts.rules_from_config(load_config(path))
    assert (rule.kind, rule.categories, rule.move_pct, rule.z) == (
        "event",
        ("policy", "sanctions"),
        1.5,
        None,
    )
    assert (rule.horizon, rule.cooldown, rule.targets_env) == (
        timedelta(minutes=15),
        timedelta(hours=1),
        "MY_URLS",
    )


def test_the_default_config_rules_load():
    repo = Path(__file__).resolve().parent.parent
    rules = alerts.rules_from_config(load_config(repo / "tickerwire.toml"))
    assert {r.kind for r in rules} == set(alerts.KINDS)


# ---------------------------------------------------------------------------- price rule


def test_price_rule_posts_once_then_dedupes_then_again_after_cooldown(tmp_path, monkeypatch):
    db = tmp_path / "a.duckdb"
    start = T0 - timedelta(minutes=30)
    # BTC flat at 100 then 103 on the last bar (+3 %); ETH 200 → 202 (+1 %, under the threshold).
    store_rows(
        db,
        bars=pl.concat(
            [bars("BTC", [100.0] * 29 + [103.0], start), bars("ETH", [200.0] * 29 + [202.0], start)]
        ),
    )
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "big-move"
        kind = "price"
        instruments = ["BTC", "ETH"]
        move_pct = 2
        window = "15m"
        cooldown = "10m"
        """,
    )
    config = load_config(path)
    now = T0 + timedelta(seconds=30)  # the last bar closed at T0
    with Receiver() as rx:
        monkeypatch.setenv("TICKERWIRE_ALERT_URLS", rx.url)
        first = alerts.run_alerts(db, config, now=now)
        assert len(rx.posts) == 1
        second = alerts.run_alerts(db, config, now=now + timedelta(minutes=1))
        assert len(rx.posts) == 1  # the same move: deduped
        third = alerts.run_alerts(db, config, now=now + timedelta(minutes=11))
        assert len(rx.posts) == 2  # after the 10-minute cooldown, once more
    assert [r.found for r in (first, second, third)] == [1, 1, 1]
    body = rx.posts[0][1]
    expected = 100 * (103.0 / 100.0 - 1)
    assert f"BTC {expected:+.2f} %" in body["title"]
    assert "ETH" not in body["title"] + body["message"]
    rows = history(db)
    assert rows["status"].to_list() == ["sent", "sent"]
    assert math.isclose(rows["move_pct"][0], expected)
    assert rows["dedupe_key"].to_list() == ["big-move|price|BTC"] * 2


def test_price_rule_ignores_a_move_in_old_data(tmp_path, monkeypatch):
    db = tmp_path / "a.duckdb"
    store_rows(db, bars=bars("BTC", [100.0] * 29 + [110.0], T0 - timedelta(minutes=30)))
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "big-move"
        kind = "price"
        instruments = ["BTC"]
        move_pct = 2
        window = "15m"
        """,
    )
    run = alerts.run_alerts(db, load_config(path), now=T0 + timedelta(hours=2))
    assert run.found == 0


# ---------------------------------------------------------------------------- event rule


def test_event_rule_message_has_title_move_significance_and_link(tmp_path, monkeypatch):
    db = tmp_path / "a.duckdb"
    start = T0 - timedelta(hours=6)
    n_before = 6 * 60
    # Small alternating moves before the news (a volatility to measure), a +2 % jump after it.
    before = [100.0 + (0.05 if i % 2 else 0.0) for i in range(n_before)]
    after = [102.0] * 90
    closes = before + after
    ev, link = event("ev1", "Central bank surprises with emergency cut", "policy", T0, "BTC")
    other, other_link = event("ev2", "A company reports earnings", "corporate", T0, "BTC")
    store_rows(
        db,
        bars=bars("BTC", closes, start),
        events=pl.concat([ev, other]),
        event_instruments=pl.concat([link, other_link]),
    )
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "policy-moves"
        kind = "event"
        categories = ["policy"]
        z = 3
        horizon = "1h"
        """,
    )
    config = load_config(path)
    now = T0 + timedelta(hours=1, minutes=5)
    with Receiver() as rx:
        monkeypatch.setenv("TICKERWIRE_ALERT_URLS", rx.url)
        monkeypatch.setenv("TICKERWIRE_DASHBOARD_URL", "http://dash.example:8501/")
        run = alerts.run_alerts(db, config, now=now)
        again = alerts.run_alerts(db, config, now=now + timedelta(hours=3))
    assert (run.found, len(run.deliveries), len(again.deliveries)) == (1, 1, 0)
    assert len(rx.posts) == 1
    body = rx.posts[0][1]
    assert "Central bank surprises with emergency cut" in body["title"]
    # P(t0) is the close of the bar that closed at t0 (the last one before the news); every
    # horizon after it reads 102, so the move is the same at each.
    p0 = closes[n_before - 1]
    expected = 100 * (102.0 / p0 - 1)
    assert f"BTC {expected:+.2f} % at +5m" in body["message"]
    # Independent z at +5m: ln return over the 1-minute sigma of the bars before, scaled by √5.
    rets = [math.log(b / a) for a, b in zip(before, before[1:], strict=False)]
    mean = sum(rets) / len(rets)
    sigma = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    z = math.log(102.0 / p0) / (sigma * math.sqrt(5))
    assert f"z {z:+.2f}" in body["message"]
    assert "http://dash.example:8501/event?event=ev1" in body["message"]
    assert "earnings" not in body["title"] + body["message"]


# ---------------------------------------------------------------------------- delivery faults


def _firing(rule_name: str = "r") -> alerts.Firing:
    rule = alerts.AlertRule(name=rule_name, kind="health")
    return alerts.Firing(rule, f"{rule_name}|x", "title", "body", datetime.now(UTC))


def test_a_target_answering_500_is_retried_then_recorded_failed():
    with Receiver(status=500) as rx:
        got = alerts.deliver(_firing(), [rx.url], policy=RetryPolicy(retries=2, base=0.05))
    assert len(rx.posts) == 3
    assert (got.status, got.attempts) == ("failed", 3)
    assert got.error


def test_a_hanging_target_is_abandoned_within_the_attempt_timeout():
    with Receiver(hang=5.0) as rx:
        t = datetime.now(UTC)
        got = alerts.deliver(
            _firing(), [rx.url], policy=RetryPolicy(retries=1, base=0.05), timeout=0.5
        )
        took = (datetime.now(UTC) - t).total_seconds()
    assert len(rx.posts) == 2
    assert (got.status, got.error) == ("failed", "no answer within 0.5 s")
    assert took < 4.0


def test_delivery_waits_between_tries_as_the_retry_policy_says():
    waits: list[float] = []
    policy = RetryPolicy(retries=2, base=1.0, cap=30.0, sleep=waits.append)
    with Receiver(status=503) as rx:
        got = alerts.deliver(_firing(), [rx.url], policy=policy)
    assert (len(rx.posts), got.status, got.attempts) == (3, "failed", 3)
    # retries = tries after the first; the n-th wait is drawn in [1/2, 1] of base * 2^n
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0


def test_a_target_apprise_cannot_use_is_not_retried():
    waits: list[float] = []
    got = alerts.deliver(_firing(), ["nosuchscheme://x"], policy=RetryPolicy(sleep=waits.append))
    assert (got.status, got.attempts, waits) == ("failed", 1, [])
    assert got.error == "not an apprise URL: nosuchscheme://x/…"


def test_no_target_is_recorded_not_raised(tmp_path, monkeypatch):
    monkeypatch.delenv("TICKERWIRE_ALERT_URLS", raising=False)
    got = alerts.deliver(_firing())
    assert (got.status, got.error) == ("no-target", "$TICKERWIRE_ALERT_URLS is not set")


# ---------------------------------------------------------------------------- refresh and CLI


def _seed_failed_run(db: Path, source: str) -> None:
    with store.writing(db, "test") as writer:
        run = writer.start_run(source)
        run.details["kinds"] = ["prices"]
        run.errors.append("binance: network down (connection refused)")
        writer.finish_run(run, "failed")


def test_a_failing_target_never_stops_a_refresh(tmp_path, monkeypatch):
    from pipelines.refresh import EXIT_OK, run_refresh
    from pipelines.sources.http import HttpClient
    from pipelines.sources.synthetic_source import SyntheticSource
    from tests.ops_server import MarketServer

    db = tmp_path / "r.duckdb"
    _seed_failed_run(db, "ccxt")
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "down"
        kind = "health"
        sources = ["ccxt"]
        cadences = 1
        """,
    )
    config = load_config(path)
    with Receiver(status=500) as rx, MarketServer(n_bars=50) as srv:
        monkeypatch.setenv("TICKERWIRE_ALERT_URLS", rx.url)
        client = HttpClient(timeout=(0.3, 0.3), retries=1, sleep=lambda _s: None)
        src = SyntheticSource(srv.url, ["BTC"], client=client)
        summary = run_refresh(db, config, sources={"synthetic": src})
    assert summary.exit_code == EXIT_OK
    assert len(rx.posts) == alerts.RETRIES + 1  # retried, bounded
    assert any("1 failed" in n for n in summary.notices), summary.notices
    (row,) = history(db).iter_rows(named=True)
    assert (row["rule"], row["source"], row["status"], row["attempts"]) == (
        "down",
        "ccxt",
        "failed",
        alerts.RETRIES + 1,
    )
    assert "network down" in row["message"]
    with store.reader(db) as con:
        n_bars = con.execute("select count(*) from bars").fetchone()[0]
    assert n_bars == 50  # the refresh's data landed


def run_cli(*args: str, db: Path, config: Path, env: dict[str, str]):
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(db), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_cli_list_test_and_history(tmp_path):
    db = tmp_path / "c.duckdb"
    _seed_failed_run(db, "ccxt")
    path = write_config(
        tmp_path,
        """
        [[alerts]]
        name = "down"
        kind = "health"
        sources = ["ccxt"]
        cadences = 2
        targets_env = "MY_ALERT_URLS"

        [[alerts]]
        name = "btc"
        kind = "price"
        instruments = ["BTC"]
        move_pct = 5
        targets_env = "MY_ALERT_URLS"
        """,
    )
    with Receiver() as rx:
        env = {"MY_ALERT_URLS": rx.url}
        listed = run_cli("alerts", "list", "--format", "json", db=db, config=path, env=env)
        assert listed.returncode == 0, listed.stderr
        assert '"targets": 1' in listed.stdout and "failing 2 runs" in listed.stdout
        # One failed run, fewer than 2 in a row, but ccxt never succeeded: stale, so met.
        tested = run_cli("alerts", "test", "down", db=db, config=path, env=env)
        assert tested.returncode == 0, tested.stderr
        assert tested.stdout == "sent: [test] [down] source ccxt: stale\n"
        # No bars at all: not met, so the test sends a 'not met' note.
        unmet = run_cli("alerts", "test", "btc", db=db, config=path, env=env)
        assert unmet.stdout == "sent: [test] [btc] test: not met now\n"
        unknown = run_cli("alerts", "test", "nope", db=db, config=path, env=env)
    assert len(rx.posts) == 2 and "never" in rx.posts[0][1]["message"]
    assert "not met now" in rx.posts[1][1]["title"]
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no alert rule 'nope'; rules: down, btc"
    shown = run_cli("alerts", "history", "--format", "csv", db=db, config=path, env={})
    assert shown.returncode == 0, shown.stderr
    frame = pl.read_csv(shown.stdout.encode())
    assert frame["rule"].to_list() == ["btc", "down"]  # newest first
    assert frame["is_test"].to_list() == [True, True]


def test_duration_text_round_trips_through_the_config_parser():
    from pipelines.cadence import parse_interval

    for text in ("90s", "20m", "90m", "2h", "1d", "36h"):
        delta = parse_interval(text)
        assert delta is not None
        assert parse_interval(alerts.duration_text(delta)) == delta
