"""Given rows → expected rows for the event-time grid (sql/queries/study_align_*.sql):
bar boundaries, mid-bar events, gaps, stale prices, futures weekends, no data, first/last bar,
closed instants, holiday gaps, events while the market is shut (at reopen), self-benchmarks."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import store
from pipelines.analytics import StudySpec, run_study, study
from tests.array_grid import array_paired
from tests.sql_oracle import create_temp

FIVE = timedelta(minutes=5)
HOUR = timedelta(hours=1)
STEP_5M = 300_000_000
STEP_1H = 3_600_000_000


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def bars(
    instrument: str, timeframe: str, opens: list[datetime], closes: list[float]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "instrument_id": instrument,
            "timeframe": timeframe,
            "ts": opens,
            "close": closes,
            "source": "test",
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


def load(db: Path, frame: pl.DataFrame, instruments: pl.DataFrame | None = None) -> None:
    with store.writer(db) as writer:
        writer.upsert("bars", frame)
        if instruments is not None:
            writer.upsert("instruments", instruments)


def _paired(db: Path, pairs: pl.DataFrame, binds: dict, *, full_rule: bool) -> dict:
    """(pair, k) → (price, ret, mret, reopen_at): the engine's array alignment, or with
    `full_rule` the SQL statement of the rule (study_align_intraday.sql + study_paired.sql)."""
    with store.reader(db) as con:
        if not full_rule:
            rows = array_paired(con, pairs, binds)
            return {
                key: (*v[:3], None if v[3] is None else _instant(v[3])) for key, v in rows.items()
            }
        con.register("_pairs", pairs.to_arrow())
        con.execute("create temp table study_pairs as select * from _pairs")
        con.execute("create temp table study_slow_pairs as select * from study_pairs")
        create_temp(con, "study_aligned", store.load_sql("study_align_intraday"), binds)
        create_temp(con, "study_paired", store.load_sql("study_paired"), {})
        rows = store.query_frame(
            con, "select pair_id, k, price, ret, mret, reopen_at from study_paired"
        )
    return {(r[0], r[1]): r[2:] for r in rows.iter_rows()}


def _instant(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def align(
    db: Path,
    pairs: list[tuple[int, str, str, datetime]],
    *,
    step_us: int,
    timeframe: str,
    k_lo: int,
    k_hi: int,
    stale: int = 2,
) -> dict[tuple[int, int], tuple[float | None, float | None]]:
    """Run the intraday alignment as run_study does; (pair, k) → (price, ret)."""
    frame = pl.DataFrame(
        pairs, schema=["pair_id", "instrument_id", "calendar", "t0"], orient="row"
    ).with_columns(
        pl.col("t0").cast(pl.Datetime("us", "UTC")),
        pl.lit(None, pl.Int64).alias("bench_pair_id"),
        pl.lit(True).alias("is_target"),
    )
    binds = {
        "timeframe": timeframe,
        "step_us": step_us,
        "k_lo": k_lo,
        "k_hi": k_hi,
        "stale": stale,
        "l1": k_lo,
        "l2": k_lo,
        "t1": k_lo + 1,
        "t2": k_hi,
    }
    rows = _paired(db, frame, binds, full_rule=False)
    return {key: (price, ret) for key, (price, ret, _mret, _reopen) in rows.items()}


@pytest.fixture
def five_minute_db(db_path: Path) -> Path:
    # 10:00 … 11:00 open times, close = 100 + index; bars 10:40 and 10:45 missing (a 2-bar gap).
    opens = [t("2025-01-06 10:00") + i * FIVE for i in range(13)]
    closes = [100.0 + i for i in range(13)]
    keep = [i for i in range(13) if i not in (8, 9)]
    load(db_path, bars("AAA", "5m", [opens[i] for i in keep], [closes[i] for i in keep]))
    return db_path


def test_event_on_a_bar_boundary_is_anchored_at_the_bar_that_just_closed(five_minute_db):
    got = align(
        five_minute_db,
        [(0, "AAA", "24/7", t("2025-01-06 10:30"))],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=-2,
        k_hi=2,
    )
    # P(10:30) is the 10:25 bar (closes exactly at 10:30): close 105.
    assert [got[(0, k)][0] for k in range(-2, 3)] == [103.0, 104.0, 105.0, 106.0, 107.0]
    assert got[(0, -2)][1] is None  # first grid point has no previous price
    assert got[(0, 1)][1] == pytest.approx(math.log(106 / 105))


def test_mid_bar_event_uses_the_last_closed_bar(five_minute_db):
    got = align(
        five_minute_db,
        [(0, "AAA", "24/7", t("2025-01-06 10:32:30"))],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=0,
        k_hi=1,
    )
    # At 10:32:30 the 10:30 bar is still open: P = close of 10:25 bar.
    assert got[(0, 0)][0] == 105.0
    assert got[(0, 1)][0] == 106.0  # 10:37:30 → the 10:30 bar closed at 10:35


def test_gap_within_the_staleness_limit_keeps_the_last_price_then_goes_stale(five_minute_db):
    t0 = t("2025-01-06 10:45")
    within = align(
        five_minute_db,
        [(0, "AAA", "24/7", t0)],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=0,
        k_hi=2,
        stale=2,
    )
    # At 10:45 the newest closed bar would be 10:40 (missing) → 10:35 (there): 1 missing, fresh.
    # At 10:50: 10:45 missing, 10:40 missing → 10:35 bar with 2 missing: still fresh at limit 2.
    # At 10:55: the 10:50 bar exists again.
    assert [within[(0, k)][0] for k in range(3)] == [107.0, 107.0, 110.0]
    strict = align(
        five_minute_db,
        [(0, "AAA", "24/7", t0)],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=0,
        k_hi=2,
        stale=1,
    )
    assert [strict[(0, k)][0] for k in range(3)] == [107.0, None, 110.0]
    assert strict[(0, 2)][1] is None  # a return needs both prices


def test_first_and_last_bar_edges(five_minute_db):
    first = align(
        five_minute_db,
        [(0, "AAA", "24/7", t("2025-01-06 10:05"))],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=-1,
        k_hi=0,
    )
    assert first[(0, -1)] == (None, None)  # 10:00: no bar has closed yet
    assert first[(0, 0)][0] == 100.0  # 10:05: the first bar just closed
    last = align(
        five_minute_db,
        [(0, "AAA", "24/7", t("2025-01-06 11:05"))],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=0,
        k_hi=3,
    )
    # The last bar (11:00) closes 11:05; then it ages: fresh for 2 missing bars, stale after.
    assert [last[(0, k)][0] for k in range(4)] == [112.0, 112.0, 112.0, None]


def test_instrument_without_data_gives_no_prices(five_minute_db):
    got = align(
        five_minute_db,
        [(0, "ZZZ", "24/7", t("2025-01-06 10:30"))],
        step_us=STEP_5M,
        timeframe="5m",
        k_lo=-1,
        k_hi=1,
    )
    assert set(got.values()) == {(None, None)}
    with store.reader(five_minute_db) as con:
        result = run_study(
            con,
            StudySpec(
                events=pl.DataFrame({"event_id": ["e"], "event_at": [t("2025-01-06 10:50")]}),
                instruments=("AAA", "ZZZ"),
                timeframe="5m",
                window=(0, 2),
                estimation=(-8, -1),
                min_estimation=3,
            ),
        )
        leftover = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    assert set(result.car["instrument_id"]) == {"AAA"}
    assert any("ZZZ" in note for note in result.notes)
    assert leftover == []  # the study's temp tables do not outlive it on the caller's connection


@pytest.fixture
def futures_db(db_path: Path) -> Path:
    # CME Globex (January, CST = UTC−6): closes Friday 22:00 UTC, reopens Sunday 23:00 UTC.
    friday = [t("2025-01-10 18:00") + i * HOUR for i in range(4)]  # 18:00 … 21:00 opens
    sunday = [t("2025-01-12 23:00") + i * HOUR for i in range(4)]  # 23:00 … 02:00 opens
    frame = pl.concat(
        [
            bars("GC", "1h", friday + sunday, [10.0, 11.0, 12.0, 13.0, 20.0, 21.0, 22.0, 23.0]),
            bars("CC", "1h", friday + sunday, [10.0, 11.0, 12.0, 13.0, 20.0, 21.0, 22.0, 23.0]),
        ]
    )
    load(
        db_path,
        frame,
        pl.DataFrame(
            {
                "instrument_id": ["GC", "CC"],
                "asset_class": ["commodity", "crypto"],
                "calendar": ["cme_globex", "24/7"],
                "exchange_tz": ["America/Chicago", "UTC"],
            }
        ),
    )
    return db_path


def test_futures_weekend_closed_hours_are_missing_but_the_anchor_is_fridays_close(futures_db):
    saturday = t("2025-01-11 12:00")
    got = align(
        futures_db,
        [(0, "GC", "cme_globex", saturday), (1, "CC", "24/7", saturday)],
        step_us=STEP_1H,
        timeframe="1h",
        k_lo=0,
        k_hi=1,
    )
    assert got[(0, 0)] == (13.0, None)  # the last price known before the news: Friday's close
    assert got[(0, 1)] == (None, None)  # market closed: no price
    assert got[(1, 0)] == (None, None)  # the same bars on a 24/7 calendar are simply stale


def test_futures_reopen_return_spans_the_weekend(futures_db):
    sunday = t("2025-01-12 23:30")
    got = align(
        futures_db,
        [(0, "GC", "cme_globex", sunday)],
        step_us=STEP_1H,
        timeframe="1h",
        k_lo=-1,
        k_hi=2,
    )
    assert got[(0, -1)] == (None, None)  # Sunday 22:30: still closed
    assert got[(0, 0)][0] == 13.0  # anchor: Friday's close (not stale in session time)
    assert got[(0, 1)][0] == 20.0  # 00:30: the 23:00 bar closed at 00:00
    assert got[(0, 1)][1] == pytest.approx(math.log(20 / 13))
    assert got[(0, 2)][0] == 21.0


def test_daily_weekend_event_maps_to_the_next_session(db_path: Path):
    days = [t("2025-01-06") + timedelta(days=i) for i in range(12)]
    trading = [d for d in days if d.weekday() < 5]
    closes = [100.0 * 1.01**i for i in range(len(trading))]
    load(db_path, bars("EQ", "1d", trading, closes))
    with store.reader(db_path) as con:
        result = run_study(
            con,
            StudySpec(
                events=pl.DataFrame({"event_id": ["sat"], "event_at": [t("2025-01-11 15:00")]}),
                instruments=("EQ",),
                timeframe="1d",
                window=(0, 1),
                estimation=(-4, -1),
                min_estimation=3,
            ),
        )
    ar = result.ar.sort("offset")
    assert ar["ts"].dt.date().to_list() == [t("2025-01-13").date(), t("2025-01-14").date()]
    assert ar["ret"].to_list() == pytest.approx([math.log(1.01)] * 2)
    assert ar["ar"].to_list() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_fast_path_and_full_rule_give_the_same_rows(five_minute_db):
    """Targets whose series and benchmark series are complete take the fast path; every row
    (price, return, benchmark return) equals the full as-of rule's."""
    opens = [t("2025-01-06 10:00") + i * FIVE for i in range(13)]
    load(five_minute_db, bars("BBB", "5m", opens, [200.0 + 2 * i for i in range(13)]))
    off_grid = [t("2025-01-06 10:01") + i * FIVE for i in range(12)]  # 1 minute off the grid
    load(five_minute_db, bars("OFF", "5m", off_grid, [50.0 + i for i in range(12)]))
    at = {"10:30": t("2025-01-06 10:30"), "10:50": t("2025-01-06 10:50")}
    pairs = pl.DataFrame(
        [
            (0, "AAA", at["10:30"], 10, True),  # target and benchmark complete: fast
            (6, "BBB", at["10:30"], 10, True),  # shares benchmark pair 10: fast
            (5, "AAA", t("2025-01-06 10:32:30"), None, True),  # mid-bar, no benchmark: fast
            (1, "AAA", at["10:50"], 11, True),  # the 10:40/10:45 gap in the target: full rule
            (2, "BBB", at["10:50"], 12, True),  # the gap in its benchmark: full rule
            (3, "OFF", at["10:30"], None, True),  # bars off the grid: full rule
            (4, "ZZZ", at["10:30"], None, True),  # no data: full rule
            (10, "BBB", at["10:30"], None, False),
            (11, "BBB", at["10:50"], None, False),
            (12, "AAA", at["10:50"], None, False),
        ],
        schema={
            "pair_id": pl.Int64,
            "instrument_id": pl.Utf8,
            "t0": pl.Datetime("us", "UTC"),
            "bench_pair_id": pl.Int64,
            "is_target": pl.Boolean,
        },  # fmt: skip
        orient="row",
    ).with_columns(pl.lit("24/7").alias("calendar"))
    binds = {"timeframe": "5m", "step_us": STEP_5M, "k_lo": -3, "k_hi": 2, "stale": 2,
             "l1": -2, "l2": -1, "t1": 0, "t2": 2}  # fmt: skip
    auto = _paired(five_minute_db, pairs, binds, full_rule=False)
    full = _paired(five_minute_db, pairs, binds, full_rule=True)
    assert auto.keys() == full.keys() == {(p, k) for p in range(7) for k in range(-2, 3)}
    for key, want in full.items():
        for got_value, want_value in zip(auto[key], want, strict=True):
            if want_value is None:
                assert got_value is None, key
            else:
                assert got_value == pytest.approx(want_value, rel=1e-12), key
    # spot values: AAA at 10:30, k = 1 → the 10:30 bar (106) over the 10:25 bar (105);
    # its benchmark BBB over the same bars: 212 / 210
    assert auto[(0, 1)][1] == pytest.approx(math.log(106 / 105))
    assert auto[(0, 1)][2] == pytest.approx(math.log(212 / 210))
    assert auto[(5, 0)][0] == 105.0  # mid-bar: the last closed bar


