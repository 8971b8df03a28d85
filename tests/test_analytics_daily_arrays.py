"""The daily array path (pipelines/analytics/daily_arrays.py) against an independent per-pair
reading of the trading-day rule written here (stdlib zoneinfo dates, plain loops, textbook OLS),
and its grid rows against the rule's SQL statement (study_align_daily.sql + study_paired.sql):
missing days, weekend/holiday events, exchange time zones, offset and date windows, models."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import store
from pipelines.analytics.daily_arrays import daily_rows
from pipelines.analytics.geometry import Geometry
from tests.sql_oracle import PAIRS_SCHEMA, create_temp

START = datetime(2025, 1, 1, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Asia/Tokyo")


@dataclass(frozen=True)
class Case:
    """A small store: instruments' daily bars, and pairs (targets plus a benchmark per event)."""

    bars: dict[str, list[tuple[datetime, float]]]
    zones: dict[str, str]
    events: list[datetime]
    targets: list[str]
    geometry: Geometry
    model: str


def _offsets(l1: int, l2: int, t1: int, t2: int) -> Geometry:
    return Geometry("1d", 86_400_000_000, True, False, l1, l2, t1, t2, None, None)


def _dates(ld: tuple[date, date], td: tuple[date, date]) -> Geometry:
    return Geometry("1d", 86_400_000_000, True, True, 0, 0, 0, 0, ld, td)


@st.composite
def cases(draw, dated: bool = False) -> Case:
    n_days = 40
    names = ["MKT", "A", "B"]
    bars, zones = {}, {}
    for name in names:
        hour = draw(st.sampled_from([0, 5, 14, 21]))
        # trading days: a random subset of calendar days (weekends, holidays, missing days)
        kept = draw(st.lists(st.booleans(), min_size=n_days, max_size=n_days))
        closes = draw(
            st.lists(st.floats(1.0, 200.0), min_size=n_days, max_size=n_days)
        )  # fmt: skip
        bars[name] = [
            (START + timedelta(days=d, hours=hour), closes[d]) for d in range(n_days) if kept[d]
        ]
        zones[name] = draw(st.sampled_from(ZONES))
    events = draw(
        st.lists(
            st.integers(0, (n_days - 1) * 24).map(lambda h: START + timedelta(hours=h)),
            min_size=1,
            max_size=3,
        )
    )
    if dated:
        d = [START.date() + timedelta(days=draw(st.integers(0, n_days))) for _ in range(4)]
        d.sort()
        geometry = _dates((d[0], d[1]), (d[2], d[3]))
    else:
        l1 = draw(st.integers(-12, -3))
        l2 = draw(st.integers(l1, -1))
        t1 = draw(st.integers(l2 - 2, 1))  # may overlap the estimation window
        t2 = draw(st.integers(max(t1, 0), 4))
        geometry = _offsets(l1, l2, t1, t2)
    model = draw(st.sampled_from(["market", "constant", "market-adjusted"]))
    return Case(bars, zones, events, ["A", "B"], geometry, model)


def _pairs(case: Case) -> pl.DataFrame:
    rows = []
    for e, t0 in enumerate(case.events):
        bench_id = 100 + e
        for j, name in enumerate(case.targets):
            rows.append((10 * e + j, name, t0, bench_id, True))
        rows.append((bench_id, "MKT", t0, None, False))
    return pl.DataFrame(rows, schema=PAIRS_SCHEMA, orient="row").with_columns(
        pl.lit("24/7").alias("calendar"),
        pl.col("instrument_id").replace_strict(case.zones).alias("exchange_tz"),
    )


def _connection(case: Case) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table bars (instrument_id varchar, timeframe varchar, ts timestamptz, close double)"
    )
    rows = [(name, "1d", ts, c) for name, series in case.bars.items() for ts, c in series]
    if rows:
        con.executemany("insert into bars values (?, ?, ?, ?)", rows)
    return con


# ---------------------------------------------------------------- the rule, read independently


def _roles(case: Case, k: int, day: date) -> str | None:
    g = case.geometry
    if g.dates:
        if g.ld[0] <= day <= g.ld[1]:
            return "estimation"
        return "event" if g.td[0] <= day <= g.td[1] else None
    if g.l1 <= k <= g.l2:
        return "estimation"
    return "event" if g.t1 <= k <= g.t2 else None


