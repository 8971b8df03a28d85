"""CLI start-up benchmark: whole `tickerwire` processes against `python -c "import polars, duckdb, typer"`.

Every round runs each command once as a fresh process, in an order rotated per round, so the
baseline and the commands meet the same machine load. Figures per command: median wall seconds,
median CPU seconds of the child (user + sys, which other processes on a shared machine inflate
far less), and the ratios of those medians to the baseline's. The target (issue 16) is ≤ 1.5×
for `--help`, `status`, `sql` and `events list`.

The commands read a demo database built first with `tickerwire demo` in a temporary folder.
Bytecode caching is on for the children (PYTHONDONTWRITEBYTECODE is removed from their
environment, and one warm-up round writes the .pyc files), as on a user's machine: without it
every process would recompile our own modules while the baseline's come precompiled by pip.

    .venv/bin/python bench/bench_startup.py             # 9 rounds
    .venv/bin/python bench/bench_startup.py --runs 5

`floor` (typer's option parsing plus opening the database and one query, no tickerwire code) is
printed for reference: what a quick command costs before any of our own code runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.5
BASELINE = "import polars, duckdb, typer"
FLOOR = (
    "import sys, polars, duckdb, typer; "
    "duckdb.connect(sys.argv[1], read_only=True).sql('select count(*) from events').fetchall()"
)


def child_env() -> dict[str, str]:
    """The environment of every timed process: this one's, with bytecode caching allowed."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("TICKERWIRE_DB", None)
    return env


def commands(db: Path) -> dict[str, list[str]]:
    """Name → argv of every timed process (the baseline first)."""
    python = sys.executable
    cli = str(Path(python).parent / "tickerwire")
    return {
        "baseline": [python, "-c", BASELINE],
        "python -c pass": [python, "-c", "pass"],
        # What any Typer command on this database costs at least: typer's own option parsing
        # (it coerces values through pydantic, imported at the first parsed option) plus
        # opening the file and running one query. Shown for reference; not the target's base.
        "floor": [python, "-c", FLOOR, str(db)],
        "--help": [cli, "--help"],
        "status": [cli, "--db", str(db), "status"],
        "sql": [cli, "--db", str(db), "sql", "select count(*) as n from events"],
        "events list": [cli, "--db", str(db), "events", "list"],
    }


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run argv to completion; return (wall seconds, child CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip().splitlines()[-1:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    """Build the demo, time the commands interleaved, print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="Rounds (≥ 5 for a median).")
    args = parser.parse_args()
    env = child_env()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "demo.duckdb"
        cmds = commands(db)
        subprocess.run(
            [cmds["--help"][0], "--db", str(db), "demo"], env=env, cwd=work, check=True,
            capture_output=True,
        )  # fmt: skip
        for argv in cmds.values():  # warm-up: page cache and .pyc files
            run_once(argv, env, work)
        load_before = os.getloadavg()
        names = list(cmds)
        walls: dict[str, list[float]] = {n: [] for n in names}
        cpus: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.runs):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                wall, cpu = run_once(cmds[name], env, work)
                walls[name].append(wall)
                cpus[name].append(cpu)
        load_after = os.getloadavg()
    base_wall = statistics.median(walls["baseline"])
    base_cpu = statistics.median(cpus["baseline"])
    print(f"python {sys.version.split()[0]}, {args.runs} interleaved rounds")
    print(
        "load average (1, 5, 15 min) before "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + " · after "
        + ", ".join(f"{x:.2f}" for x in load_after)
    )
    print(f"baseline: python -c {BASELINE!r}")
    print(f"{'command':<18} {'wall s':>7} {'×base':>6} {'CPU s':>7} {'×base':>6}  target")
    missed = 0
    for name in names:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        timed = name in ("--help", "status", "sql", "events list")
        verdict = ""
        if timed:
            ok = wall / base_wall <= TARGET
            missed += not ok
            verdict = f"≤ {TARGET}× {'✓' if ok else '✗'}"
        print(
            f"{name:<18} {wall:7.3f} {wall / base_wall:6.2f} {cpu:7.3f} {cpu / base_cpu:6.2f}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
