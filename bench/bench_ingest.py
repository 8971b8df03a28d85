"""Ingest benchmark: upsert synthetic 1-minute bars into a DuckDB file the way refresh does.

Three timed phases over the same batches (20 instruments, batches of --batch-rows rows of one
instrument, generated on the fly and not timed):

  floor     plain `insert into bars select … from <arrow batch>` into an empty bars table (same
            DDL as the real one, made by the same migrations) in its own file
  upsert    `store.commit_batch` (Store.upsert + cursor, one transaction per batch) into another
            empty file; floor and upsert alternate batch by batch so both meet the same load
  re-upsert the same batches again: every row is already there, nothing is written

Prints, per phase, wall and CPU seconds (CPU: all threads of this process, which other
processes on a shared machine do not inflate), rows/s, peak extra RSS, and the target ratios:
upsert ≥ 1M rows/s, upsert ≤ 2× floor, re-upsert ≤ 1.5× upsert.

    .venv/bin/python bench/bench_ingest.py                 # 10M rows (the published figure)
    .venv/bin/python bench/bench_ingest.py --rows 1000000  # quick check
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines import store  # noqa: E402
from pipelines.schemas import BAR_SCHEMA  # noqa: E402

N_INSTRUMENTS = 20
START = datetime(2025, 1, 1, tzinfo=UTC)
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class Meter:
    """Wall time, CPU time (all threads of this process) and peak extra RSS, per phase.

    CPU time matters on a shared machine: other processes stretch the wall clock but not
    the work this process does. Memory is the peak RSS above the RSS at the start of each
    timed call, sampled every 5 ms by a thread.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak: dict[str, int] = {}
        self._phase: str | None = None
        self._base = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            phase = self._phase
            if phase is not None:
                self.peak[phase] = max(self.peak.get(phase, 0), rss_bytes() - self._base)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as part of phase `name`."""
        self._base = rss_bytes()
        self._phase = name
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w0
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c0
            self.peak[name] = max(self.peak.get(name, 0), rss_bytes() - self._base)
            self._phase = None

    def close(self) -> None:
        """Stop the sampling thread."""
        self._stop.set()
        self._thread.join()


def batches(total_rows: int, batch_rows: int) -> Iterator[tuple[str, pl.DataFrame]]:
    """Deterministic 1m bars: each instrument's minutes in chunks of batch_rows, like a refresh."""
    per_instrument = total_rows // N_INSTRUMENTS
    start_us = int(START.timestamp() * 1_000_000)
    for i in range(N_INSTRUMENTS):
        instrument = f"I{i:02d}"
        rng = np.random.default_rng(i)
        # a random walk per instrument, cut into batches (its cumulative level carries over)
        level = 100.0 * (i + 1)
        for lo in range(0, per_instrument, batch_rows):
            n = min(batch_rows, per_instrument - lo)
            steps = rng.normal(0, 0.001, n)
            close = level * np.exp(np.cumsum(steps))
            level = float(close[-1])
            open_ = np.concatenate([[close[0]], close[:-1]])
            spread = np.abs(rng.normal(0, 0.0005, n)) * close
            ts = start_us + (np.arange(lo, lo + n, dtype=np.int64) * 60_000_000)
            frame = pl.DataFrame(
                {
                    "instrument_id": pl.Series([instrument], dtype=pl.Utf8).new_from_index(0, n),
                    "timeframe": pl.Series(["1m"], dtype=pl.Utf8).new_from_index(0, n),
                    "ts": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
                    "open": open_,
                    "high": np.maximum(open_, close) + spread,
                    "low": np.minimum(open_, close) - spread,
                    "close": close,
                    "volume": rng.gamma(2.0, 5.0, n),
                    "source": pl.Series(["bench"], dtype=pl.Utf8).new_from_index(0, n),
                },
                schema=BAR_SCHEMA,
            )
            yield f"{instrument}/1m", frame


