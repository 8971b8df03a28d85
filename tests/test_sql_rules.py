"""The SQL rules written once (sql/views): given rows → expected rows for the as-of price
P(t) (tw_prices_at), the newest run per source (latest_runs), missing bars (tw_bar_gaps) and
bar coverage, and the Event page's anchor P(t0) keeping the staleness limit of its returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines import store

T0 = datetime(2026, 5, 26, 14, 0, tzinfo=UTC)  # a Tuesday
MONDAY = datetime(2026, 5, 25, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.duckdb"
    with store.writer(path) as st:
        con = st.con
        con.execute(
            "insert into instruments (instrument_id, calendar) values "
            "('BTC', '24/7'), ('SPX', ?), ('OLD', '24/7')",
            [_weekday_calendar(con)],
        )
        # BTC: 1m bars opening 13:50 … 13:57 (last close 13:58); a second timeframe that must
        # not leak into the 1m answer
        for k in range(8):
            ts = T0 - timedelta(minutes=10 - k)
            con.execute(
                "insert into bars (instrument_id, timeframe, ts, close) values ('BTC', '1m', ?, ?)",
                [ts, 100.0 + k],
            )
        con.execute(
            "insert into bars (instrument_id, timeframe, ts, close) values ('BTC', '1h', ?, 1.0)",
            [T0 - timedelta(hours=1)],
        )
        # OLD: one 1m bar closed an hour before T0 (stale at T0)
        con.execute(
            "insert into bars (instrument_id, timeframe, ts, close) values ('OLD', '1m', ?, 50.0)",
            [T0 - timedelta(minutes=61)],
        )
        con.execute(
            "insert into ingest_runs (run_id, source, started_at, status) values "
            "(1, 'a', ?, 'ok'), (2, 'a', ?, 'failed'), (3, 'b', ?, 'ok'), (4, 'b', ?, 'partial')",
            [T0, T0 + timedelta(hours=1), T0, T0],  # b: a tie on started_at → higher run id
        )
    return path


def _weekday_calendar(con) -> str:
    """A generated exchange calendar that is shut on Saturdays (any will do)."""
    rows = con.execute(
        "select calendar from session_days where calendar <> '24/7' "
        "group by calendar having count(*) filter (where dayofweek(day) = 6 and open_at is not null) = 0 "
        "order by calendar limit 1"
    ).fetchall()
    return rows[0][0]


def _rows(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with store.reader(db) as con:
        return con.execute(sql, params or {}).fetchall()


PRICES_AT = """
with closes as (
    select instrument_id, timeframe, ts + interval 1 minute as close_at, close
    from bars where timeframe = '1m'
),
targets as (
    select * from (values
        ('BTC', '1m', 60, $t0::timestamptz, 'at t0'),
        ('BTC', '1m', 60, $t0::timestamptz - interval 150 second, 'mid bar'),
        ('BTC', '1m', 60, $t0::timestamptz - interval 20 minute, 'before any bar'),
        ('OLD', '1m', 60, $t0::timestamptz, 'stale')
    ) t(instrument_id, timeframe, tf_s, "at", label)
)
select label, close, close_at, fresh, market_closed
from tw_prices_at(targets, closes, 2)
order by label
"""


def test_prices_at_is_the_last_close_at_or_before_the_instant_and_stale_beyond_two_bars(db):
    got = {r[0]: r[1:] for r in _rows(db, PRICES_AT, {"t0": T0})}
    last_close = T0 - timedelta(minutes=2)  # the bar opened 13:57 closed 13:58
    # at t0 the last close is 2 bars old: still fresh (the limit is inclusive)
    assert got["at t0"] == (107.0, last_close, True, False)
    # 13:57:30: the bar that opened 13:56 and closed 13:57 is the last closed one
    assert got["mid bar"] == (106.0, T0 - timedelta(minutes=3), True, False)
    assert got["before any bar"] == (None, None, False, False)
    assert got["stale"] == (50.0, T0 - timedelta(minutes=60), False, False)


def test_prices_at_says_when_the_market_is_shut(db):
    saturday = datetime(2026, 5, 30, 15, 0, tzinfo=UTC)
    rows = _rows(
        db,
        "with closes as (select instrument_id, timeframe, ts as close_at, close from bars), "
        "targets as (select 'SPX' as instrument_id, '1m' as timeframe, 60 as tf_s, "
        "$at::timestamptz as at) select market_closed, close from tw_prices_at(targets, closes, 2)",
        {"at": saturday},
    )
    assert rows == [(True, None)]


def test_latest_runs_is_the_newest_start_then_the_higher_run_id(db):
    got = _rows(db, "select source, run_id, status from latest_runs order by source")
    assert got == [("a", 2, "failed"), ("b", 4, "partial")]


def test_status_and_health_read_the_same_newest_run(db):
    status = _rows(db, store.load_sql("ops_latest_runs"))
    health = _rows(db, store.load_sql("ops_runs"))
    ops = _rows(db, store.load_sql("ops_source_health"), {"now": T0 + timedelta(hours=2)})
    assert [(r[0], r[1]) for r in status] == [("a", 2), ("b", 4)]
    assert [(r[0], r[1]) for r in health] == [("a", 2), ("b", 4)]
    assert [(r[0], r[1]) for r in ops] == [("a", "failed"), ("b", "partial")]


def test_bar_gaps_counts_only_missing_slots_while_the_market_is_open(tmp_path):
    path = tmp_path / "gaps.duckdb"
    with store.writer(path) as st:
        cal = _weekday_calendar(st.con)
        st.con.execute(
            "insert into instruments (instrument_id, calendar) values ('C', '24/7'), ('E', ?)",
            [cal],
        )
        # C (24/7), hourly: bars at 00:00, 01:00, 04:00, 05:00 → 02:00 and 03:00 missing
        for h in (0, 1, 4, 5):
            st.con.execute(
                "insert into bars (instrument_id, timeframe, ts, close) values ('C', '1h', ?, 1)",
                [MONDAY + timedelta(hours=h)],
            )
        # E: a daily bar on Friday and the next on Monday: the weekend is no gap
        for day in (datetime(2026, 5, 29, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)):
            st.con.execute(
                "insert into bars (instrument_id, timeframe, ts, close) values ('E', '1d', ?, 1)",
                [day],
            )
    params = {"since": MONDAY - timedelta(days=1), "tfs": ["1h", "1d"], "tf_secs": [3600, 86400]}
    gaps = _rows(path, store.load_sql("prices_gaps"), params)
    assert gaps == [("C", "1h", MONDAY + timedelta(hours=2), MONDAY + timedelta(hours=4), 2)]
    summary = _rows(path, store.load_sql("ops_gap_summary"), params)
    # the health page sums the same gaps; the last bar before the longest opened at 01:00
    assert summary == [("C", "1h", 1, 2, 2, MONDAY + timedelta(hours=1))]


def test_coverage_reads_the_bar_coverage_view(db):
    got = _rows(
        db,
        "select instrument_id, timeframe, n_bars, first_ts, last_ts from ("
        + store.load_sql("prices_coverage").rstrip().rstrip(";")
        + ")",
    )
    assert ("BTC", "1m", 8, T0 - timedelta(minutes=10), T0 - timedelta(minutes=3)) in got
    assert ("BTC", "1h", 1, T0 - timedelta(hours=1), T0 - timedelta(hours=1)) in got


def _paths(db: Path, ids: list[str], t0: datetime) -> list[tuple]:
    params = {
        "ids": ids,
        "timeframe": "1m",
        "tf_s": 60,
        "t0": t0,
        "before_s": 3600,
        "after_s": 3600,
        "anchor_s": 3 * 86_400,
        "stale_bars": 2,
    }
    return _rows(db, store.load_sql("events_paths"), params)


def test_event_paths_anchor_keeps_the_staleness_limit_of_the_returns(db):
    # BTC's last close (13:58) is 2 bars before t0: anchored there
    btc = _paths(db, ["BTC"], T0)
    assert {r[5] for r in btc} == {107.0}
    # OLD's last close is an hour old at t0 and its market is open: no anchor, no path
    # (before the fix it was rebased on that hour-old price)
    assert _paths(db, ["OLD"], T0) == []
    # three minutes later BTC's last close is 5 bars old: stale too
    assert _paths(db, ["BTC"], T0 + timedelta(minutes=3)) == []