# ---------------------------------------------------------------------------- sessions


def session_grid(
    db: Path,
    instrument: str,
    calendar: str,
    t0: datetime,
    *,
    k: tuple[int, int],
    estimation: tuple[int, int],
    event: tuple[int, int],
    stale: int = 2,
) -> dict[int, tuple]:
    """One pair through the full rule on 1h bars: k → (price, ret, reopen_at)."""
    pairs = pl.DataFrame(
        [(0, instrument, calendar, t0, None, True)],
        schema={
            "pair_id": pl.Int64,
            "instrument_id": pl.Utf8,
            "calendar": pl.Utf8,
            "t0": pl.Datetime("us", "UTC"),
            "bench_pair_id": pl.Int64,
            "is_target": pl.Boolean,
        },  # fmt: skip
        orient="row",
    )
    binds = {"timeframe": "1h", "step_us": STEP_1H, "k_lo": k[0], "k_hi": k[1], "stale": stale,
             "l1": estimation[0], "l2": estimation[1], "t1": event[0], "t2": event[1]}  # fmt: skip
    rows = _paired(db, pairs, binds, full_rule=False)
    return {kk: (price, ret, reopen) for (_p, kk), (price, ret, _m, reopen) in rows.items()}


@pytest.fixture
def cme_break_db(db_path: Path) -> Path:
    # Tuesday 26 May 2026, CDT: CME Globex pauses 16:00–17:00 Chicago = 21:00–22:00 UTC.
    opens = [t("2026-05-26 17:00") + i * HOUR for i in range(4)]  # 17:00 … 20:00 UTC
    opens += [t("2026-05-26 22:00"), t("2026-05-26 23:00")]  # no 21:00 bar: closed
    load(db_path, bars("GC", "1h", opens, [10.0, 11.0, 12.0, 13.0, 20.0, 21.0]))
    return db_path


