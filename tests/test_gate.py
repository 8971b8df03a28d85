"""The writer-priority gate: new readers wait while a writer holds it; a dead writer frees it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from pipelines.gate import gate_path, pass_gate, writer_gate


def test_reader_waits_at_the_gate_until_the_writer_is_done(tmp_path):
    db = tmp_path / "g.duckdb"
    order: list[str] = []
    holding = threading.Event()

    def write() -> None:
        with writer_gate(db) as taken:
            assert taken
            holding.set()
            time.sleep(0.3)
            order.append("writer done")

    writer = threading.Thread(target=write)
    writer.start()
    holding.wait(5)
    pass_gate(db, timeout=10)
    order.append("reader passed")
    writer.join()
    assert order == ["writer done", "reader passed"]


def test_gate_of_a_killed_writer_is_free(tmp_path):
    db = tmp_path / "g.duckdb"
    code = (
        "import sys, time\n"
        "from pipelines.gate import writer_gate\n"
        f"with writer_gate({str(db)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with writer_gate(db, timeout=0.05) as taken:
        assert not taken  # held by the other process
    proc.kill()
    proc.wait()
    with writer_gate(db, timeout=5) as taken:
        assert taken  # the kernel dropped the dead writer's lock
    assert gate_path(db).name == "g.duckdb.gate"


def test_no_gate_file_means_no_wait(tmp_path):
    pass_gate(tmp_path / "absent.duckdb", timeout=0)  # returns at once, nothing to wait for
    assert not gate_path(tmp_path / "absent.duckdb").exists()
