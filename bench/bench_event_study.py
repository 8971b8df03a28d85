"""Event-study benchmark: the engine (pipelines.analytics.run_study) against baselines, same run.

Workloads (seeded synthetic data, generated and stored untimed):

  intraday  20 instruments × 1-minute bars × 365 days (10,512,000 bars); 1,000 events, each
            linked to one of the 19 non-benchmark instruments (plus the benchmark pair per event);
            window −60…+240 bars, estimation 1,440 bars (−1500…−61), market model on MKT,
            every statistic, two CAR windows.
  daily     21 series (MKT + 20 securities) × 3,650 days of daily bars (24/7 calendar, so calendar
            days = trading days for every tool); 500 events × 20 instruments = 10,000 pairs;
            market model, window −10…+10, estimation 250 days with a 10-day buffer (−270…−21).
            Generated, timed and compared in daily_peers.py.

Timed, each in a fresh subprocess (wall time; peak memory = peak RSS of that process); the
intraday engine and floor run --repeat times (default 3), interleaved, and the medians count:

  engine    run_study on the intraday workload (read-only connection, the CLI path)
  floor     one DuckDB scan of the columns the study reads (instrument_id, timeframe, ts, close)
  pandas    a straightforward pandas per-event loop (as-of via searchsorted, OLS with numpy), on
            --pandas-events events, extrapolated linearly to 1,000; CARs checked against the engine
  eventstudy / easyeventstudies (PyPI, `bench` extra): on the daily workload; eventstudy on all
            10,000 pairs (or --peer-pairs), interleaved with the engine --repeat times;
            easyeventstudies on --easy-pairs (300, 0 skips it) extrapolated linearly; CARs
            checked against the engine on the same pairs
  small     one event, every instrument, ±1 day of bars (the dashboard's study), on the intraday
            database and on the bundled sample: first call in a fresh process and warm
  before    with --before DIR, the engine of that checkout on the same workloads, interleaved
  scaling   the engine at --sizes (default 1M / 3M / 10M / 30M) bars, events ∝ rows (≈95 per 1M)

    .venv/bin/python bench/bench_event_study.py            # everything (the published figures)
    .venv/bin/python bench/bench_event_study.py --quick    # 1M-bar intraday, small peers, no scaling
    .venv/bin/python bench/bench_event_study.py --only daily --easy-pairs 0   # daily vs eventstudy
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daily_peers import (  # noqa: E402
    compare,
    line,
    median_run,
    run_daily,
    task_easyeventstudies,
    task_eventstudy,
)
from study_cases import SMALL_1M, SMALL_5M, measure_in, sample_db, task_small  # noqa: E402

from pipelines import store  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
MINUTES_PER_YEAR = 365 * 1440
WINDOW = (-60, 240)
ESTIMATION = (-1500, -61)
CARS = ((0, 60), (0, 240))


# ---------------------------------------------------------------------------- data


def make_intraday(db: Path, n_instruments: int, n_minutes: int, n_events: int, seed: int) -> None:
    """Minute bars: MKT a random walk, S01… = β·MKT + noise; events at random minutes."""
    rng = np.random.default_rng(seed)
    ts = np.datetime64(START.replace(tzinfo=None), "us") + np.arange(n_minutes) * np.timedelta64(
        60, "s"
    )
    market = rng.normal(0, 0.0008, n_minutes)
    with store.writer(db) as writer:
        con = writer.con
        for i in range(n_instruments):
            name = "MKT" if i == 0 else f"S{i:02d}"
            beta = 0.0 if i == 0 else rng.uniform(0.5, 1.5)
            rets = market if i == 0 else beta * market + rng.normal(0, 0.001, n_minutes)
            frame = pl.DataFrame(
                {
                    "instrument_id": name,
                    "timeframe": "1m",
                    "ts": pl.Series(ts).dt.replace_time_zone("UTC"),
                    "close": np.exp(np.log(100.0) + np.cumsum(rets)),
                    "source": "bench",
                }
            )
            con.register("_bars_in", frame.to_arrow())
            con.execute(
                "insert into bars (instrument_id, timeframe, ts, close, source) "
                "select instrument_id, timeframe, ts, close, source from _bars_in"
            )
            con.unregister("_bars_in")
        lo, hi = -ESTIMATION[0] + 10, n_minutes - WINDOW[1] - 10
        minutes = np.sort(rng.choice(np.arange(lo, hi), size=n_events, replace=False))
        events = pl.DataFrame(
            {
                "event_id": [f"E{i:05d}" for i in range(n_events)],
                "title": "synthetic",
                "event_at": [
                    START + timedelta(minutes=int(m), seconds=int(s))
                    for m, s in zip(minutes, rng.integers(0, 60, n_events), strict=True)
                ],
                "category": "bench",
            }
        )
        links = pl.DataFrame(
            {
                "event_id": events["event_id"],
                "instrument_id": [f"S{1 + i % (n_instruments - 1):02d}" for i in range(n_events)],
            }
        )
        writer.upsert("events", events)
        writer.upsert("event_instruments", links)
        writer.upsert(
            "instruments",
            pl.DataFrame(
                {
                    "instrument_id": ["MKT"] + [f"S{i:02d}" for i in range(1, n_instruments)],
                    "asset_class": "equity",
                    "calendar": "24/7",
                }
            ),
        )


# ---------------------------------------------------------------------------- timed pieces


def _child(task: str, args: dict, queue: mp.Queue) -> None:
    """Run one timed task in this fresh process; report wall time, peak RSS and a payload."""
    import importlib

    # Imports are not part of any tool's time.
    for module in IMPORTS.get(task, ()):
        importlib.import_module(module)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        payload = TASKS[task](**args)
    except Exception as exc:  # reported to the parent, which decides
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "wall": wall,
            "cpu": cpu,
            "peak_mb": peak / 1024,
            "base_mb": base / 1024,
            "payload": payload,
        }
    )


def measure(task: str, **args) -> dict:
    """Wall time and peak memory of `task` in a fresh spawned process."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(task, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise RuntimeError(f"{task}: {result['error']}")
    return result


