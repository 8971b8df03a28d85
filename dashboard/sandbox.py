"""The SQL console's sandbox: one read-only SELECT, no file or network access, capped, timed out.

Layers, each enough on its own for most attacks, together for defence in depth:
1. Only a single SELECT (or EXPLAIN) statement is accepted (parsed by DuckDB, not by regex).
2. The query runs in a fresh in-memory DuckDB instance that ATTACHes the database READ_ONLY,
   then turns off external access (no files, no network, no ATTACH/INSTALL/LOAD/COPY) and
   locks the configuration so the query cannot SET it back; extension autoload/autoinstall
   are off and memory and threads are capped.
3. A timer thread calls `interrupt()` when the statement timeout expires.
4. At most `row_cap` rows are fetched; the page says so under the grid.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import duckdb
import polars as pl

ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ROW_CAP = 10_000
MEMORY_LIMIT = "512MB"
THREADS = 1


@dataclass
class ConsoleResult:
    """What the console shows: a frame (or an error message), whether rows were cut, how long."""

    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    error: str | None = None
    kind: str = "ok"  # ok | refused | timeout | failed
    truncated: bool = False
    elapsed_s: float = 0.0
    row_cap: int = DEFAULT_ROW_CAP


def check_statement(sql: str) -> str | None:
    """Return why `sql` is refused (None when it is one SELECT/EXPLAIN statement)."""
    text = sql.strip()
    if not text:
        return "the query is empty"
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        return f"the query does not parse: {_first_line(exc)}"
    if len(statements) != 1:
        return f"one statement at a time, please (got {len(statements)})"
    kind = statements[0].type.name
    if kind not in ALLOWED_STATEMENTS:
        return (
            f"only read-only SELECT queries are allowed here; {kind} statements are refused "
            "(the console cannot change data, settings, files or extensions)"
        )
    return None


def sandbox_connection(db_path: str) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with `db_path` attached read-only and everything else locked down."""
    con = duckdb.connect(
        ":memory:",
        config={
            "threads": THREADS,
            "memory_limit": MEMORY_LIMIT,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "max_temp_directory_size": "0GB",
        },
    )
    try:
        con.execute("attach ? as tw (read_only)", [db_path])
        con.execute("use tw")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except duckdb.Error:
        con.close()
        raise
    return con


def run_sandboxed(
    db_path: str,
    sql: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    row_cap: int = DEFAULT_ROW_CAP,
) -> ConsoleResult:
    """Run one read-only query under the sandbox; never raises for a bad query, returns the reason."""
    started = time.monotonic()
    refusal = check_statement(sql)
    if refusal is not None:
        return ConsoleResult(error=refusal, kind="refused", row_cap=row_cap)
    try:
        con = sandbox_connection(db_path)
    except duckdb.Error as exc:
        return ConsoleResult(
            error=f"cannot open the database: {_first_line(exc)}", kind="failed", row_cap=row_cap
        )
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, stop)
    timer.daemon = True
    timer.start()
    try:
        rel = con.sql(sql)
        # Fetch one row more than the cap to know whether the result was cut.
        frame = pl.DataFrame() if rel is None else rel.limit(row_cap + 1).pl()
        truncated = frame.height > row_cap
        return ConsoleResult(
            frame=frame.head(row_cap),
            truncated=truncated,
            elapsed_s=time.monotonic() - started,
            row_cap=row_cap,
        )
    except duckdb.InterruptException:
        return ConsoleResult(
            error=f"stopped after the {timeout_s:g} s statement timeout; narrow the query "
            "(filter on ts / instrument_id, add a limit) and try again",
            kind="timeout",
            elapsed_s=time.monotonic() - started,
            row_cap=row_cap,
        )
    except duckdb.Error as exc:
        kind = "timeout" if timed_out.is_set() else "failed"
        message = _first_line(exc)
        if "Out of Memory" in message or "memory" in message.lower():
            message = (
                f"the query needs more than the console's {MEMORY_LIMIT} memory cap: {message}"
            )
        return ConsoleResult(
            error=message, kind=kind, elapsed_s=time.monotonic() - started, row_cap=row_cap
        )
    finally:
        timer.cancel()
        con.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