def test_closed_market_is_tested_at_the_grid_instant(cme_break_db):
    got = session_grid(
        cme_break_db, "GC", "cme_globex", t("2026-05-26 19:25"),
        k=(0, 4), estimation=(0, 4), event=(5, 5),
    )  # fmt: skip
    # 19:25 → the 18:00 bar (closed 19:00); 20:25 → the 19:00 bar.
    assert got[0][0] == 11.0 and got[1][:2] == (12.0, pytest.approx(math.log(12 / 11)))
    # 21:25: CME is closed at the instant itself → no price, although the 20:00 bar closed at
    # 21:00 and nothing is missing (the old test looked at 20:25, the newest bar's open).
    assert got[2] == (None, None, None)
    # 22:25: open again; the 21:00 slot was closed, so the 20:00 bar's close is fresh.
    assert got[3] == (13.0, None, None)  # its return needs the closed 21:25 price
    assert got[4][:2] == (20.0, pytest.approx(math.log(20 / 13)))


def test_event_window_reaction_across_a_break_is_measured_at_the_first_bar_after_it(cme_break_db):
    got = session_grid(
        cme_break_db, "GC", "cme_globex", t("2026-05-26 19:25"),
        k=(0, 4), estimation=(0, 0), event=(1, 4),
    )  # fmt: skip
    assert got[2] == (None, None, None)  # 21:25 closed
    # 22:25: open, but no bar of the new session has closed yet: not a reaction.
    assert got[3] == (None, None, None)
    # 23:25: the 22:00 bar (20) against the last price before the break (20:25 → 12).
    assert got[4] == (20.0, pytest.approx(math.log(20 / 12)), t("2026-05-26 22:00"))


