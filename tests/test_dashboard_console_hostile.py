"""≥ 80 hostile console queries run through the sandbox in a process standing in for the server.

Each query is refused, stopped or capped with a clear message that names no path, home folder
or PID; the server's own peak memory stays under 1 GB through the whole set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.console_corpus import CORPUS

REPO = Path(__file__).resolve().parent.parent
PEAK_LIMIT_MB = 1024


@pytest.fixture(scope="module")
def corpus_run(fixture_db: Path) -> tuple[dict[str, dict], float]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.console_corpus", str(fixture_db)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return {d["sql"]: d for d in lines[:-1]}, lines[-1]["peak_rss_mb"]


def test_the_corpus_is_large_and_unique():
    assert len(CORPUS) >= 80
    assert len({sql for sql, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.slow
def test_every_hostile_query_is_stopped_with_a_clean_message(corpus_run, fixture_db):
    results, _ = corpus_run
    home = os.path.expanduser("~")
    leaks = (str(fixture_db), str(fixture_db.parent), home, "PID ")
    for sql, kinds, word in CORPUS:
        got = results[sql]
        assert got["kind"] in kinds, (sql, got)
        if got["kind"] != "ok":
            assert word.lower() in got["error"].lower(), (sql, got["error"])
            assert not any(leak in got["error"] for leak in leaks), (sql, got["error"])
        assert got["rows"] <= 1000 and got["bytes"] <= 64 * 1024 * 1024, (sql, got)
        assert got["elapsed"] < 15, (sql, got)


@pytest.mark.slow
def test_the_server_stays_under_a_gigabyte(corpus_run):
    _, peak_mb = corpus_run
    assert peak_mb < PEAK_LIMIT_MB, f"server peak RSS {peak_mb:.0f} MB"
