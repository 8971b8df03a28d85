"""A reader process for the concurrency soak: queries the database the way the dashboard does.

Run as `python tests/ops_reader.py DB SECONDS OUT_JSON [MODE]`. MODE `dashboard` (default):
each round opens a short-lived read-only connection through pipelines.store.reader (which
retries while a writer holds the file), runs dashboard-like queries, closes it. MODE `console`:
each round runs SQL-console queries through the sandbox (dashboard/sandbox.py). MODE `cli`:
each round runs `tickerwire sql`. Then it "thinks" for 50–250 ms like a person clicking.
Writes {mode, rounds, failures, errors, waits, query_seconds} to OUT_JSON.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipelines import store

# The instruments the soak's market server serves and the readers chart.
SYMBOLS = ["BTC", "ETH", "SOL", "XRP"]

QUERIES = (
    "select coalesce(max(run_id), 0) from ingest_runs",  # the cache key (data version)
    "select * from latest_quotes order by instrument_id",  # the ticker strip
    "select * from bar_coverage order by instrument_id, timeframe",  # data health
    # a candle chart: the last 6 hours of one instrument re-bucketed to 5 minutes
    """with src as (
           select ts, open, high, low, close, volume from bars
           where instrument_id = $instrument and timeframe = '1m'
             and ts >= (select max(ts) from bars where instrument_id = $instrument) - interval 6 hour
       )
       select time_bucket(interval 5 minute, ts) as t, arg_min(open, ts) as open, max(high) as high,
              min(low) as low, arg_max(close, ts) as close, sum(volume) as volume
       from src group by 1 order by 1""",
    """select source, status, started_at, n_stored, errors from ingest_runs
       qualify row_number() over (partition by source order by run_id desc) = 1""",
)


CONSOLE_QUERIES = (
    "select instrument_id, count(*) as n, max(ts) as last from bars group by 1 order by 1",
    "select source, status, finished_at - started_at as took from ingest_runs order by run_id desc limit 20",
)


def _dashboard_round(db: str, rng: random.Random) -> float:
    t0 = time.perf_counter()
    with store.reader(db, retries=12, base_delay=0.02, max_delay=0.5) as con:
        wait = time.perf_counter() - t0
        for sql in QUERIES:
            params = {"instrument": rng.choice(SYMBOLS)} if "$instrument" in sql else None
            store.query_frame(con, sql, params)
    return wait


def _console_round(db: str, rng: random.Random) -> float:
    from dashboard.sandbox import run_sandboxed

    t0 = time.perf_counter()
    for sql in CONSOLE_QUERIES:
        result = run_sandboxed(db, sql, timeout_s=20.0)
        if result.error:
            raise RuntimeError(f"console {result.kind}: {result.error}")
    return time.perf_counter() - t0


def _cli_round(db: str, rng: random.Random) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", db, "sql",
         "select count(*) as n from bars", "-f", "csv"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"tickerwire sql exit {proc.returncode}: {proc.stderr.strip()[:200]}")
    return time.perf_counter() - t0


ROUNDS = {"dashboard": _dashboard_round, "console": _console_round, "cli": _cli_round}


def main(db: str, seconds: float, out: str, mode: str = "dashboard") -> None:
    """Query until `seconds` have passed; record every wait for the connection and every failure."""
    rng = random.Random()
    waits: list[float] = []
    query_seconds: list[float] = []
    errors: list[str] = []
    rounds = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rounds += 1
        t0 = time.perf_counter()
        try:
            wait = ROUNDS[mode](db, rng)
            waits.append(wait)
            query_seconds.append(time.perf_counter() - t0 - wait)
        except Exception as exc:  # any failure is what the soak counts
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        time.sleep(rng.uniform(0.05, 0.25))
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "mode": mode,
                "rounds": rounds,
                "failures": len(errors),
                "errors": errors[:20],
                "waits": waits,
                "query_seconds": query_seconds,
            },
            fh,
        )


def spawn(
    db: Path,
    seconds: float,
    outs: Sequence[Path],
    *,
    env: Mapping[str, str],
    cwd: Path,
    modes: Sequence[str] | None = None,
) -> list[subprocess.Popen]:
    """Start one reader process per output file (each in its mode, default `dashboard`)."""
    script = Path(__file__).resolve()
    modes = modes or ["dashboard"] * len(outs)
    return [
        subprocess.Popen(
            [sys.executable, str(script), str(db), str(seconds), str(out), mode], env=env, cwd=cwd
        )
        for out, mode in zip(outs, modes, strict=True)
    ]


def collect(outs: Sequence[Path]) -> list[dict]:
    """The readers' reports, one dict per output file."""
    return [json.loads(Path(out).read_text()) for out in outs]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (nearest rank below) of values; NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3], *sys.argv[4:5])