def _grid(case: Case, name: str, t0: datetime) -> list[dict]:
    """One pair's trading-day rows: k, ts, price, return, role (every bar of its span)."""
    zone = ZoneInfo(case.zones[name])
    series = case.bars[name]
    days = [ts.astimezone(zone).date() for ts, _ in series]
    event_day = t0.astimezone(zone).date()
    day0 = next((i for i, d in enumerate(days) if d >= event_day), None)
    if day0 is None:
        return []
    g = case.geometry
    out = []
    for i, (ts, close) in enumerate(series):
        k = i - day0
        if g.dates:
            lo, hi = min(g.ld[0], g.td[0]), max(g.ld[1], g.td[1])
            if not lo <= days[i] <= hi:
                continue
        elif not g.k_lo <= k <= g.k_hi:
            continue
        ret = math.log(close) - math.log(series[i - 1][1]) if i > 0 else None
        out.append({"k": k, "ts": ts, "price": close, "ret": ret, "role": _roles(case, k, days[i])})
    return out


def _ols(xs: list[float], ys: list[float]) -> tuple[float, float] | tuple[None, None]:
    n = len(xs)
    if n < 2:
        return None, None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None, None
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - beta * mx, beta


def expected_study(case: Case) -> tuple[dict, dict, dict]:
    """(pair, k) → event row, pair → fit, (pair, k) → estimation AR, by the rule."""
    events, fits, est_ar = {}, {}, {}
    for e, t0 in enumerate(case.events):
        bench = _grid(case, "MKT", t0)
        m_at = {r["ts"]: r["ret"] for r in bench}
        m_est = [r["ret"] for r in bench if r["role"] == "estimation" and r["ret"] is not None]
        for j, name in enumerate(case.targets):
            pid = 10 * e + j
            rows = [{**r, "mret": m_at.get(r["ts"])} for r in _grid(case, name, t0) if r["role"]]
            est = [r for r in rows if r["role"] == "estimation"]
            if case.model == "constant":
                rets = [r["ret"] for r in est if r["ret"] is not None]
                alpha, beta, n = (sum(rets) / len(rets) if rets else None), 0.0, len(rets)
            else:
                both = [r for r in est if r["ret"] is not None and r["mret"] is not None]
                n = len(both)
                if case.model == "market":
                    alpha, beta = _ols([r["mret"] for r in both], [r["ret"] for r in both])
                else:
                    alpha, beta = 0.0, 1.0
            for r in rows:
                if case.model == "constant":
                    r["expected"] = alpha
                elif alpha is None or r["mret"] is None:
                    r["expected"] = None
                else:
                    r["expected"] = alpha + beta * r["mret"]
                both_known = r["expected"] is not None and r["ret"] is not None
                r["ar"] = r["ret"] - r["expected"] if both_known else None
            ars = [r["ar"] for r in est if r["ar"] is not None]
            mean_m = sum(m_est) / len(m_est) if m_est else None
            fits[pid] = {
                "n_estimation": n if est else None,
                "alpha": alpha,
                "beta": beta,
                "sigma": statistics.stdev(ars) if len(ars) > 1 else None,
                "m_mean": mean_m,
                "m_sxx": sum((m - mean_m) ** 2 for m in m_est) if m_est else None,
            }
            for r in rows:
                if r["role"] == "event":
                    events[(pid, r["k"])] = r
                else:
                    est_ar[(pid, r["k"])] = r["ar"]
    return events, fits, est_ar


def _close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check(case: Case) -> None:
    con = _connection(case)
    rows = daily_rows(con, _pairs(case), case.geometry, case.model)
    events, fits, est_ar = expected_study(case)
    got_events = {(r["pair_id"], r["k"]): r for r in rows.event.iter_rows(named=True)}
    assert set(got_events) == set(events)
    for key, want in events.items():
        got = got_events[key]
        assert got["grid_at"] == want["ts"], key
        for column in ("price", "ret", "mret", "expected", "ar"):
            assert _close(got[column], want[column]), (key, column, got[column], want[column])
        assert got["reopen_at"] is None
    got_fits = {r["pair_id"]: r for r in rows.params.iter_rows(named=True)}
    assert set(got_fits) == set(fits)
    for pid, want in fits.items():
        got = got_fits[pid]
        assert got["n_estimation"] == want["n_estimation"], pid
        for column in ("sigma", "m_mean", "m_sxx"):
            assert _close(got[column], want[column]), (pid, column, got[column], want[column])
        if case.model == "market" and want["alpha"] is not None and got["sigma"] is not None:
            assert _close(got["alpha"], want["alpha"], 1e-7), pid
            assert _close(got["beta"], want["beta"], 1e-7), pid
    col = {pid: j for j, pid in enumerate(rows.params["pair_id"].to_list())}
    got_est = {
        (pid, int(k)): rows.est_ar[i, col[pid]]
        for pid in col
        for i, k in enumerate(rows.est_k)
        if not math.isnan(rows.est_ar[i, col[pid]])
    }
    want_est = {key: v for key, v in est_ar.items() if v is not None}
    assert set(got_est) == set(want_est)
    for key, v in want_est.items():
        assert _close(got_est[key], v), key


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip


