"""kill -9 at random instants of every writer: start-up, migration, imports, enrichment, refresh.

After each kill: the file opens, no partial batch, no repeated bar key, and once the next
writer has opened the file no run is left 'running' (its owner is dead).
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
from pipelines.gate import lock_path
from tests.ops_server import T0_MS, MarketServer

REPO = Path(__file__).resolve().parent.parent
KILLS_WANTED = 32
N_BARS = 60_000
N_ARTICLES = 40
T0 = datetime.fromtimestamp(T0_MS / 1000, UTC)


def _wait_for_open(proc: subprocess.Popen, path: Path, timeout: float) -> None:
    """Return once `proc` has `path` open (or has ended, or `timeout` passed)."""
    fd_dir = Path(f"/proc/{proc.pid}/fd")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if any(os.readlink(fd_dir / fd) == str(path) for fd in os.listdir(fd_dir)):
                return
        except OSError:
            pass
        time.sleep(0.01)


def _bars_file(path: Path) -> Path:
    t0 = datetime(2025, 1, 1)
    rows = [f"{(t0 + timedelta(minutes=i)).isoformat()},{100 + i % 7}" for i in range(N_BARS)]
    path.write_text("time,price\n" + "\n".join(rows) + "\n")
    return path


def _article_files(folder: Path) -> list[str]:
    folder.mkdir()
    words = ["tariffs", "gold", "bitcoin", "oil", "rates", "earnings", "china", "opec"]
    for i in range(N_ARTICLES):
        body = (
            f"{words[i % 8].title()} story number {i} moves markets\n\nText about {words[i % 8]}."
        )
        (folder / f"a{i:03d}.txt").write_text(body)
    return sorted(str(p) for p in folder.glob("*.txt"))


def _scenarios(tmp: Path, url: str) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    py = [sys.executable, "-m"]
    env = dict(os.environ, TICKERWIRE_SYNTHETIC_URL=url, TICKERWIRE_SYNTHETIC_SYMBOLS="BTC,ETH",
               TICKERWIRE_SYNTHETIC_PAGE="500")  # fmt: skip
    bars = _bars_file(tmp / "bars.csv")
    articles = _article_files(tmp / "articles")
    return {
        "init": ([*py, "pipelines.cli", "--db", str(tmp / "init.duckdb"), "init"], tmp / "init.duckdb", env),
        "import bars": ([*py, "pipelines.cli", "--db", str(tmp / "bars.duckdb"), "import", "bars", str(bars),
                         "-i", "XAU", "-t", "1m"], tmp / "bars.duckdb", env),
        "import articles + enrichment": ([*py, "pipelines.cli", "--db", str(tmp / "news.duckdb"), "import",
                                          "articles", *articles, "--published", "2026-01-05T10:00:00Z"],
                                         tmp / "news.duckdb", env),
        "refresh": ([*py, "pipelines.refresh", "--db", str(tmp / "prices.duckdb"), "--source", "synthetic",
                     "--only", "prices"], tmp / "prices.duckdb", env),
    }  # fmt: skip


def _check(name: str, db: Path) -> dict[str, int]:
    """The invariants after a kill; returns a few counts for the report."""
    if not db.exists():
        return {}
    # The next writer opens (and migrates) the file and closes runs of dead owners.
    with store.writing(db, "check") as writer:
        assert len(writer.con.execute("select * from _migrations").fetchall()) == len(
            store.migration_files()
        )
    with store.reader(db) as con:
        q = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
        assert q("select count(*) from ingest_runs where status = 'running'") == 0
        assert store.duplicate_keys(con, "bars") == 0
        n_bars = q("select count(*) from bars")
        n_articles = q("select count(*) from articles")
        if name == "import bars":
            assert n_bars in (0, N_BARS), n_bars  # one transaction: all or nothing
        if name == "import articles + enrichment":
            assert n_articles in (0, N_ARTICLES), n_articles
            # Enrichment never leaves a link to a missing article or event.
            assert (
                q("select count(*) from event_articles ea anti join articles using (article_id)")
                == 0
            )
            assert (
                q("select count(*) from event_articles ea anti join events using (event_id)") == 0
            )
        if name == "refresh":
            for sym in ("BTC", "ETH"):
                cursor = con.execute(
                    "select cursor_ts from ingest_state where source = 'synthetic' and key = ?",
                    [f"{sym}/1m"],
                ).fetchall()
                n, last = con.execute(
                    "select count(*), max(ts) from bars where instrument_id = ?", [sym]
                ).fetchall()[0]
                if not cursor:
                    assert n == 0
                else:
                    expected = int((cursor[0][0] - T0) / timedelta(minutes=1)) + 1
                    assert (n, last) == (expected, cursor[0][0]), f"{sym}: partial batch"
    return {"bars": n_bars, "articles": n_articles}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_kill_9_at_random_instants_of_every_writer(tmp_path):
    rng = random.Random(7)
    kills: dict[str, int] = {}
    attempts = 0
    with MarketServer(n_bars=6000) as srv:
        scenarios = _scenarios(tmp_path, srv.url)
        names = list(scenarios)
        while sum(kills.values()) < KILLS_WANTED and attempts < 3 * KILLS_WANTED:
            name = names[attempts % len(names)]
            attempts += 1
            cmd, db, env = scenarios[name]
            if name == "init":
                db.unlink(missing_ok=True)  # always a fresh file: the kill lands in migration
                db.with_name(db.name + ".wal").unlink(missing_ok=True)
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)  # fmt: skip
            if attempts % 3 == 0:
                time.sleep(rng.uniform(0.05, 1.0))  # during Python / CLI start-up
            else:
                # Once it holds the writer's lock file, at a random instant of the write.
                _wait_for_open(proc, lock_path(db), timeout=60)
                time.sleep(rng.uniform(0.0, 1.2))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=120)
            if proc.returncode == -signal.SIGKILL:
                kills[name] = kills.get(name, 0) + 1
            else:
                assert proc.returncode == 0, (name, err)
            _check(name, db)
    assert sum(kills.values()) >= KILLS_WANTED, (kills, attempts)
    assert all(kills.get(n, 0) >= 4 for n in names), kills
    # Some kills landed in the middle of a run (not only in start-up): those runs were closed
    # as interrupted by the next writer. (A refresh holds its run open only for its brief
    # commit session, which tests/test_refresh_crash.py aims at.)
    mid_run = {}
    for name in ("import bars", "import articles + enrichment", "refresh"):
        with store.reader(scenarios[name][1]) as con:
            mid_run[name] = con.execute(
                "select count(*) from ingest_runs where status = 'interrupted'"
            ).fetchall()[0][0]
    assert mid_run["import bars"] + mid_run["import articles + enrichment"] > 0, mid_run
    print(f"\nkill -9: {attempts} writers started, kills per kind {kills}, mid-run {mid_run}")
