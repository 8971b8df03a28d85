"""Crash safety: kill -9 a refresh during its commit phase again and again.

After every kill the database must open (read-only, as the dashboard would), hold no partial
batch (each symbol's bars are exactly the contiguous run up to its committed cursor), and the
next refresh must pick up where the killed one stopped. At the end, the crashed-and-resumed
database must equal a database filled by one clean run against the same server.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines import store
from pipelines.config import load_config
from pipelines.refresh import run_refresh
from pipelines.sources.synthetic_source import SyntheticSource
from tests.ops_server import T0_MS, MarketServer

REPO = Path(__file__).resolve().parent.parent
SYMBOLS = ["BTC", "ETH"]
T0 = datetime.fromtimestamp(T0_MS / 1000, UTC)
KILLS_WANTED = 20
MAX_ATTEMPTS = 60


def _spawn(db: Path, url: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        TICKERWIRE_SYNTHETIC_URL=url,
        TICKERWIRE_SYNTHETIC_SYMBOLS=",".join(SYMBOLS),
        TICKERWIRE_SYNTHETIC_PAGE="300",
        PYTHONUNBUFFERED="1",
    )
    cmd = [sys.executable, "-m", "pipelines.refresh", "--db", str(db), "--source", "synthetic",
           "--only", "prices", "-v"]  # fmt: skip
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _check_no_partial_batch(db: Path) -> dict[str, int]:
    """Open read-only; every symbol's bars must be exactly T0 … cursor, one per minute."""
    counts = {}
    with store.reader(db, retries=20) as con:
        cursors = dict(
            con.execute(
                "select key, cursor_ts from ingest_state where source = 'synthetic'"
            ).fetchall()
        )
        for sym in SYMBOLS:
            cursor = cursors.get(f"{sym}/1m")
            n, first, last = con.execute(
                "select count(*), min(ts), max(ts) from bars where instrument_id = ?", [sym]
            ).fetchall()[0]
            if cursor is None:
                assert n == 0, f"{sym}: {n} bars without a committed cursor"
            else:
                expected = int((cursor - T0) / timedelta(minutes=1)) + 1
                assert (n, first, last) == (expected, T0, cursor), f"{sym}: partial batch"
            counts[sym] = n
    return counts


def _table(db: Path, sql: str) -> list[tuple]:
    with store.reader(db) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_kill_9_during_commit_never_leaves_a_partial_batch(tmp_path):
    db = tmp_path / "crash.duckdb"
    rng = random.Random(20261123)
    kills = attempts = left_running = 0
    with MarketServer(n_bars=1200) as srv:
        while kills < KILLS_WANTED and attempts < MAX_ATTEMPTS:
            attempts += 1
            srv.set_bars(1200 + 300 * attempts)  # new bars every round, so every round commits
            proc = _spawn(db, srv.url)
            target = rng.randrange(3)  # kill during the 1st, 2nd or 3rd commit of the run
            seen = 0
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("commit "):
                    if seen == target:
                        time.sleep(rng.uniform(0, 0.08))
                        proc.send_signal(signal.SIGKILL)
                        break
                    seen += 1
            proc.communicate(timeout=60)  # drain whatever it printed before dying
            if proc.returncode == -signal.SIGKILL:
                kills += 1
                # Whether the kill landed before or after the run was marked finished is only
                # known to the database: a run still 'running' is one the next refresh must
                # close as 'interrupted'.
                left_running += _table(
                    db, "select count(*) from ingest_runs where status = 'running'"
                )[0][0]
            _check_no_partial_batch(db)
        assert kills >= KILLS_WANTED, (kills, attempts)

        # The next refresh completes, closing exactly the runs the kills left 'running'.
        final = _spawn(db, srv.url)
        out, err = final.communicate(timeout=300)
        assert final.returncode == 0, err
        assert _table(db, "select count(*) from ingest_runs where status = 'running'") == [(0,)]
        interrupted = _table(db, "select count(*) from ingest_runs where status = 'interrupted'")
        assert interrupted == [(left_running,)]

        # Equal to one clean run against the same (final) server state.
        clean = tmp_path / "clean.duckdb"
        src = SyntheticSource(srv.url, SYMBOLS)
        assert (
            run_refresh(
                clean, load_config(REPO / "tickerwire.toml"), "prices", sources={"synthetic": src}
            ).exit_code
            == 0
        )
    counts = _check_no_partial_batch(db)
    assert counts == {sym: 1200 + 300 * attempts for sym in SYMBOLS}
    for sql in (
        "select instrument_id, timeframe, ts, open, high, low, close, volume, source from bars order by all",
        "select source, key, cursor_ts from ingest_state order by all",
        "select count(*) from rejects",
    ):
        assert _table(db, sql) == _table(clean, sql), sql
    print(
        f"\ncrash safety: {attempts} refreshes started, {kills} killed (-9) in the commit "
        f"phase, {left_running} of them before the run was closed; final rows {counts}"
    )