def task_engine(
    db: str,
    category: str,
    model: str,
    benchmark: str,
    timeframe: str,
    window,
    estimation,
    cars,
    instruments=None,
) -> dict:
    from pipelines.analytics import StudySpec, run_study

    with store.reader(db) as con:
        result = run_study(
            con,
            StudySpec(
                category=category,
                instruments=tuple(instruments) if instruments else None,
                timeframe=timeframe,
                window=tuple(window),
                estimation=tuple(estimation),
                model=model,
                benchmark=benchmark,
                car_windows=tuple(tuple(c) for c in cars),
            ),
        )
    car = result.car.filter(pl.col("car_from") == cars[-1][0], pl.col("car_to") == cars[-1][1])
    return {
        "pairs": car.height,
        "ar_rows": result.ar.height,
        "summary_rows": result.summary.height,
        "car": {
            f"{e}|{i}": c for e, i, c in car.select("event_id", "instrument_id", "car").iter_rows()
        },
    }


def task_floor(db: str) -> dict:
    with store.reader(db) as con:
        row = con.execute(
            "select count(*), sum(close), max(ts), count(distinct instrument_id) from bars where timeframe = '1m'"
        ).fetchall()[0]
    return {"rows": row[0]}


def task_pandas(db: str, n_events: int) -> dict:
    """The straightforward way: per event, pull the series, as-of align, OLS, AR, CAR."""
    import pandas as pd

    with store.reader(db) as con:
        events = con.execute(
            "select e.event_id, e.event_at, l.instrument_id from events e join event_instruments l using (event_id) "
            "where e.category = 'bench' order by e.event_at limit ?",
            [n_events],
        ).df()
        out = {}
        step = pd.Timedelta(minutes=1)
        for ev in events.itertuples():
            t0 = pd.Timestamp(ev.event_at)
            lo = t0 + (ESTIMATION[0] - 3) * step
            hi = t0 + (WINDOW[1] + 1) * step
            series = {}
            for name in (ev.instrument_id, "MKT"):
                bars = con.execute(
                    "select ts, close from bars where instrument_id = ? and timeframe = '1m' and ts between ? and ? order by ts",
                    [name, lo.to_pydatetime(), hi.to_pydatetime()],
                ).df()
                # as-of: the last bar whose close time (open + 1 minute) is ≤ the grid instant
                grid = (
                    t0.value
                    + np.arange(ESTIMATION[0] - 1, WINDOW[1] + 1, dtype=np.int64) * 60_000_000_000
                )
                close_time = (
                    bars["ts"].values.astype("datetime64[ns]").astype(np.int64) + 60_000_000_000
                )
                idx = np.searchsorted(close_time, grid, side="right") - 1
                price = np.where(idx >= 0, bars["close"].values[np.clip(idx, 0, None)], np.nan)
                series[name] = np.diff(np.log(price))
            k = np.arange(ESTIMATION[0], WINDOW[1] + 1)
            r, m = series[ev.instrument_id], series["MKT"]
            est = (k >= ESTIMATION[0]) & (k <= ESTIMATION[1])
            beta, alpha = np.polyfit(m[est], r[est], 1)
            ar = r - (alpha + beta * m)
            window = (k >= CARS[-1][0]) & (k <= CARS[-1][1])
            out[f"{ev.event_id}|{ev.instrument_id}"] = float(ar[window].sum())
    return {"car": out}