@pytest.fixture
def memorial_day_db(db_path: Path) -> Path:
    # Yahoo-style hourly bars around US Memorial Day, Monday 25 May 2026.
    cme = [t("2026-05-22 18:00"), t("2026-05-22 19:00"), t("2026-05-22 20:00")]
    cme += [t("2026-05-26 04:00"), t("2026-05-26 05:00")]  # nothing from Fri 21:00 to Tue 04:00
    nyse = [t("2026-05-22 18:00"), t("2026-05-22 19:00")]  # the last two bars of Friday
    nyse += [t("2026-05-26 14:00"), t("2026-05-26 15:00")]  # Tuesday 10:00 and 11:00 New York
    load(
        db_path,
        pl.concat(
            [
                bars("WTI", "1h", cme, [10.0, 11.0, 12.0, 20.0, 21.0]),
                bars("EQ", "1h", nyse, [50.0, 51.0, 55.0, 56.0]),
            ]
        ),
    )
    return db_path


def test_a_price_carried_across_open_hours_without_bars_is_stale(memorial_day_db):
    # CME trades on Memorial Day until 13:30 CT (18:30 UTC) and reopens at 22:00 UTC, so from
    # Friday's last bar to Tuesday 02:00 more than 2 open-market slots lack a bar.
    got = session_grid(
        memorial_day_db, "WTI", "cme_globex", t("2026-05-26 03:00"),
        k=(0, 3), estimation=(0, 3), event=(4, 4),
    )  # fmt: skip
    assert got[0][0] is None  # Tue 03:00: priced by Friday's close only → stale
    assert got[1][0] is None  # 04:00: the 03:00 slot is empty too
    assert got[2][0] == 20.0  # 05:00: the 04:00 bar
    assert got[3][:2] == (21.0, pytest.approx(math.log(21 / 20)))


