"""File-import benchmark: peak memory and time of `tickerwire import bars` on big generated CSVs.

For each size (rows of 1-minute OHLCV, written to a temporary folder and deleted afterwards):

  baseline  a fresh process that reads the whole CSV with `polars.read_csv` (what holding the
            file in memory costs; the import before streaming did at least this)
  import    a fresh process running `tickerwire import bars` on it into an empty database

Prints wall seconds and peak RSS of each child process (ru_maxrss) and the ratio import /
baseline. Bounded memory shows as the import's peak staying nearly flat while the file grows.

    .venv/bin/python bench/bench_import_file.py                    # 2M and 6M rows
    .venv/bin/python bench/bench_import_file.py --rows 500000 1500000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int) -> None:
    """`rows` 1-minute bars from 2010-01-01 as text timestamps, a random walk for prices."""
    start = pl.datetime(2010, 1, 1)
    ts = pl.datetime_range(start, start + pl.duration(minutes=rows - 1), "1m", eager=True)
    close = 100 + np.cumsum(np.random.default_rng(1).normal(0, 0.01, rows))
    pl.DataFrame(
        {
            "timestamp": ts.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "open": close,
            "high": close + 0.05,
            "low": close - 0.05,
            "close": close,
            "volume": np.full(rows, 10.0),
        }
    ).write_csv(path)


def run_child(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (its own rusage, via wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{args[2:5]} failed: {child.stderr.read().strip()[-300:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    """Measure each size and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 6_000_000])
    opts = parser.parse_args()
    print("| rows | file MB | read_csv s | read_csv peak MB | import s | import peak MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="tw-bench-import-") as tmp:
        for rows in sorted(opts.rows):
            csv = Path(tmp) / f"bars_{rows}.csv"
            write_csv(csv, rows)
            read_s, read_mb = run_child(
                [sys.executable, "-c", f"import polars as pl; pl.read_csv({str(csv)!r})"]
            )
            db = Path(tmp) / f"bars_{rows}.duckdb"
            cli = [sys.executable, "-m", "pipelines.cli", "--db", str(db), "import", "bars"]
            imp_s, imp_mb = run_child([*cli, str(csv), "-i", "BIG", "-t", "1m"])
            size = csv.stat().st_size / 2**20
            print(
                f"| {rows:,} | {size:.0f} | {read_s:.1f} | {read_mb:.0f} | {imp_s:.1f} | {imp_mb:.0f} |"
            )
            csv.unlink()
            db.unlink()


if __name__ == "__main__":
    main()
