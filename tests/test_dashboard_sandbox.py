"""The SQL console's sandbox: hostile queries are refused or interrupted, normal ones still work."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dashboard import sandbox
from dashboard.sandbox import check_statement, run_sandboxed
from pipelines import store

REPO = Path(__file__).resolve().parent.parent

TIMEOUT_S = 1.0


# (query, expected kind, a word the message must contain)
HOSTILE = [
    ("select * from read_csv('/etc/passwd')", "failed", "disabled"),
    ("select * from read_csv_auto('/etc/hostname')", "failed", "disabled"),
    ("select * from read_parquet('/tmp/anything.parquet')", "failed", "disabled"),
    ("select * from read_json('/etc/os-release')", "failed", "disabled"),
    ("select * from read_text('/etc/hostname')", "failed", "disabled"),
    ("select * from read_blob('/etc/hostname')", "failed", "disabled"),
    ("select * from glob('/*')", "failed", "disabled"),
    ("select * from 'data/other.duckdb'", "failed", ""),
    ("copy bars to '/tmp/stolen.csv'", "refused", "COPY"),
    ("copy (select 1) to '/tmp/x.parquet' (format parquet)", "refused", "COPY"),
    ("attach '/tmp/evil.duckdb' as evil", "refused", "ATTACH"),
    ("detach tw", "refused", "DETACH"),
    ("install httpfs", "refused", "LOAD"),
    ("load httpfs", "refused", "LOAD"),
    ("set enable_external_access = true", "refused", "SET"),
    ("set threads = 64", "refused", "SET"),
    ("reset lock_configuration", "refused", ""),
    ("pragma enable_profiling", "refused", "PRAGMA"),
    ("create table pwned (x int)", "refused", "CREATE"),
    ("create macro m(x) as x", "refused", "CREATE"),
    (
        "insert into events (event_id, title, event_at) values ('x', 'y', now())",
        "refused",
        "INSERT",
    ),
    ("update bars set close = 0", "refused", "UPDATE"),
    ("delete from bars", "refused", "DELETE"),
    ("drop table bars", "refused", "DROP"),
    ("checkpoint", "refused", ""),
    ("export database '/tmp/dump'", "refused", "EXPORT"),
    ("select 1; drop table bars", "refused", "one statement"),
    ("use memory", "refused", ""),
    ("call pragma_version(); select 1", "refused", "one statement"),
    # Compute-bound with constant memory: only the timer can stop it.
    ("select sum(hash(i)) from range(10000000000) t(i)", "timeout", "timeout"),
    # A cartesian product fills the memory cap well before any timer fires.
    (
        "select count(*) from range(100000000) a, range(100000000) b",
        "failed",
        "memory cap",
    ),
    (
        "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r",
        "timeout",
        "timeout",
    ),
    ("select count(*) from bars a, bars b, bars c", "timeout", "timeout"),
    ("select * from read_csv(['/etc/passwd', '/etc/group'])", "failed", "disabled"),
    ("select * from sniff_csv('/etc/passwd')", "failed", "disabled"),
]


@pytest.mark.parametrize(("sql", "kind", "word"), HOSTILE, ids=[h[0][:40] for h in HOSTILE])
def test_hostile_query_is_stopped(fixture_db: Path, sql: str, kind: str, word: str) -> None:
    """Each hostile query is refused or interrupted within the timeout, with a clear message."""
    # Only the timeout cases need the short timer; the others must be stopped by their own rule
    # (refusal, disabled access, memory cap) even on a loaded machine where the cap takes longer.
    timeout_s = TIMEOUT_S if kind == "timeout" else 30 * TIMEOUT_S
    started = time.monotonic()
    result = run_sandboxed(str(fixture_db), sql, timeout_s=timeout_s)
    elapsed = time.monotonic() - started
    assert result.error, f"{sql!r} was not stopped"
    assert result.kind == kind, (result.kind, result.error)
    assert word.lower() in result.error.lower(), result.error
    assert result.frame.height == 0
    # Interrupts land shortly after the timer; the generous bound only guards against a hang.
    assert elapsed < timeout_s + 10


def test_at_least_twenty_hostile_queries() -> None:
    """The issue asks for ≥ 20 hostile queries; keep the list honest."""
    assert len(HOSTILE) >= 20


def test_database_unchanged_and_console_still_serves(fixture_db: Path) -> None:
    """After every hostile query, the data is intact and an ordinary query answers."""
    for sql, _, _ in HOSTILE:
        if sql.startswith(
            (
                "select sum(hash(i)) from range",
                "select count(*) from range",
                "with recursive",
                "select count(*) from bars a",
            )
        ):
            continue  # the slow ones are covered above; keep this test quick
        run_sandboxed(str(fixture_db), sql, timeout_s=TIMEOUT_S)
    result = run_sandboxed(
        str(fixture_db), "select instrument_id, count(*) as n from bars group by 1 order by 1"
    )
    assert result.error is None
    assert result.frame.to_dicts() == [
        {"instrument_id": "BTC", "n": 11_520},
        {"instrument_id": "ETH", "n": 11_490},
        {"instrument_id": "XAU", "n": 2_304},
    ]
    assert not Path("/tmp/stolen.csv").exists()
    assert not Path("/tmp/evil.duckdb").exists()


def test_row_cap_truncates_and_says_so(fixture_db: Path) -> None:
    """More rows than the cap: exactly `cap` rows come back and the result says it was cut."""
    result = run_sandboxed(str(fixture_db), "select * from bars", row_cap=100)
    assert result.error is None
    assert result.frame.height == 100
    assert result.truncated
    small = run_sandboxed(str(fixture_db), "select * from events", row_cap=100)
    assert small.frame.height == 3
    assert not small.truncated


def test_views_and_macros_are_visible(fixture_db: Path) -> None:
    """The attached database's views and macros resolve inside the sandbox."""
    result = run_sandboxed(
        str(fixture_db),
        "select instrument_id, price from latest_quotes where instrument_id = 'BTC'",
    )
    assert result.frame.to_dicts() == [{"instrument_id": "BTC", "price": 73_275.0}]


