"""Demo build benchmark: `tickerwire demo` (the bundled sample through the import commands).

Phases, each repeated --repeat times (alternating, so all meet the same machine load):

  build     pipelines.demo.build_demo into a fresh file: every sample file through import
            bars/events/articles/strip (parsing, upserts, clustering, enrichment), then the
            checksum; also checks every build gives the same content checksum
  floor     read the same sample bar files and `create table … as select` them into an empty
            file: the least work that persists those rows (no parsing checks, no upsert)
  synthetic pipelines.synthetic.build_synthetic: 741,600 seeded 1-minute bars bulk-inserted in
            one transaction (the scale case: rows per second without the import checks)

Also reports the sample's size on disk and, when ../shared is present, the time to cut the
sample from it (pipelines/sample/build.py, once) and whether the cut reproduces the committed
checksum.

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

from pipelines import demo, sample, synthetic  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.paths import REPO_ROOT, shared_dir  # noqa: E402

BUDGET_S = 10.0


def timed(fn) -> tuple[float, float, object]:
    """Run fn(); return (wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def floor_write(path: Path) -> int:
    """Persist the sample's bars with no checks and no index; rows written."""
    frames = [
        pl.read_parquet(f.path).with_columns(
            pl.lit(f.instrument).alias("instrument_id"), pl.lit(f.timeframe).alias("timeframe")
        )
        for f in sample.files()
        if f.kind == "bars"
    ]
    bars = pl.concat(frames, how="diagonal_relaxed")
    con = duckdb.connect(str(path))
    con.register("b", bars.to_arrow())
    con.execute("create table bars as select * from b")
    con.close()
    return bars.height


def main() -> None:
    """Run the phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(REPO_ROOT / "tickerwire.toml")
    files = sample.files()
    size = sum(f.path.stat().st_size for f in files)
    print(f"bundled sample: {len(files)} files, {size / 1e6:.2f} MB on disk")
    shared = shared_dir()
    if shared is not None and (shared / "data").is_dir():
        from pipelines.sample import build

        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu, result = timed(lambda: build.build(shared, Path(tmp)))
        same = result["checksum"] == sample.manifest()["checksum"]  # type: ignore[index]
        print(
            f"  cut from ../shared: wall {wall:.2f} s, cpu {cpu:.2f} s; same checksum as committed: {same}"
        )
    runs: dict[str, list[tuple[float, float]]] = {"build": [], "floor": [], "synthetic": []}
    synthetic_rows = 0
    checksums: set[str] = set()
    phases: list[dict[str, float]] = []
    n_bars = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.repeat):
            wall, cpu, stats = timed(
                lambda n=n: demo.build_demo(Path(tmp) / f"demo{n}.duckdb", config)
            )
            runs["build"].append((wall, cpu))
            checksums.add(stats.checksum)  # type: ignore[attr-defined]
            phases.append(stats.phases)  # type: ignore[attr-defined]
            wall, cpu, n_bars = timed(lambda n=n: floor_write(Path(tmp) / f"floor{n}.duckdb"))
            runs["floor"].append((wall, cpu))
            wall, cpu, synth = timed(
                lambda n=n: synthetic.build_synthetic(Path(tmp) / f"synth{n}.duckdb", config)
            )
            runs["synthetic"].append((wall, cpu))
            synthetic_rows = synth.rows["bars"]  # type: ignore[attr-defined]
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in runs.items()
    }
    print(f"demo build benchmark: {n_bars:,} bars, {args.repeat} round(s), median of each")
    for name, (wall, cpu) in med.items():
        print(f"  {name:9s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    for name in phases[0]:
        print(f"  build phase {name:24s} median {statistics.median(p[name] for p in phases):.2f} s")
    print(
        f"  checksums identical across builds: {len(checksums) == 1} ({', '.join(sorted(checksums))})"
    )
    print("ratios:")
    print(f"  build / {BUDGET_S:.0f} s budget   {med['build'][0] / BUDGET_S:5.2f}  (target < 1)")
    print(f"  build / floor          {med['build'][0] / med['floor'][0]:5.2f}")
    print(
        f"  bars per second: sample through the imports {n_bars / med['build'][0]:,.0f}, "
        f"synthetic bulk insert {synthetic_rows / med['synthetic'][0]:,.0f}"
    )


if __name__ == "__main__":
    main()