@SETTINGS
@given(cases())
def test_offset_windows_follow_the_rule(case: Case):
    check(case)


@SETTINGS
@given(cases(dated=True))
def test_date_windows_follow_the_rule(case: Case):
    check(case)


@settings(max_examples=40, deadline=None)
@given(st.one_of(cases(), cases(dated=True)))
def test_grid_rows_equal_the_sql_statement(case: Case):
    """Price, return and benchmark return of every target row equal study_align_daily.sql +
    study_paired.sql's (the rule's statement in SQL)."""
    con = _connection(case)
    pairs = _pairs(case)
    rows = daily_rows(con, pairs, case.geometry, case.model)
    got = {
        (r["pair_id"], r["k"]): (r["price"], r["ret"], r["mret"])
        for r in rows.event.iter_rows(named=True)
    }
    col = {pid: j for j, pid in enumerate(rows.params["pair_id"].to_list())}
    con.register("_pairs", pairs.to_arrow())
    con.execute("create temp table study_pairs as select * from _pairs")
    create_temp(con, "study_aligned", store.load_sql("study_align_daily"), case.geometry.binds())
    create_temp(con, "study_paired", store.load_sql("study_paired"), {})
    sql = store.query_frame(con, "select pair_id, k, role, price, ret, mret from study_paired")
    want_event = {
        (r[0], r[1]): tuple(r[3:]) for r in sql.iter_rows() if r[2] == "event"
    }  # fmt: skip
    assert set(got) == set(want_event)
    for key, want in want_event.items():
        assert all(_close(a, b, 1e-12) for a, b in zip(got[key], want, strict=True)), key
    est_keys = {(r[0], r[1]) for r in sql.iter_rows() if r[2] == "estimation"}
    for pid, k in est_keys:  # every estimation row the SQL has lies on the array's offsets
        assert k in set(rows.est_k.tolist()) and pid in col


def test_a_holiday_event_is_measured_on_the_next_session():
    """A Saturday event in Tokyo time, bars only on weekdays: offset 0 is Monday's bar."""
    weekdays = [d for d in range(21) if (START + timedelta(days=d)).weekday() < 5]
    case = Case(
        bars={
            n: [(START + timedelta(days=d, hours=6), 100.0 + d + i) for d in weekdays]
            for i, n in enumerate(("MKT", "A", "B"))
        },
        zones={"MKT": "Asia/Tokyo", "A": "Asia/Tokyo", "B": "Asia/Tokyo"},
        events=[datetime(2025, 1, 17, 16, tzinfo=UTC)],  # Sat 01:00 in Tokyo
        targets=["A", "B"],
        geometry=_offsets(-5, -2, 0, 1),
        model="market",
    )
    rows = daily_rows(_connection(case), _pairs(case), case.geometry, case.model)
    first = rows.event.filter(pl.col("pair_id") == 0, pl.col("k") == 0)
    assert first["grid_at"].to_list() == [datetime(2025, 1, 20, 6, tzinfo=UTC)]  # Monday
    check(case)


@pytest.mark.parametrize("model", ["market", "constant"])
def test_an_instrument_without_bars_gives_no_rows_and_no_fit(model: str):
    case = Case(
        bars={"MKT": [(START + timedelta(days=d), 10.0 + d) for d in range(10)], "A": [], "B": []},
        zones={"MKT": "UTC", "A": "UTC", "B": "UTC"},
        events=[START + timedelta(days=6)],
        targets=["A", "B"],
        geometry=_offsets(-4, -2, 0, 1),
        model=model,
    )
    rows = daily_rows(_connection(case), _pairs(case), case.geometry, case.model)
    assert rows.event.height == 0
    assert rows.params["n_estimation"].to_list() == [None, None]
    assert rows.est_ar.shape[1] == 2