def test_check_statement_messages() -> None:
    """Empty, unparseable and non-SELECT input each get their own reason."""
    assert check_statement("   ") == "the query is empty"
    assert "does not parse" in check_statement("selec 1 frm")
    assert "CREATE" in check_statement("create table x (i int)")
    assert check_statement("select 1") is None
    assert check_statement("explain select 1") is None


def test_intervals_and_other_unshowable_types_come_back_as_text(fixture_db: Path) -> None:
    result = run_sandboxed(
        str(fixture_db),
        "select interval 1 day as d, [interval 2 hour] as l, 42 as n, 'é' as t",
    )
    assert result.error is None, result.error
    assert result.frame.row(0) == ("1 day", "['02:00:00']", 42, "é")


def test_tickerwire_sql_shows_an_interval(fixture_db: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(fixture_db), "sql",
         "select interval 1 day as d, interval 90 minute as m", "-f", "csv"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["d,m", "1", "day,01:30:00"]


def test_console_queries_wait_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """While a writer holds the file (gate + DuckDB lock), console queries wait and then answer."""
    db = tmp_path / "w.duckdb"
    with store.writing(db, "test"):
        pass
    holding = threading.Event()

    def write() -> None:
        with store.writing(db, "import bars"):
            holding.set()
            time.sleep(1.5)

    writer = threading.Thread(target=write)
    writer.start()
    holding.wait(10)
    results = [run_sandboxed(str(db), "select count(*) as n from bars") for _ in range(3)]
    writer.join()
    assert [(r.kind, r.error) for r in results] == [("ok", None)] * 3
    assert [r.frame.item() for r in results] == [0, 0, 0]


def test_at_most_two_console_queries_run_at_once(fixture_db: Path) -> None:
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, len(multiprocessing.active_children()))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    sql = "select sum(hash(i)) from range(10000000000) t(i)"
    with ThreadPoolExecutor(5) as pool:
        kinds = list(
            pool.map(lambda _: run_sandboxed(str(fixture_db), sql, timeout_s=1.0).kind, range(5))
        )
    done.set()
    watcher.join()
    assert 1 <= peak <= sandbox.MAX_CONCURRENT
    assert set(kinds) <= {"timeout", "busy"} and kinds.count("timeout") >= 2


def test_lock_errors_name_no_path_or_pid(tmp_path: Path) -> None:
    db = tmp_path / "data" / "tickerwire.duckdb"
    message = (
        f'IO Error: Could not set lock on file "{db}": Conflicting lock is held in '
        f"/usr/bin/python3.11 (PID 4242) by user root. See also {Path.home()}/x"
    )
    clean = sandbox._clean(message, str(db))
    assert str(tmp_path) not in clean and "4242" not in clean and str(Path.home()) not in clean
    assert "the database" in clean


def test_a_file_an_older_version_wrote_shows_the_current_views(tmp_path: Path) -> None:
    """The console reads the views as every reader does: the current ones (pipelines/views.py)."""
    from pipelines import views

    db = tmp_path / "old.duckdb"
    with store.writing(db, "test") as writer:
        current = [
            d[0] for d in writer.con.execute("select * from latest_runs limit 0").description
        ]
        writer.con.execute("create or replace view latest_runs as select source from ingest_runs")
        writer.set_meta(views.DIGEST_KEY, "digest-of-an-older-version")
    result = run_sandboxed(str(db), "select * from latest_runs")
    assert result.frame.columns == current != ["source"]