IMPORTS = {
    "engine": ("pipelines.analytics", "pipelines.analytics.study", "scipy.stats"),
    "floor": ("duckdb",),
    "pandas": ("pandas",),
    "eventstudy": ("eventstudy", "pandas", "statsmodels.api"),
    "easyeventstudies": ("EasyEventStudies.easy_event_studies", "pandas", "statsmodels.api"),
    "small": ("pipelines.analytics", "pipelines.analytics.study", "scipy.stats"),
}

TASKS = {
    "engine": task_engine,
    "floor": task_floor,
    "pandas": task_pandas,
    "eventstudy": task_eventstudy,
    "easyeventstudies": task_easyeventstudies,
    "small": task_small,
}


# ---------------------------------------------------------------------------- report


def _small_cases(tmp: Path, intraday: Path, before: Path | None) -> dict:
    """The dashboard-sized study on the intraday database and on the bundled sample."""
    print("\nsmall studies: one event, every instrument, ±1 day of bars")
    with store.reader(intraday) as con:
        ids = [
            r[0] for r in con.execute("select event_id from events order by event_at").fetchall()
        ]
    event_id = ids[len(ids) // 2]
    cases = {
        "10M bars, 1m": dict(
            db=str(intraday), event_id=event_id, instruments=[f"S{i:02d}" for i in range(1, 20)],
            timeframe="1m", model="market", benchmark="MKT", **SMALL_1M,
        ),
    }  # fmt: skip
    try:
        path, sample_event, ids = sample_db(tmp)
        cases["bundled sample, 5m"] = dict(
            db=path, event_id=sample_event, instruments=ids, timeframe="5m",
            model="constant", benchmark=None, **SMALL_5M,
        )  # fmt: skip
    except Exception as exc:  # the sample is optional for this bench
        print(f"  bundled sample: could not build: {exc}")
    out = {}
    for name, case in cases.items():
        runs = [measure("small", **case) for _ in range(3)]
        first = sorted(r["payload"]["first_ms"] for r in runs)[1]
        warm = sorted(r["payload"]["median_ms"] for r in runs)[1]
        cpu = sorted(r["payload"]["first_cpu_ms"] for r in runs)[1]
        pay = runs[0]["payload"]
        extra = ""
        if before:
            b = [measure_in(before, "small", case)["payload"]["first_ms"] for _ in range(3)]
            extra = f"; before: first call {sorted(b)[1]:.0f} ms"
        print(
            f"  {name}: {pay['pairs']} pairs on {pay['timeframe']}; first call in a fresh "
            f"process {first:.0f} ms (CPU {cpu:.0f} ms), warm {warm:.0f} ms (medians of 3 "
            f"processes; load {os.getloadavg()[0]:.1f}){extra}"
        )
        out[name] = {"first_ms": first, "warm_ms": warm, "first_cpu_ms": cpu}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--pandas-events", type=int, default=100)
    parser.add_argument(
        "--peer-pairs", type=int, default=None, help="eventstudy's pairs (default: all 10,000)"
    )
    parser.add_argument("--easy-pairs", type=int, default=300, help="easyeventstudies' pairs")
    parser.add_argument(
        "--before", type=Path, default=None, help="a checkout of the code before: its engine too"
    )
    parser.add_argument("--sizes", default="1,3,10,30", help="scaling sizes, millions of bars")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved runs of each headline pair (median)"
    )
    parser.add_argument(
        "--only", choices=("intraday", "daily"), default=None, help="time only one workload"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated databases here")
    args = parser.parse_args()
    quick = args.quick
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="bench_study_"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    before_engine = (
        (lambda task, spec: measure_in(args.before, task, spec)) if args.before else None
    )
    if args.only == "daily":
        try:
            daily = run_daily(args, tmp, measure, before_engine)
            daily["load_average_end"] = os.getloadavg()[0]
            print("\nsummary (json):\n" + json.dumps(daily, indent=1))
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        # ------------------------------------------------------------ intraday workload
        n_minutes = MINUTES_PER_YEAR // (10 if quick else 1)
        n_events = 100 if quick else 1000
        intraday = tmp / "intraday.duckdb"
        if not intraday.exists():
            t = time.perf_counter()
            make_intraday(intraday, 20, n_minutes, n_events, seed=42)
            print(
                f"generated {20 * n_minutes:,} bars and {n_events} events in {time.perf_counter() - t:.1f} s (untimed)"
            )
        spec = dict(
            db=str(intraday),
            category="bench",
            model="market",
            benchmark="MKT",
            timeframe="1m",
            window=WINDOW,
            estimation=ESTIMATION,
            cars=CARS,
        )
        print(
            f"\nintraday workload: {20 * n_minutes:,} bars, {n_events} events × 1 instrument, window {WINDOW}, estimation {ESTIMATION}, market model, all statistics"
        )
        # The headline pair runs --repeat times, interleaved so both meet the same load; the
        # median of each is reported (this shared VM's speed drifts by ±20 % between runs).
        engines, floors, befores = [], [], []
        for _ in range(args.repeat):
            print(f"  load average {os.getloadavg()[0]:.1f}")
            engines.append(measure("engine", **spec))
            floors.append(measure("floor", db=str(intraday)))
            if args.before:
                befores.append(measure_in(args.before, "engine", spec))
        engine, floor = median_run(engines), median_run(floors)
        if befores:
            before = median_run(befores)
            line(
                "before (--before checkout)",
                before,
                f"  CPU {median_run(befores, 'cpu')['cpu']:.2f} s",
            )
            n_same, diff = compare(engine["payload"]["car"], before["payload"]["car"])
            print(f"  before vs engine CAR: {n_same} pairs, max |Δ| = {diff:.2e}")
        if args.repeat > 1:
            walls = lambda runs: " ".join(f"{r['wall']:.2f}" for r in runs)  # noqa: E731
            print(f"  runs (s): engine {walls(engines)}; floor {walls(floors)}; medians below")
            print(
                f"  engine CPU (all threads) median {median_run(engines, 'cpu')['cpu']:.2f} s; "
                f"floor {median_run(floors, 'cpu')['cpu']:.2f} s"
            )
        n_pd = min(args.pandas_events, n_events)
        pandas_run = measure("pandas", db=str(intraday), n_events=n_pd)
        pandas_full = pandas_run["wall"] * n_events / n_pd
        n_same, diff = compare(engine["payload"]["car"], pandas_run["payload"]["car"])
        line(
            "engine (run_study)",
            engine,
            f"  {engine['payload']['pairs']} pairs, {engine['payload']['ar_rows']:,} AR rows",
        )
        line("floor (one scan of the columns)", floor, f"  {floor['payload']['rows']:,} rows")
        line(
            f"pandas per-event loop ({n_pd} events)",
            pandas_run,
            f"  → {pandas_full:.1f} s for {n_events} (linear)",
        )
        print(
            f"  pandas vs engine CAR({CARS[-1][0]},{CARS[-1][1]}): {n_same} pairs compared, max |Δ| = {diff:.2e}"
        )
        print(
            f"  ratios: engine/floor = {engine['wall'] / floor['wall']:.2f}×   pandas/engine = {pandas_full / engine['wall']:.0f}×"
        )

        # ------------------------------------------------------------ small (dashboard) studies
        small_runs = _small_cases(tmp, intraday, args.before)

        # ------------------------------------------------------------ daily workload (peers)
        daily = run_daily(args, tmp, measure, before_engine) if args.only != "intraday" else {}

        # ------------------------------------------------------------ scaling
        scaling = []
        if not quick and not args.no_scaling:
            print("\nscaling (20 instruments, events ∝ rows):")
            for rows in [int(float(x) * 1_000_000) for x in args.sizes.split(",")]:
                minutes = rows // 20
                events = max(10, round(rows / MINUTES_PER_YEAR / 20 * 1000))
                db = tmp / f"scale_{rows}.duckdb"
                if not db.exists():
                    make_intraday(db, 20, minutes, events, seed=rows)
                res = measure("engine", **{**spec, "db": str(db)})
                fl = measure("floor", db=str(db))
                scaling.append((rows, events, res["wall"], res["cpu"], res["peak_mb"], fl["wall"]))
                line(
                    f"{rows:>11,} bars, {events:>5} events",
                    res,
                    f"  CPU {res['cpu']:.2f} s  floor {fl['wall']:.3f} s  µs/bar "
                    f"{res['wall'] / rows * 1e6:.3f}  load {os.getloadavg()[0]:.1f}",
                )
        print("\nsummary (json):")
        print(
            json.dumps(
                {
                    "engine_s": engine["wall"],
                    "engine_runs_s": [r["wall"] for r in engines],
                    "floor_runs_s": [r["wall"] for r in floors],
                    "engine_peak_mb": engine["peak_mb"],
                    "floor_s": floor["wall"],
                    "pandas_extrapolated_s": pandas_full,
                    "engine_cpu_s": median_run(engines, "cpu")["cpu"],
                    "floor_cpu_s": median_run(floors, "cpu")["cpu"],
                    "before_runs_s": [r["wall"] for r in befores],
                    "before_cpu_s": median_run(befores, "cpu")["cpu"] if befores else None,
                    "small": small_runs,
                    "daily": daily,
                    "scaling": scaling,
                    "load_average_end": os.getloadavg()[0],
                },
                indent=1,
            )
        )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
