"""The one writer path: every write takes the refresh lock and the gate; stale runs get closed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines import store
from pipelines.errors import RefreshLocked
from pipelines.gate import RefreshLock, lock_path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _holds_open(pid: int, path: Path) -> bool:
    """True when process `pid` has `path` open (it is waiting for, or holding, that lock)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd_dir / fd) == str(path) for fd in os.listdir(fd_dir))
    except OSError:
        return False


def _write_commands(tmp_path: Path) -> dict[str, list[str]]:
    article = tmp_path / "note.txt"
    article.write_text("Gold climbs as investors weigh export curbs\n\nBody text.\n")
    return {
        "init": ["init"],
        "import bars": ["import", "bars", str(FIXTURES / "imports/dst_bars.csv"), "-i", "XAU",
                        "-t", "1h", "--tz", "Europe/Athens"],
        "import events": ["import", "events", str(FIXTURES / "imports/events.jsonl")],
        "import articles": ["import", "articles", str(article), "--published",
                            "2025-04-21T08:00:00Z", "--no-enrich"],
        "events add": ["events", "add", "--at", "2025-04-02T20:00:00Z", "--title", "Tariffs",
                       "--category", "policy", "--instruments", "BTC"],
        "retention": ["retention", "--force"],
    }  # fmt: skip


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_every_cli_write_path_waits_for_the_refresh_lock(tmp_path, db_path):
    """Hold the lock; each write command must open the lock file, wait, and only then write."""
    lock_file = lock_path(db_path)
    env = dict(os.environ, TICKERWIRE_DB=str(db_path))
    with store.reader(db_path) as con:
        before = con.execute("select count(*) from ingest_runs").fetchall()[0][0]
    holder = RefreshLock(db_path, "refresh").acquire()
    try:
        procs = {
            name: subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", *args],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for name, args in _write_commands(tmp_path).items()
        }
        deadline = time.monotonic() + 60
        waiting: set[str] = set()
        while time.monotonic() < deadline and len(waiting) < len(procs):
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} finished while the lock was held"
                if _holds_open(proc.pid, lock_file):
                    waiting.add(name)
            time.sleep(0.05)
        assert waiting == set(procs), f"never reached the lock: {set(procs) - waiting}"
        time.sleep(0.3)
        assert all(p.poll() is None for p in procs.values())
        with store.reader(db_path) as con:  # nothing was written meanwhile
            assert con.execute("select count(*) from ingest_runs").fetchall()[0][0] == before
    finally:
        holder.release()
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name}: {err}"


def test_a_writer_that_waits_too_long_names_the_holder(db_path):
    with RefreshLock(db_path, "import bars"):
        t0 = time.monotonic()
        with pytest.raises(RefreshLocked) as info, store.writing(db_path, "refresh", wait=0.3):
            pass
        assert 0.3 <= time.monotonic() - t0 < 5
    assert f"another import bars is running: pid {os.getpid()}" in str(info.value)
    with store.writing(db_path, "refresh", wait=0):  # free again
        pass


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_any_writer_closes_runs_whose_owner_is_gone(db_path):
    here = socket.gethostname()
    now = datetime.now(UTC)
    rows = [  # source, pid, host → expected status after the next write
        ("enrich", _dead_pid(), here, "interrupted"),
        ("import:bars", _dead_pid(), here, "interrupted"),
        ("old-version", None, None, "interrupted"),
        ("ccxt", os.getpid(), here, "running"),  # alive: still running
        ("rss", 12345, "another-host.example", "running"),  # cannot be checked from here
    ]
    with store.writer(db_path) as writer:
        for source, pid, host, _ in rows:
            writer.con.execute(
                "insert into ingest_runs (source, started_at, status, pid, host) "
                "values (?, ?, 'running', ?, ?)",
                [source, now, pid, host],
            )
    with store.writing(db_path, "import events"):
        pass
    with store.reader(db_path) as con:
        got = dict(con.execute("select source, status from ingest_runs").fetchall())
        errors = con.execute(
            "select errors from ingest_runs where status = 'interrupted'"
        ).fetchall()
    assert got == {source: want for source, _, _, want in rows}
    assert all(store.STALE_RUN_NOTE in e[0] for e in errors)


def test_the_store_imports_and_reads_without_fcntl(db_path):
    """Windows has no fcntl: the package must import and the reader path must work there."""
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None  # as on Windows: importing it fails\n"
        "import pipelines.store as s, pipelines.gate as g\n"
        f"with s.reader({str(db_path)!r}) as con:\n"
        "    print(con.execute('select count(*) from ingest_runs').fetchall()[0][0])\n"
        f"with s.writing({str(db_path)!r}, 'test') as writer:\n"
        "    writer.start_run('portable')\n"
        "print(g._portalocker() is None)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "True"]
    assert "fcntl" not in (REPO / "pipelines/gate.py").read_text().split('"""', 2)[2]


def test_health_lists_runs_still_running_with_their_owner(db_path):
    with store.writer(db_path) as writer:
        writer.start_run("ccxt")  # owned by this (live) process
        writer.con.execute(
            "insert into ingest_runs (source, started_at, status, pid, host) "
            "values ('rss', now(), 'running', 7, 'another-host.example')"
        )
    env = dict(os.environ, TICKERWIRE_DB=str(db_path))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "health"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    block = proc.stdout.split("runs still running", 1)[1].split("\n\n", 1)[0]
    lines = [ln for ln in block.splitlines() if "ccxt" in ln or "rss" in ln]
    assert len(lines) == 2
    assert "alive" in lines[0] and str(os.getpid()) in lines[0]
    assert "other host" in lines[1] and "another-host.example" in lines[1]


def test_opening_an_up_to_date_file_writes_nothing(db_path):
    """Migrations and views are only written when they changed (a full disk can still be read)."""
    with store.writing(db_path, "test"):
        pass  # the first writer records the views' digest
    before = db_path.read_bytes()
    for _ in range(2):
        with store.writing(db_path, "test") as writer:
            assert writer.migrate() == []
    assert db_path.read_bytes() == before
    assert not db_path.with_name(db_path.name + ".wal").exists()


def test_a_write_that_fails_closes_its_run_with_the_reason(db_path):
    from pipelines.errors import DataError, StoreError

    with pytest.raises(DataError), store.writing(db_path, "import bars") as writer:
        writer.start_run("import:bars")
        raise DataError("bars: batch lacks key column(s) ['ts']")
    with (
        pytest.raises(StoreError, match="cannot write .*Catalog Error"),
        store.writing(db_path, "x") as writer,
    ):
        writer.start_run("import:events")
        writer.con.execute("insert into no_such_table values (1)")
    with store.reader(db_path) as con:
        rows = con.execute(
            "select source, status, errors from ingest_runs order by run_id"
        ).fetchall()
    assert rows[0] == ("import:bars", "failed", "bars: batch lacks key column(s) ['ts']")
    assert rows[1][:2] == ("import:events", "failed") and "no_such_table" in rows[1][2]
