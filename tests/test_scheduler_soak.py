"""Concurrency soak: the scheduler writes every 3 s and `import bars` runs again and again for
over a minute, while reader processes query like the dashboard (short read-only connections,
retry on lock), through the SQL console's sandbox, and with `tickerwire sql`. No reader and no
import may fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines import store
from tests import ops_reader
from tests.ops_reader import SYMBOLS
from tests.ops_server import T0_MS, MarketServer

REPO = Path(__file__).resolve().parent.parent
SOAK_SECONDS = 62
MODES = ["dashboard", "dashboard", "console", "cli"]
READERS = len(MODES)


def _import_loop(db: Path, env: dict, folder: Path, stop: threading.Event, results: list) -> None:
    """Import a fresh small bar file every round (a writer besides the scheduler)."""
    n = 0
    while not stop.is_set():
        n += 1
        path = folder / f"imp{n}.csv"
        rows = [f"2025-01-01 {h:02d}:{m:02d}:00,{100 + n}" for h in range(24) for m in range(60)]
        path.write_text("time,price\n" + "\n".join(rows) + "\n")
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "--db", str(db), "import", "bars", str(path),
             "-i", f"IMP{n % 3}", "-t", "1m"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        results.append((proc.returncode, proc.stderr.strip()[-300:]))


@pytest.mark.slow
def test_scheduler_writes_while_readers_query_without_a_single_reader_failure(tmp_path, db_path):
    config = tmp_path / "soak.toml"
    config.write_text('[schedule]\nprices = "3s"\nquotes = "3s"\nnews = "1d"\n', encoding="utf-8")
    with MarketServer(n_bars=1500, bars_per_second=20) as srv:
        env = dict(
            os.environ,
            TICKERWIRE_DB=str(db_path),
            TICKERWIRE_CONFIG=str(config),
            TICKERWIRE_SYNTHETIC_URL=srv.url,
            TICKERWIRE_SYNTHETIC_SYMBOLS=",".join(SYMBOLS),
            PYTHONUNBUFFERED="1",
        )
        sched = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "schedule", "--source", "synthetic"],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        # Start the readers only once the scheduler is writing (CLI start-up can be slow on a
        # loaded machine), so that the minute of readers overlaps a minute of writes.
        lines: list[str] = []
        assert sched.stdout is not None
        for line in sched.stdout:
            lines.append(line)
            if ": exit " in line:
                break
        drain = threading.Thread(target=lambda: lines.extend(sched.stdout), daemon=True)
        drain.start()
        outs = [tmp_path / f"reader{i}.json" for i in range(READERS)]
        readers = ops_reader.spawn(db_path, SOAK_SECONDS, outs, env=env, cwd=REPO, modes=MODES)
        stop_imports = threading.Event()
        imports: list[tuple[int, str]] = []
        importer = threading.Thread(
            target=_import_loop, args=(db_path, env, tmp_path, stop_imports, imports)
        )
        importer.start()
        for proc in readers:
            assert proc.wait(timeout=SOAK_SECONDS + 120) == 0
        stop_imports.set()
        importer.join(timeout=200)
        sched.send_signal(signal.SIGTERM)
        sched.wait(timeout=120)
        drain.join(timeout=30)
        log = "".join(lines)
    assert sched.returncode == 0, log
    assert "SIGTERM: finishing the current commit" in log and "scheduler stopped after" in log

    stats = ops_reader.collect(outs)
    failures = sum(s["failures"] for s in stats)
    waits = [w for s in stats for w in s["waits"]]
    rounds = sum(s["rounds"] for s in stats)
    assert failures == 0, [s["errors"] for s in stats]
    assert len(imports) >= 3 and all(rc == 0 for rc, _ in imports), imports
    # Each reader really kept querying through the minute (≈ 1 round/s idle, fewer under load).
    # (A console round starts a worker per query; a CLI round is a whole process start.)
    least = {"dashboard": 10, "console": 3, "cli": 1}
    assert all(s["rounds"] >= least[s["mode"]] for s in stats), [s["rounds"] for s in stats]

    with store.reader(db_path) as con:
        runs = con.execute(
            "select status, count(*), avg((details->>'writer_wait_s')::double), "
            "max((details->>'writer_wait_s')::double) from ingest_runs group by 1"
        ).fetchall()
        by_status = {r[0]: r[1] for r in runs}
        cursors = dict(con.execute("select key, cursor_ts from ingest_state").fetchall())
        counts = dict(con.execute("select instrument_id, count(*) from bars group by 1").fetchall())
    # ~20 rounds of 3 s when idle; 9 were seen at load average 10 on 2 cores. The claim under test
    # is that the writer kept committing while readers ran, not its throughput.
    assert by_status.get("ok", 0) >= 5, (runs, log)
    assert set(by_status) <= {"ok", "interrupted"}, runs
    for sym in SYMBOLS:  # no partial batch: bars are exactly the run up to each cursor
        cursor = cursors[f"{sym}/1m"]
        assert counts[sym] == (cursor.timestamp() * 1000 - T0_MS) / 60_000 + 1
        assert counts[sym] > 1500
    p50, p99 = ops_reader.percentile(waits, 0.5), ops_reader.percentile(waits, 0.99)
    per_mode = {
        mode: ops_reader.percentile(
            [w for s in stats if s["mode"] == mode for w in s["waits"]], 0.99
        )
        for mode in sorted(set(MODES))
    }
    writer_wait = {r[0]: (round(r[2] or 0, 3), round(r[3] or 0, 3)) for r in runs}
    print(
        f"\nsoak: {SOAK_SECONDS} s, {READERS} readers, {rounds} reader rounds, {failures} failures; "
        f"reader wait p50 {p50 * 1000:.1f} ms p99 {p99 * 1000:.1f} ms max {max(waits) * 1000:.1f} ms; "
        f"{by_status.get('ok', 0)} ok refresh runs; writer wait per run (avg, max s) {writer_wait}; "
        f"bars written {sum(counts.values())} ({timedelta(seconds=SOAK_SECONDS)}); "
        f"{len(imports)} imports, all ok; p99 per reader kind (s) "
        f"{ {m: round(v, 3) for m, v in per_mode.items()} } (console: two queries incl. worker "
        "start; cli: a whole `tickerwire sql` process)"
    )