def test_a_closed_holiday_is_not_missing(memorial_day_db):
    # NYSE is shut all Memorial Day: at Tuesday 14:00 UTC nothing is missing since Friday's
    # 19:00 bar (the open slots 20:00 Fri … 13:00 Tue are none), so the anchor is fresh.
    got = session_grid(
        memorial_day_db, "EQ", "nyse", t("2026-05-26 14:00"),
        k=(0, 1), estimation=(0, 1), event=(2, 2),
    )  # fmt: skip
    assert got[0][0] == 51.0
    assert got[1][:2] == (55.0, pytest.approx(math.log(55 / 51)))


def test_an_event_on_a_holiday_is_measured_at_the_reopen(memorial_day_db):
    # News at Monday 15:00 UTC, NYSE closed: anchor = Friday's close; offsets 1 … 22 (Monday
    # 16:00 … Tuesday 13:00 UTC) closed; 23 (14:00) open since 13:30 but with no bar of the
    # session closed yet; 24 (15:00) priced by the 14:00 bar: the reaction at reopen.
    got = session_grid(
        memorial_day_db, "EQ", "nyse", t("2026-05-25 15:00"),
        k=(0, 25), estimation=(0, 0), event=(1, 25),
    )  # fmt: skip
    assert got[0][0] == 51.0
    assert all(got[k] == (None, None, None) for k in range(1, 24))
    assert got[24] == (55.0, pytest.approx(math.log(55 / 51)), t("2026-05-26 13:30"))
    assert got[25] == (56.0, pytest.approx(math.log(56 / 55)), None)
    assert study.reopen_label(got[24][2]) == "at reopen, Tue 13:30 UTC"


