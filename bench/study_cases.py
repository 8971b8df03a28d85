"""Extra cases for bench_event_study.py: the dashboard-sized study, and the engine of another
checkout (the code before a change) timed in the same run."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

# One event, every instrument of the database, ±1 day of bars around it (the Study and Event
# pages' case): window and estimation in 1-minute bars, and in 5-minute bars for the sample.
SMALL_1M = {"window": (-60, 1440), "estimation": (-1440, -61)}
SMALL_5M = {"window": (-12, 288), "estimation": (-288, -13)}


def task_small(
    db: str,
    event_id: str,
    instruments: list[str],
    timeframe: str,
    window,
    estimation,
    model: str,
    benchmark: str | None,
    repeat: int = 5,
) -> dict:
    """run_study `repeat` times in this process: the first call (fresh process) and the median."""
    from pipelines import store
    from pipelines.analytics import StudySpec, run_study

    spec = StudySpec(
        event_ids=(event_id,),
        instruments=tuple(instruments),
        timeframe=timeframe,
        window=tuple(window),
        estimation=tuple(estimation),
        model=model,
        benchmark=benchmark,
        car_windows=(tuple(window), (0, window[1])),
    )
    walls, cpus, pairs = [], [], 0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        with store.reader(db) as con:
            result = run_study(con, spec)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        pairs = result.car.filter(result.car["car_from"] == window[0]).height
    return {
        "first_ms": walls[0] * 1000,
        "median_ms": statistics.median(walls) * 1000,
        "first_cpu_ms": cpus[0] * 1000,
        "median_cpu_ms": statistics.median(cpus) * 1000,
        "pairs": pairs,
        "timeframe": result.timeframe,
    }


def sample_db(tmp: Path) -> tuple[str, str, list[str]]:
    """The bundled sample built by `tickerwire demo` (once), an event inside its 5-minute crypto
    bars, and every instrument with 5m bars."""
    path = tmp / "sample.duckdb"
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--db", str(path), "demo"],
            check=True,
            capture_output=True,
        )
    from pipelines import store

    with store.reader(path) as con:
        event_id = con.execute(
            "select event_id from events where event_at between '2025-03-01' and '2025-10-01' "
            "order by event_at limit 1"
        ).fetchall()[0][0]
        ids = [
            r[0]
            for r in con.execute(
                "select distinct instrument_id from bars where timeframe = '5m' order by 1"
            ).fetchall()
        ]
    return str(path), event_id, ids


def measure_in(code_dir: Path, task: str, args: dict) -> dict:
    """`task` timed by the bench script of another checkout (its own engine), fresh process."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_event_study as b; "
        "r = b.measure(sys.argv[2], **json.loads(sys.argv[3])); print(json.dumps(r))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(code_dir / "bench"), task, json.dumps(args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=code_dir,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
