"""A full disk or a read-only folder: one clear line, the reason kept, nothing already stored lost.

Needs a small file system of its own: a 16 MB tmpfs mounted for the test (root only; skipped
otherwise with the reason).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipelines import store
from tests.ops_server import MarketServer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_fs(tmp_path):
    """A 16 MB tmpfs at tmp_path/fs (unmounted afterwards)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("disk-full cases need root to mount a small tmpfs")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(fs: Path, leave_kb: int) -> None:
    """Write a filler file so that only about `leave_kb` KiB stay free (0: not a byte)."""
    (fs / "fill").unlink(missing_ok=True)
    stat = os.statvfs(fs)
    todo = max(0, stat.f_bavail * stat.f_frsize // 1024 - leave_kb)
    fd = os.open(fs / "fill", os.O_WRONLY | os.O_CREAT)
    try:
        chunk = b"\0" * 1024
        while todo > 0 or leave_kb == 0:
            os.write(fd, chunk)
            todo -= 1
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def _bars_csv(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    t0 = datetime(2021, 1, 1)
    lines = ["time,open,high,low,close,volume"]
    for i in range(n):
        o = 10 + rng.random() * 100
        ts = (t0 + timedelta(minutes=i)).isoformat()
        lines.append(f"{ts},{o},{o + 1},{o - 1},{o + rng.random()},{rng.random() * 1e6}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(db), *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.slow
def test_import_on_a_full_disk_says_so_in_one_line_and_keeps_the_reason(small_fs, tmp_path):
    db = small_fs / "t.duckdb"
    small = _bars_csv(tmp_path / "small.csv", 2_000, seed=1)
    big = _bars_csv(tmp_path / "big.csv", 120_000, seed=2)
    assert _cli(db, "import", "bars", str(small), "-i", "BTC", "-t", "1m").returncode == 0

    _fill(small_fs, leave_kb=200)  # room to start, not to finish
    line = _one_line(_cli(db, "import", "bars", str(big), "-i", "ETH", "-t", "1m"))
    assert "No space left on device" in line and "free space and retry" in line

    _fill(small_fs, leave_kb=0)  # not a byte: the writer cannot even start its run
    line = _one_line(_cli(db, "import", "bars", str(big), "-i", "ETH", "-t", "1m"))
    assert "No space left on device" in line and "disk is full" in line
    # A reader still works on a full disk, and what was stored before is intact.
    out = _cli(db, "sql", "select count(*) from bars where instrument_id = 'BTC'", "-f", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["count_star()", "2000"]

    (small_fs / "fill").unlink()
    with store.reader(db) as con:
        runs = con.execute(
            "select source, status, errors from ingest_runs order by run_id"
        ).fetchall()
        assert con.execute("select count(*) from bars where instrument_id = 'ETH'").fetchall() == [
            (0,)
        ]
    assert runs[0][:2] == ("import:bars", "ok")
    assert runs[1][1] == "failed" and "No space left on device" in runs[1][2]
    assert all(status != "running" for _, status, _ in runs)


def test_refresh_on_a_full_disk_says_why_and_leaves_no_partial_batch(small_fs):
    db = small_fs / "r.duckdb"
    with MarketServer(n_bars=40_000) as srv:
        env = dict(
            os.environ,
            TICKERWIRE_SYNTHETIC_URL=srv.url,
            TICKERWIRE_SYNTHETIC_SYMBOLS="BTC,ETH",
            TICKERWIRE_SYNTHETIC_PAGE="1000",
        )
        cmd = [sys.executable, "-m", "pipelines.refresh", "--db", str(db), "--source",
               "synthetic", "--only", "prices"]  # fmt: skip
        assert _cli(db, "init").returncode == 0
        _fill(small_fs, leave_kb=300)
        full = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        (small_fs / "fill").unlink()
        again = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in full.stderr + full.stdout
    assert full.returncode == 1, full.stdout + full.stderr
    [summary_line] = [ln for ln in full.stdout.splitlines() if ln.startswith("synthetic")]
    assert "failed" in summary_line and "not stored: cannot write" in summary_line
    assert again.returncode == 0, again.stdout + again.stderr
    with store.reader(db) as con:
        statuses = [
            r[0] for r in con.execute("select status from ingest_runs order by run_id").fetchall()
        ]
        assert store.duplicate_keys(con, "bars") == 0
        per_symbol = con.execute(
            "select count(*) from bars group by instrument_id order by 1"
        ).fetchall()
    # The failed run is closed (by itself if it could still write, else by the next writer),
    # and the next refresh stored its batches once, whole.
    assert statuses[0] in ("failed", "interrupted") and statuses[1:] == ["ok"]
    assert len(per_symbol) == 2 and per_symbol[0] == per_symbol[1] and per_symbol[0][0] > 0


def test_a_read_only_folder_gives_one_line_and_readers_still_work(small_fs, tmp_path):
    db = small_fs / "ro.duckdb"
    assert _cli(db, "init").returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.refresh", "--db", str(db), "--only", "news"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    line = _one_line(proc)
    assert "read-only" in line.lower()
    csv = tmp_path / "b.csv"
    csv.write_text("time,price\n2026-01-01 00:00:00,10\n")
    line = _one_line(_cli(db, "import", "bars", str(csv), "-i", "BTC", "-t", "1h"))
    assert "read-only" in line.lower()
    out = _cli(db, "sql", "select count(*) as n from ingest_runs", "-f", "csv")
    assert out.returncode == 0 and out.stdout.split() == ["n", "0"], out.stderr
