"""Property: on random gaps in CME and NYSE hourly bars (Memorial Day week 2026), random event
instants and staleness limits, the full intraday rule (in SQL, and the engine's array alignment)
gives exactly the rows of the independent numpy reading in tests/test_analytics_sessions_realdata.py."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipelines import calendars, store
from tests.test_analytics_align import _paired
from tests.test_analytics_sessions_realdata import expected_rows

HOUR = timedelta(hours=1)
SPAN = (datetime(2026, 5, 20, tzinfo=UTC), datetime(2026, 5, 29, tzinfo=UTC))
LIBRARY = {"cme_globex": "CMEGlobex_EnergyAndMetals", "nyse": "NYSE"}


def _open_hours(calendar: str) -> list[datetime]:
    hours = pl.datetime_range(*SPAN, "1h", closed="left", time_zone="UTC", eager=True)
    return hours.filter(calendars.in_session(calendar, hours)).to_list()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Found by hypothesis: an announcement after the NYSE close (Tue 17:00 New York) with the
# event window from k = −1 bridges k = −1 back to the last open hour; no reopen lies between.
@example(calendar="nyse", seed=0, drop=0.0, t0_minutes=9900, stale=0, event_from=-1)
@given(
    calendar=st.sampled_from(sorted(LIBRARY)),
    seed=st.integers(0, 2**32 - 1),
    drop=st.floats(0.0, 0.4),
    t0_minutes=st.integers(24 * 60 * 2, 24 * 60 * 7),
    stale=st.integers(0, 3),
    event_from=st.integers(-3, 2),
)
def test_full_rule_equals_the_numpy_reading(
    tmp_path, calendar, seed, drop, t0_minutes, stale, event_from
):
    rng = np.random.default_rng(seed)
    opens = [t for t in _open_hours(calendar) if rng.random() >= drop]
    closes = np.exp(np.cumsum(rng.normal(0, 0.01, len(opens))) + 4).tolist()
    frame = pl.DataFrame(
        {"ts": opens, "close": closes}, schema={"ts": pl.Datetime("us", "UTC"), "close": pl.Float64}
    )
    t0 = SPAN[0] + timedelta(minutes=t0_minutes)
    k_lo, l1, l2, t1, t2 = -25, -24, event_from - 1, event_from, 30
    db = Path(tempfile.mkdtemp(dir=tmp_path)) / "p.duckdb"  # one database per example
    with store.writer(db) as st_:
        st_.upsert(
            "bars",
            frame.with_columns(
                pl.lit("X").alias("instrument_id"),
                pl.lit("1h").alias("timeframe"),
                pl.lit("test").alias("source"),
            ),
        )
    pairs = pl.DataFrame(
        [(0, "X", calendar, t0, None, True)],
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
    binds = {"timeframe": "1h", "step_us": 3_600_000_000, "k_lo": k_lo, "k_hi": t2,
             "stale": stale, "l1": l1, "l2": l2, "t1": t1, "t2": t2}  # fmt: skip
    want = expected_rows(frame, LIBRARY[calendar], t0, stale, k_range=(k_lo, t2), event=(t1, t2))
    # the SQL statement of the rule and the engine's array alignment, each against the reading
    for full_rule in (True, False):
        got = _paired(db, pairs, binds, full_rule=full_rule)
        for (_pair, k), (price, ret, _mret, reopen) in got.items():
            w_price, w_ret, w_reopen = want[k]
            assert price == w_price, (full_rule, k, price, w_price)
            assert (ret is None) == (w_ret is None), (full_rule, k, ret, w_ret)
            if w_ret is not None:
                assert abs(ret - w_ret) <= 1e-12, (full_rule, k)
            got_reopen = None if reopen is None else int(reopen.timestamp() * 1_000_000)
            assert got_reopen == w_reopen, (full_rule, k)
        assert {k for _p, k in got} == set(range(l1, t2 + 1))