def run_phases(
    workdir: Path, total: int, batch_rows: int, meter: Meter
) -> tuple[int, store.UpsertResult, store.UpsertResult]:
    """Floor and first upsert interleaved batch by batch (so both see the same machine load),
    then the re-upsert pass over the same batches."""
    cols = ", ".join(BAR_SCHEMA)
    first = store.UpsertResult(table="bars")
    again = store.UpsertResult(table="bars")
    with (
        store.writer(workdir / "floor.duckdb") as fl,
        store.writer(workdir / "upsert.duckdb") as writer,
    ):
        for key, frame in batches(total, batch_rows):
            arrow = frame.to_arrow()
            cursor = frame["ts"][-1]
            with meter.phase("floor"):
                fl.con.register("_floor_batch", arrow)
                fl.con.execute(f"insert into bars ({cols}) select {cols} from _floor_batch")
                fl.con.unregister("_floor_batch")
            with meter.phase("upsert"):
                res = store.commit_batch(writer, "bench", key, {"bars": frame}, cursor_ts=cursor)
            first += res["bars"]
        floor_rows = fl.con.execute("select count(*) from bars").fetchall()[0][0]
        for key, frame in batches(total, batch_rows):
            cursor = frame["ts"][-1]
            with meter.phase("re-upsert"):
                res = store.commit_batch(writer, "bench", key, {"bars": frame}, cursor_ts=cursor)
            again += res["bars"]
    return floor_rows, first, again


def main() -> None:
    """Run the three phases and print the figures and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 10_000_000)))
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument(
        "--dir", type=Path, default=None, help="Where the DuckDB files go (default: a temp dir)."
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_ingest_", dir=args.dir))
    try:
        total = args.rows - args.rows % N_INSTRUMENTS
        print(
            f"bench_ingest: {total:,} synthetic 1m bars, {N_INSTRUMENTS} instruments × "
            f"{timedelta(minutes=total // N_INSTRUMENTS)}, batches of {args.batch_rows:,} rows"
        )
        meter = Meter()
        try:
            floor_rows, first, again = run_phases(workdir, total, args.batch_rows, meter)
        finally:
            meter.close()
        mb = 1024 * 1024
        print(
            f"{'phase':<10} {'rows':>12} {'wall s':>8} {'rows/s':>10} {'cpu s':>8} {'rows/cpu-s':>11} {'peak MB':>8}  result"
        )
        results = {
            "floor": (floor_rows, f"inserted {floor_rows:,}"),
            "upsert": (
                first.read,
                f"inserted {first.inserted:,}, updated {first.updated:,}, unchanged {first.unchanged:,}",
            ),
            "re-upsert": (
                again.read,
                f"inserted {again.inserted:,}, updated {again.updated:,}, unchanged {again.unchanged:,}",
            ),
        }
        for name, (rows, what) in results.items():
            wall, cpu = meter.wall[name], meter.cpu[name]
            print(
                f"{name:<10} {rows:>12,} {wall:>8.2f} {rows / wall:>10,.0f} {cpu:>8.2f} {rows / cpu:>11,.0f} "
                f"{meter.peak[name] / mb:>8.0f}  {what}"
            )
        size = (workdir / "upsert.duckdb").stat().st_size / mb
        print(
            f"file size after upsert: {size:,.0f} MB; process peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; "
            f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        w, c = meter.wall, meter.cpu
        checks = [
            (
                "upsert rows/s (wall) ≥ 1,000,000",
                first.read / w["upsert"],
                first.read / w["upsert"] >= 1_000_000,
            ),
            (
                "upsert / floor ≤ 2.0 (wall)",
                w["upsert"] / w["floor"],
                w["upsert"] / w["floor"] <= 2.0,
            ),
            (
                "upsert / floor ≤ 2.0 (cpu)",
                c["upsert"] / c["floor"],
                c["upsert"] / c["floor"] <= 2.0,
            ),
            (
                "re-upsert / upsert ≤ 1.5 (wall)",
                w["re-upsert"] / w["upsert"],
                w["re-upsert"] / w["upsert"] <= 1.5,
            ),
            (
                "re-upsert / upsert ≤ 1.5 (cpu)",
                c["re-upsert"] / c["upsert"],
                c["re-upsert"] / c["upsert"] <= 1.5,
            ),
            ("re-upsert wrote 0 rows", again.stored, again.stored == 0),
        ]
        for label, value, ok in checks:
            shown = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
            print(f"  {'ok  ' if ok else 'MISS'} {label}: {shown}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