def test_a_weekend_event_reacts_at_the_sunday_reopen_in_the_study(db_path: Path):
    # A Sunday-noon announcement; CME reopens Sunday 17:00 CDT = 22:00 UTC. The study's event
    # window shows no price while closed and the reaction at the first bar after the reopen.
    week = [t("2026-05-25 22:00") + i * HOUR for i in range(24 * 5)]
    opens = [ts for ts in week if ts < t("2026-05-29 21:00") and ts.hour != 21]
    opens += [t("2026-05-31 22:00"), t("2026-05-31 23:00"), t("2026-06-01 00:00")]
    closes = [100.0 + 0.1 * (i % 7) for i in range(len(opens) - 3)] + [110.0, 111.0, 112.0]
    load(db_path, bars("WTI", "1h", opens, closes),
         pl.DataFrame({"instrument_id": ["WTI"], "asset_class": ["commodity"],
                       "calendar": ["cme_globex"], "exchange_tz": ["America/Chicago"]}))  # fmt: skip
    with store.reader(db_path) as con:
        result = run_study(
            con,
            StudySpec(
                events=pl.DataFrame({"event_id": ["opec"], "event_at": [t("2026-05-31 12:00")]}),
                instruments=("WTI",),
                timeframe="1h",
                model="constant",
                window=(1, 12),
                estimation=(-100, -50),  # Wednesday 08:00 … Friday 10:00 UTC: open hours
                min_estimation=5,
            ),
        )
    ar = result.ar.sort("offset")
    friday_close = closes[len(opens) - 4]
    # offsets 1 … 9 (13:00 … 21:00 UTC) closed; 10 (22:00) open but no bar of the session has
    # closed; 11 (23:00) is priced by the 22:00 bar (110) and measured from Friday's close.
    assert ar.filter(pl.col("offset") <= 10)["ret"].null_count() == 10
    reopen = ar.filter(pl.col("offset") == 11).row(0, named=True)
    assert reopen["ret"] == pytest.approx(math.log(110.0 / friday_close))
    assert reopen["reopen_at"] == t("2026-05-31 22:00")
    after = ar.filter(pl.col("offset") == 12).row(0, named=True)
    assert after["ret"] == pytest.approx(math.log(111.0 / 110.0)) and after["reopen_at"] is None
    assert any("offset 11 is the reaction at reopen, Sun 22:00 UTC" in n for n in result.notes)
    car = result.car.row(0, named=True)
    assert car["n_valid"] == 2 and car["n_window"] == 12
    # the CAR is the whole move from the last price before the news to Monday 00:00
    assert car["car"] == pytest.approx(math.log(111.0 / friday_close) - 2 * reopen["expected"])
    # Wednesday and Thursday each lose two returns to the 21:00 UTC break: 47 of 51
    assert "opec/WTI: 47 of 51 estimation and 2 of 12 event-window returns valid" in result.notes


def test_an_instrument_that_is_its_own_benchmark_is_left_out_with_the_reason(five_minute_db):
    opens = [t("2025-01-06 10:00") + i * FIVE for i in range(13)]
    load(five_minute_db, bars("BBB", "5m", opens, [200.0 + 2 * i + (i % 3) for i in range(13)]))
    with store.reader(five_minute_db) as con:
        spec = StudySpec(
            events=pl.DataFrame({"event_id": ["e"], "event_at": [t("2025-01-06 10:40")]}),
            instruments=("AAA", "BBB"),
            timeframe="5m",
            model="market",
            benchmark="BBB",
            window=(0, 2),
            estimation=(-7, -1),
            min_estimation=3,
        )
        result = run_study(con, spec)
        with pytest.raises(Exception, match="BBB cannot be studied by the market-model study"):
            run_study(con, replace(spec, instruments=("BBB",)))
    assert set(result.car["instrument_id"]) == {"AAA"}  # no CAR of exactly 0 with a z-score
    assert any("BBB: left out" in n and "its own benchmark" in n for n in result.notes)
