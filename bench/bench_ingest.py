"""Ingest benchmark: upsert synthetic 1-minute bars into a DuckDB file the way refresh does.

Three timed phases over the same batches (20 instruments, batches of --batch-rows rows of one
instrument, generated on the fly and not timed):

  floor     plain `insert into bars select * from <arrow batch>` into an empty bars table
  upsert    `store.commit_batch` (Store.upsert + cursor, one transaction per batch) into an empty file
  re-upsert the same batches again: every row is already there, nothing is written

Prints rows/s and peak extra memory (RSS above the phase's start, sampled every 5 ms) per phase
and the ratios the targets are stated in: upsert ≥ 1M rows/s, upsert ≤ 2× floor time,
re-upsert ≤ 1.5× upsert time.

    .venv/bin/python bench/bench_ingest.py                 # 10M rows (the published figure)
    .venv/bin/python bench/bench_ingest.py --rows 1000000  # quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
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


class PeakRss:
    """Samples RSS in a thread; `.extra` is the peak above the RSS at start."""

    def __enter__(self) -> PeakRss:
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def extra(self) -> int:
        """Peak RSS above the start of the phase, in bytes."""
        return self.peak - self.start


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


def phase_floor(db: Path, total: int, batch_rows: int) -> tuple[float, int, int]:
    """Plain INSERT … SELECT of each Arrow batch into an empty bars table (same DDL, same key)."""
    with store.writer(db) as st:
        con = st.con
        cols = ", ".join(BAR_SCHEMA)
        elapsed = 0.0
        with PeakRss() as mem:
            for _, frame in batches(total, batch_rows):
                arrow = frame.to_arrow()
                t0 = time.perf_counter()
                con.register("_floor_batch", arrow)
                con.execute(f"insert into bars ({cols}) select {cols} from _floor_batch")
                con.unregister("_floor_batch")
                elapsed += time.perf_counter() - t0
        n = con.execute("select count(*) from bars").fetchall()[0][0]
    return elapsed, mem.extra, n


def phase_upsert(db: Path, total: int, batch_rows: int) -> tuple[float, int, store.UpsertResult]:
    """store.commit_batch per batch (rows + cursor in one transaction), as refresh commits."""
    summary = store.UpsertResult(table="bars")
    elapsed = 0.0
    with store.writer(db) as st, PeakRss() as mem:
        for key, frame in batches(total, batch_rows):
            cursor = frame["ts"][-1]
            t0 = time.perf_counter()
            results = store.commit_batch(st, "bench", key, {"bars": frame}, cursor_ts=cursor)
            elapsed += time.perf_counter() - t0
            summary += results["bars"]
    return elapsed, mem.extra, summary


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
        f_time, f_mem, f_rows = phase_floor(workdir / "floor.duckdb", total, args.batch_rows)
        u_time, u_mem, first = phase_upsert(workdir / "upsert.duckdb", total, args.batch_rows)
        r_time, r_mem, again = phase_upsert(workdir / "upsert.duckdb", total, args.batch_rows)
        mb = 1024 * 1024
        print(f"{'phase':<10} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak MB':>8}  result")
        print(
            f"{'floor':<10} {f_rows:>12,} {f_time:>9.2f} {f_rows / f_time:>12,.0f} {f_mem / mb:>8.0f}  inserted {f_rows:,}"
        )
        print(
            f"{'upsert':<10} {first.read:>12,} {u_time:>9.2f} {first.read / u_time:>12,.0f} {u_mem / mb:>8.0f}  "
            f"inserted {first.inserted:,}, updated {first.updated:,}, unchanged {first.unchanged:,}"
        )
        print(
            f"{'re-upsert':<10} {again.read:>12,} {r_time:>9.2f} {again.read / r_time:>12,.0f} {r_mem / mb:>8.0f}  "
            f"inserted {again.inserted:,}, updated {again.updated:,}, unchanged {again.unchanged:,}"
        )
        size = (workdir / "upsert.duckdb").stat().st_size / mb
        print(f"file size after upsert: {size:,.0f} MB")
        checks = [
            ("upsert rows/s ≥ 1,000,000", first.read / u_time, first.read / u_time >= 1_000_000),
            ("upsert time / floor time ≤ 2.0", u_time / f_time, u_time / f_time <= 2.0),
            ("re-upsert time / upsert time ≤ 1.5", r_time / u_time, r_time / u_time <= 1.5),
            ("re-upsert wrote 0 rows", again.stored, again.stored == 0),
        ]
        for label, value, ok in checks:
            shown = f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
            print(f"  {'ok  ' if ok else 'MISS'} {label}: {shown}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
