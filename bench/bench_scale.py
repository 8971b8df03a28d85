"""Past one machine: the intraday study on DuckDB-over-file, DuckDB-over-lake and Spark local[2].

    .venv/bin/python bench/bench_scale.py [--sizes 10 30] [--repeat 3] [--keep DIR]

For each size (millions of 1-minute bars: 20 instruments, events ≈ 95 per 1M bars, the workload
of bench_event_study.py) the database is built, exported to a Hive lake (timed, then exported
again with nothing changed: the incremental path), and the same market-model study runs on the
three engines, interleaved, --repeat times; medians are printed. CPU seconds count this process
and every live process under it (Spark's JVM and its Python workers), so Spark's executor work
is in them. Spark's session start-up is measured once, apart (a cluster keeps its session).
Answers must agree: the CAR of every pair is compared across engines (max |difference|).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_event_study import CARS, ESTIMATION, MINUTES_PER_YEAR, WINDOW, make_intraday  # noqa: E402

from pipelines import export, store  # noqa: E402
from pipelines.analytics import StudySpec, run_study  # noqa: E402

N_INSTRUMENTS = 20
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    """CPU seconds of this process, its reaped children and every live descendant (/proc)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime
    me = os.getpid()
    for pid in ticks:
        p = parent.get(pid)
        while p and p != me:
            p = parent.get(p)
        if p == me and pid != me:
            total += ticks[pid] / TICK
    return total


def study_spec() -> StudySpec:
    """The intraday workload's study (as bench_event_study.py's engine run)."""
    return StudySpec(category="bench", timeframe="1m", window=WINDOW, estimation=ESTIMATION,
                     model="market", benchmark="MKT", car_windows=CARS)  # fmt: skip


def timed(fn):
    """(result, wall s, CPU s of the process tree)."""
    t0, c0 = time.perf_counter(), tree_cpu()
    out = fn()
    return out, time.perf_counter() - t0, tree_cpu() - c0


def lake_bytes(lake: Path) -> tuple[int, int]:
    """Files and bytes of the lake's bars partitions (every partition the study reads)."""
    files = list((lake / "bars").rglob("*.parquet"))
    return len(files), sum(f.stat().st_size for f in files)


def load() -> str:
    return os.getloadavg().__repr__()


def run_size(million: int, repeat: int, root: Path, spark) -> list[dict]:
    """Build, export and study one size; one row per engine (medians)."""
    from pipelines.analytics.spark_engine import SparkAligner

    n_minutes = million * 1_000_000 // N_INSTRUMENTS
    n_events = max(10, 95 * million)
    db, lake = root / f"scale{million}.duckdb", root / f"lake{million}"
    if not db.exists():
        t0 = time.perf_counter()
        make_intraday(db, N_INSTRUMENTS, n_minutes, n_events, seed=42)
        print(
            f"  built {N_INSTRUMENTS * n_minutes:,} bars, {n_events} events in {time.perf_counter() - t0:.0f} s"
        )
    with store.reader(db) as con:
        _, wall, cpu = timed(lambda: export.export(con, lake))
        summary, wall2, cpu2 = timed(lambda: export.export(con, lake))
    bars_row = summary.filter(pl.col("table") == "bars").row(0, named=True)
    print(f"  export {wall:.1f} s wall / {cpu:.1f} s CPU; again, nothing changed: {wall2:.1f} s wall "
          f"({bars_row['partitions_written']} of {bars_row['partitions']} partitions written)")  # fmt: skip
    files, nbytes = lake_bytes(lake)
    aligners: list[SparkAligner] = []

    def on_file():
        with store.reader(db) as con:
            return run_study(con, study_spec())

    def on_lake():
        with store.reader(lake) as con:
            return run_study(con, study_spec())

    def on_spark():
        aligner = SparkAligner(spark, str(lake))
        aligners.append(aligner)
        with store.reader(lake) as con:
            return run_study(con, study_spec(), aligner=aligner)

    engines = {"duckdb-file": on_file, "duckdb-lake": on_lake, "spark-local[2]": on_spark}
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in engines}
    cars: dict[str, pl.DataFrame] = {}
    for _ in range(repeat):  # interleaved: the three see the same load
        for name, fn in engines.items():
            result, wall, cpu = timed(fn)
            runs[name].append((wall, cpu))
            cars[name] = result.car.select("event_id", "instrument_id", "car_from", "car_to", "car")
    base = cars["duckdb-file"]
    rows = []
    for name in engines:
        joined = base.join(cars[name], on=["event_id", "instrument_id", "car_from", "car_to"])
        diff = (joined["car"] - joined["car_right"]).abs().max()
        wall = statistics.median(w for w, _ in runs[name])
        cpu = statistics.median(c for _, c in runs[name])
        rows.append({
            "bars": N_INSTRUMENTS * n_minutes, "engine": name, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "partitions": aligners[-1].stats["groups"] if name.startswith("spark") else
            (files if name == "duckdb-lake" else 1),
            "bytes_read_mb": round((nbytes if name != "duckdb-file" else db.stat().st_size) / 2**20, 1),
            "max_car_diff": float(diff or 0.0), "pairs": joined.height,
        })  # fmt: skip
    return rows


def main() -> None:
    """Run the sizes and print one table (see the module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 30], help="millions of bars")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the databases and lakes here")
    args = parser.parse_args()
    from pipelines.analytics.spark_engine import SparkSettings, spark_session

    root = args.keep or Path(tempfile.mkdtemp(prefix="tw-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    _, start_wall, start_cpu = timed(lambda: spark_session(SparkSettings(master="local[2]")))
    print(f"spark session start-up: {start_wall:.1f} s wall, {start_cpu:.1f} s CPU; load {load()}")
    rows = []
    try:
        for million in args.sizes:
            print(
                f"== {million}M bars ({million * 1_000_000 // N_INSTRUMENTS / MINUTES_PER_YEAR:.2f} years × {N_INSTRUMENTS} instruments); load {load()}"
            )
            rows.extend(run_size(million, args.repeat, root, spark_session(SparkSettings())))
            print(f"   load after {load()}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=200):
        print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
