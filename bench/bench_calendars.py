"""Trading calendars: what generating and reading the sessions costs.

`python bench/bench_calendars.py [--years 2010:2027]` prints
1. the time to generate every calendar's sessions with pandas_market_calendars (cold, in a fresh
   process's first call) and to write them into a new database (what migration 0050 adds);
2. `tw_in_session` over a month of minutes × 8 calendars against a baseline evaluated in the same
   run on the same rows: the weekly-hours arithmetic the macro used before (minute of week in the
   exchange zone compared with fixed ranges), which knew no holidays.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipelines import calendars, store

# The old macro's rule for one calendar, as a baseline of the same shape: NYSE 09:30–16:00 New
# York, Monday to Friday (minute of week in the zone against five ranges).
_WEEKLY_NYSE = (
    "(isodow(timezone('America/New_York', m)) between 1 and 5 and "
    "hour(timezone('America/New_York', m)) * 60 + minute(timezone('America/New_York', m)) "
    "between 570 and 959)"
)


def main() -> None:
    """Run the two measurements and print them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", default=None, help="e.g. 2010:2027 (default: migration's)")
    args = parser.parse_args()
    years = (
        tuple(int(y) for y in args.years.split(":")) if args.years else calendars.default_years()
    )
    t = time.perf_counter()
    frames = [calendars.generate(n, *years) for n in calendars.CALENDARS]
    gen_s = time.perf_counter() - t
    n_sessions = sum(f.height for f in frames)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "b.duckdb"
        t = time.perf_counter()
        with store.writer(db) as writer:
            migrate_s = time.perf_counter() - t
            con = writer.con
            con.execute(
                "create temp table minutes as select unnest(generate_series("
                "timestamptz '2026-05-01 00:00+00', timestamptz '2026-05-31 23:59+00', "
                "interval 1 minute)) as m"
            )
            names = [n for n in calendars.CALENDARS]
            con.execute("create temp table cals as select unnest($n) as c", {"n": names})
            rows = con.execute("select count(*) from minutes, cals").fetchone()[0]

            def timed(sql: str) -> float:
                best = float("inf")
                for _ in range(3):
                    t0 = time.perf_counter()
                    con.execute(sql).fetchall()
                    best = min(best, time.perf_counter() - t0)
                return best

            macro_s = timed(
                "select c, count(*) filter (where tw_in_session(c, m)) from minutes, cals group by c"
            )
            weekly_s = timed(
                f"select c, count(*) filter (where {_WEEKLY_NYSE}) from minutes, cals group by c"
            )
    print(f"generate {years[0]}–{years[1]}: {n_sessions:,} sessions in {gen_s:.2f} s (cold)")
    print(f"new database with migration 0050 (cached sessions): {migrate_s:.2f} s")
    print(
        f"tw_in_session: {rows:,} evaluations in {macro_s:.3f} s; weekly-hours arithmetic "
        f"{weekly_s:.3f} s; ratio {macro_s / weekly_s:.2f}"
    )


if __name__ == "__main__":
    main()
