"""Demo build benchmark: how long `tickerwire demo` takes, against baselines measured in the same run.

Phases, each repeated --repeat times (alternating, so all meet the same machine load):

  build     pipelines.demo.build_demo into a fresh file (simulate + one-transaction bulk insert
            + checksum); also checks every build gives the same content checksum
  floor     `create table … as select * from <arrow>` of the same bars frame into an empty file,
            no primary key: the least work that persists those rows
  upsert    the same demo frames through store.commit_batch (Store.upsert, the general writer
            path) into a fresh migrated file: what the bulk insert saves

Prints wall and CPU seconds (CPU = all threads of this process, which other processes on a
shared machine do not inflate), medians, and the ratios: build / 10 s budget, build's write phase
/ floor, upsert / bulk-insert write phase.

    .venv/bin/python bench/bench_demo.py            # 3 rounds
    .venv/bin/python bench/bench_demo.py --repeat 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import demo, store  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.paths import REPO_ROOT  # noqa: E402

BUDGET_S = 10.0


def timed(fn) -> tuple[float, float, object]:
    """Run fn(); return (wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def floor_write(path: Path, bars: pl.DataFrame) -> None:
    """Persist the bars frame with no index and no checks."""
    con = duckdb.connect(str(path))
    con.register("b", bars.to_arrow())
    con.execute("create table bars as select * from b")
    con.close()


def upsert_write(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    """Write the demo frames through the general upsert path."""
    with store.writer(path) as st:
        st.con.execute("set enable_progress_bar = false")
        store.commit_batch(st, "demo", "bench", frames)


def main() -> None:
    """Run the phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(REPO_ROOT / "tickerwire.toml")
    bars, latest = demo.simulate_bars(config)
    frames = {
        "instruments": demo.instrument_frame(config),
        "bars": bars,
        "quotes": pl.concat([demo.strip_quotes(config), latest]),
        **demo.news_frames(config),
    }
    runs: dict[str, list[tuple[float, float]]] = {"build": [], "floor": [], "upsert": []}
    write_phase: list[float] = []
    checksums: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.repeat):
            wall, cpu, stats = timed(
                lambda n=n: demo.build_demo(Path(tmp) / f"demo{n}.duckdb", config)
            )
            runs["build"].append((wall, cpu))
            write_phase.append(stats.phases["write"])
            checksums.add(stats.checksum)
            wall, cpu, _ = timed(lambda n=n: floor_write(Path(tmp) / f"floor{n}.duckdb", bars))
            runs["floor"].append((wall, cpu))
            wall, cpu, _ = timed(lambda n=n: upsert_write(Path(tmp) / f"up{n}.duckdb", frames))
            runs["upsert"].append((wall, cpu))
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in runs.items()
    }
    print(f"demo build benchmark: {bars.height:,} bars, {args.repeat} round(s), median of each")
    for name, (wall, cpu) in med.items():
        print(f"  {name:7s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    write = statistics.median(write_phase)
    print(f"  build write phase (bulk insert + commit) median {write:.2f} s")
    print(
        f"  checksums identical across builds: {len(checksums) == 1} ({', '.join(sorted(checksums))})"
    )
    print("ratios:")
    print(
        f"  build / {BUDGET_S:.0f} s budget          {med['build'][0] / BUDGET_S:5.2f}  (target < 1)"
    )
    print(f"  build write phase / floor     {write / med['floor'][0]:5.2f}")
    print(f"  upsert path / bulk insert     {med['upsert'][0] / write:5.2f}")


if __name__ == "__main__":
    main()
