"""Refresh under a busy dashboard: writer and reader waits with the writer gate vs without it.

Four reader processes query the database like the dashboard (tests/ops_reader.py: short
read-only connections, dashboard-like queries, 50–250 ms think time) while this process runs a
refresh every second against a local Binance-shaped HTTP server (the synthetic source). The same
run is made twice: with the writer-priority gate (pipelines/gate.py, the default) and with
TICKERWIRE_GATE=off (the baseline: plain lock retries only).

    .venv/bin/python bench/bench_ops_concurrency.py [--seconds 30] [--readers 4]

Prints, per mode, refresh rounds, writer wait per round (median, p95, max), reader wait for a
connection (p50, p99, max), reader failures, and the ratios baseline / gate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import store  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.refresh import run_refresh  # noqa: E402
from pipelines.sources.http import HttpClient  # noqa: E402
from pipelines.sources.synthetic_source import SyntheticSource  # noqa: E402
from tests import ops_reader  # noqa: E402
from tests.ops_reader import SYMBOLS, percentile  # noqa: E402
from tests.ops_server import MarketServer  # noqa: E402


def run_mode(gate: bool, seconds: float, readers: int, workdir: Path) -> dict:
    """One timed run: readers in subprocesses, refresh rounds in this process."""
    os.environ["TICKERWIRE_GATE"] = "on" if gate else "off"
    db = workdir / f"bench-{'gate' if gate else 'nogate'}.duckdb"
    with store.writer(db):
        pass
    config = load_config(ROOT / "tickerwire.toml")
    waits, rounds_s = [], []
    with MarketServer(n_bars=1500, bars_per_second=20) as srv:
        source = SyntheticSource(srv.url, SYMBOLS, client=HttpClient(timeout=5, retries=2))
        run_refresh(db, config, "prices,quotes", sources={"synthetic": source})  # initial fill
        outs = [workdir / f"reader-{gate}-{i}.json" for i in range(readers)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        procs = ops_reader.spawn(db, seconds, outs, env=env, cwd=ROOT)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            summary = run_refresh(db, config, "prices,quotes", sources={"synthetic": source})
            rounds_s.append(time.perf_counter() - t0)
            waits.append(sum(o.writer_wait for o in summary.outcomes))
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
        for proc in procs:
            proc.wait(timeout=seconds + 120)
    stats = ops_reader.collect(outs)
    reader_waits = [w for s in stats for w in s["waits"]]
    return {
        "rounds": len(rounds_s),
        "round_s_median": statistics.median(rounds_s),
        "writer_wait_median": statistics.median(waits),
        "writer_wait_p95": percentile(waits, 0.95),
        "writer_wait_max": max(waits),
        "reader_rounds": sum(s["rounds"] for s in stats),
        "reader_failures": sum(s["failures"] for s in stats),
        "reader_wait_p50": percentile(reader_waits, 0.5),
        "reader_wait_p99": percentile(reader_waits, 0.99),
        "reader_wait_max": max(reader_waits),
    }


def main() -> None:
    """Run both modes and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--readers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gate = run_mode(True, args.seconds, args.readers, Path(tmp))
        base = run_mode(False, args.seconds, args.readers, Path(tmp))
    print(
        f"{args.readers} readers, refresh every 1 s for {args.seconds:.0f} s, load avg {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':28}{'gate (default)':>16}{'no gate (base)':>16}{'base/gate':>11}")
    for key in gate:
        ratio = base[key] / gate[key] if gate[key] else float("nan")
        unit = 1000 if "wait" in key or key.endswith("_s_median") else 1
        suffix = " ms" if unit == 1000 else ""
        print(f"{key + suffix:28}{gate[key] * unit:16.1f}{base[key] * unit:16.1f}{ratio:11.2f}")


if __name__ == "__main__":
    main()
