"""The SQL console's sandbox: one read-only SELECT, no file or network access, capped, timed out.

Layers, each enough on its own for most attacks, together for defence in depth:
1. Only a single SELECT statement (or EXPLAIN [ANALYZE] of one) is accepted, parsed by DuckDB;
   functions that reveal the server (settings, attached paths, secrets, temp files) are refused.
2. The query runs in a worker process of its own, with an address-space limit, so no query can
   grow the dashboard server's memory; a query that outlives its timeout is killed, and at
   most MAX_CONCURRENT run at once.
3. Inside the worker a fresh in-memory DuckDB ATTACHes the database READ_ONLY (after passing
   the writer gate, retrying while a writer commits), turns off external access (no files,
   network, ATTACH, INSTALL, LOAD, COPY), has no temp directory, caps memory and threads, and
   locks the configuration so the query cannot SET it back.
4. Results are fetched in batches until `row_cap` rows or BYTE_CAP bytes, text cells cut at
   CELL_CAP characters; types Polars cannot hold (intervals…) are shown as text.
5. Error messages name no path, home directory or PID.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.errors import first_line
from pipelines.retry import RetryPolicy, call_with_retry

ALLOWED_STATEMENTS = ("SELECT", "EXPLAIN")
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ROW_CAP = 10_000
MEMORY_LIMIT = "512MB"  # DuckDB's own cap inside the worker
WORKER_ADDRESS_SPACE = 1_200_000_000  # bytes the worker may map beyond what it starts with
BYTE_CAP = 64 * 1024 * 1024  # result bytes sent back to the page
CELL_CAP = 10_000  # characters of one text cell
MAX_CONCURRENT = 2  # console queries running at once (others wait up to their timeout)
START_WAIT_S = (
    60.0  # for a worker to start and attach (the gate may hold it while a writer commits)
)
KILL_GRACE_S = 3.0  # after the timeout, how long DuckDB's interrupt gets before a kill
THREADS = 1

# Table and scalar functions a console query may not call: they reveal settings (paths, home
# directory), attached files, secrets, temp files or logs, or act on the file.
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "duckdb_settings",
        "duckdb_databases",
        "duckdb_extensions",
        "duckdb_secrets",
        "which_secret",
        "duckdb_temporary_files",
        "duckdb_memory",
        "duckdb_external_file_cache",
        "duckdb_logs",
        "duckdb_log_contexts",
        "duckdb_variables",
        "getvariable",
        "getenv",
        "checkpoint",
        "force_checkpoint",
        "enable_logging",
        "disable_logging",
        "truncate_duckdb_logs",
        "enable_profiling",
    }
)
DENIED_PREFIXES = ("pragma_",)
_EXPLAIN = re.compile(r"^\s*explain\s+(?:analy[sz]e\s+)?(?:\([^)]*\)\s*)?", re.IGNORECASE)
_PID = re.compile(r"\s*\(?\bPID \d+\)?")
_QUOTED_PATH = re.compile(r"([\"'])(?:[A-Za-z]:)?[/\\][^\"']*\1")

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)


@dataclass
class ConsoleResult:
    """What the console shows: a frame (or an error message), whether rows were cut, how long."""

    frame: pl.DataFrame = field(default_factory=pl.DataFrame)
    error: str | None = None
    kind: str = "ok"  # ok | refused | timeout | failed | busy
    truncated: bool = False
    elapsed_s: float = 0.0
    row_cap: int = DEFAULT_ROW_CAP


# ---------------------------------------------------------------------------- the check


def check_statement(sql: str) -> str | None:
    """Return why `sql` is refused (None when it is one SELECT, or EXPLAIN of one)."""
    text = sql.strip()
    if not text:
        return "the query is empty"
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        return f"the query does not parse: {first_line(exc)}"
    if len(statements) != 1:
        return f"one statement at a time, please (got {len(statements)})"
    kind = statements[0].type.name
    if kind not in ALLOWED_STATEMENTS:
        return _refused(kind)
    if kind == "EXPLAIN":
        # EXPLAIN ANALYZE runs its statement: what is inside must pass the same check.
        inner = _EXPLAIN.sub("", text, count=1)
        try:
            inner_statements = duckdb.extract_statements(inner)
        except duckdb.Error:
            return "EXPLAIN must be followed by one SELECT statement"
        if len(inner_statements) != 1 or inner_statements[0].type.name != "SELECT":
            found = inner_statements[0].type.name if inner_statements else "nothing"
            return f"EXPLAIN may only explain a SELECT; {_refused(found)}"
        text = inner
    denied = sorted(n for n in _called_names(text) if _is_denied(n))
    if denied:
        return (
            f"{', '.join(denied)} is not available in the console (it would show server "
            "settings, paths or files)"
        )
    return None


def _refused(kind: str) -> str:
    return (
        f"only read-only SELECT queries are allowed here; {kind} statements are refused "
        "(the console cannot change data, settings, files or extensions)"
    )


def _is_denied(name: str) -> bool:
    name = name.lower()
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


def _called_names(select_sql: str) -> set[str]:
    """Every function and table name a SELECT refers to, from DuckDB's own parse tree."""
    import json

    with duckdb.connect(":memory:") as con:
        tree = con.execute("select json_serialize_sql(?)", [select_sql]).fetchall()[0][0]
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("function_name", "table_name") and isinstance(value, str):
                    names.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(tree))
    return names


# ---------------------------------------------------------------------------- the worker


def sandbox_connection(db_path: str) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with `db_path` attached read-only and everything else locked down.

    Passes the writer gate first and retries while a writer holds the file, like every reader.
    """
    from pipelines import store, views
    from pipelines.gate import pass_gate

    con = duckdb.connect(
        ":memory:",
        config={
            "threads": THREADS,
            "memory_limit": MEMORY_LIMIT,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            # No temp directory at all: nothing spills, and the default `.tmp` beside the
            # server's working directory is not an allowed directory for the query.
            "temp_directory": "",
            "max_temp_directory_size": "0GB",
        },
    )
    try:
        from pipelines import lake

        if lake.is_lake(db_path) and not lake.is_remote(db_path):
            # lake mode: the lake's views, and its folder the only one a query may read
            root = str(Path(db_path).resolve())
            con.execute("set allowed_directories = ?", [[root + "/"]])
            lake.create_views(con, root)
            con.execute("set enable_external_access = false")
            con.execute("set lock_configuration = true")
            return con
        tries = itertools.count()

        def attach() -> None:
            pass_gate(db_path, timeout=10.0 if next(tries) == 0 else 1.0)
            con.execute("attach ? as tw (read_only)", [db_path])

        # The readers' lock retry: the shared policy, retrying only a lock conflict.
        call_with_retry(
            attach,
            retry_on=(duckdb.Error,),
            policy=RetryPolicy(retries=39, base=0.02, cap=0.5),
            give_up=lambda exc: not store.is_lock_conflict(exc),  # type: ignore[arg-type]
        )
        con.execute("use tw")
        views.apply_for_reader(con)  # a file an older version wrote: its views as they are now
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except duckdb.Error:
        con.close()
        raise
    return con


def _capped_relation(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """The user's query wrapped so text cells are cut and types Polars cannot hold become text."""
    from pipelines.store import polars_can_hold

    rel = con.sql(sql)
    if rel is None:
        return None
    parts = []
    for name, dtype in zip(rel.columns, rel.types, strict=True):
        col = '"' + name.replace('"', '""') + '"'
        text = str(dtype).upper()
        if text == "VARCHAR":
            expr = f"left({col}, {CELL_CAP})"
        elif text in ("BLOB", "JSON") or not polars_can_hold(text):
            expr = f"left({col}::varchar, {CELL_CAP})"
        else:
            expr = col
        parts.append(f"{expr} as {col}")
    return rel.project(", ".join(parts))


def _worker(out: Connection, db_path: str, sql: str, row_cap: int, timeout_s: float) -> None:
    """Run one query in this process and send back ('ok', arrow ipc, truncated) or an error."""
    try:
        import resource

        # On top of what is mapped already (libraries, thread stacks): the query's own room.
        limit = _mapped_bytes() + WORKER_ADDRESS_SPACE
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # no such limit on this platform: DuckDB's memory_limit still applies
    try:
        con = sandbox_connection(db_path)
    except duckdb.Error as exc:
        out.send(("failed", f"cannot open the database: {first_line(exc)}"))
        return
    out.send(("started",))  # the statement timeout counts from here, not from the fork
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        rel = _capped_relation(con, sql)
        if rel is None:
            out.send(("ok", b"", False))
            return
        out.send(("ok", *_fetch(rel, row_cap)))
    except duckdb.InterruptException:
        out.send(("timeout", ""))
    except duckdb.Error as exc:
        message = first_line(exc)
        if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in message.lower():
            out.send(("memory", message))
        else:
            out.send(("failed", message))
    except MemoryError:
        out.send(("memory", "the result does not fit"))
    finally:
        timer.cancel()
        con.close()


def _mapped_bytes() -> int:
    """The process's current virtual size (Linux /proc), 0 where unknown."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _fetch(rel: duckdb.DuckDBPyRelation, row_cap: int) -> tuple[bytes, bool]:
    """Fetch batches until `row_cap` rows or BYTE_CAP bytes; Arrow IPC bytes and whether cut."""
    import pyarrow as pa

    reader = rel.limit(row_cap + 1).fetch_arrow_reader(2048)
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    truncated = False
    for batch in reader:
        if rows + batch.num_rows > row_cap:
            batch = batch.slice(0, row_cap - rows)
            truncated = True
        if size + batch.nbytes > BYTE_CAP:
            # Keep the rows that fit (text cells are capped, so rows are of bounded size).
            per_row = max(1, batch.nbytes // max(1, batch.num_rows))
            batch = batch.slice(0, max(0, (BYTE_CAP - size) // per_row))
            truncated = True
        batches.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if truncated:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), truncated


# ---------------------------------------------------------------------------- the server side


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that already imported these: a query starts in ~20 ms.
        ctx.set_forkserver_preload(["dashboard.sandbox", "duckdb", "pyarrow"])
        return ctx
    return multiprocessing.get_context("spawn")


def run_sandboxed(
    db_path: str,
    sql: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    row_cap: int = DEFAULT_ROW_CAP,
) -> ConsoleResult:
    """Run one read-only query under the sandbox; never raises for a bad query, returns the reason."""
    started = time.monotonic()

    def result(kind: str, error: str | None = None, **kw: Any) -> ConsoleResult:
        clean = _clean(error, db_path) if error else None
        return ConsoleResult(
            error=clean, kind=kind, elapsed_s=time.monotonic() - started, row_cap=row_cap, **kw
        )

    refusal = check_statement(sql)
    if refusal is not None:
        return result("refused", refusal)
    if not _slots.acquire(timeout=timeout_s):
        return result(
            "busy", f"{MAX_CONCURRENT} console queries are already running; try again shortly"
        )
    try:
        reply = _run_worker(db_path, sql, row_cap, timeout_s)
    finally:
        _slots.release()
    kind = reply[0]
    if kind == "ok":
        _, payload, truncated = reply
        frame = pl.from_arrow(_read_ipc(payload)) if payload else pl.DataFrame()
        assert isinstance(frame, pl.DataFrame)
        return result("ok", frame=frame, truncated=truncated)
    if kind == "timeout":
        return result(
            "timeout",
            f"stopped after the {timeout_s:g} s statement timeout; narrow the query "
            "(filter on ts / instrument_id, add a limit) and try again",
        )
    if kind == "memory":
        return result(
            "failed",
            f"the query needs more than the console's {MEMORY_LIMIT} memory cap: {reply[1]}",
        )
    return result("failed", reply[1])


def _run_worker(db_path: str, sql: str, row_cap: int, timeout_s: float) -> tuple:
    """Start the worker, wait for its reply (killing it after the timeout), return the reply."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(send, db_path, sql, row_cap, timeout_s), daemon=True)
    proc.start()
    send.close()
    try:
        # Starting the worker and attaching the file (which waits at the writer gate while a
        # writer commits) is not the query's time; the statement timeout starts after it.
        if not receive.poll(START_WAIT_S):
            return ("failed", "the console could not open the database in time; try again")
        reply = receive.recv()
        if reply[0] != "started":
            return reply
        if receive.poll(timeout_s + KILL_GRACE_S):
            return receive.recv()
        return ("timeout", "")
    except EOFError:
        return ("memory", "the worker running the query stopped (it ran out of memory)")
    finally:
        receive.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)


def _read_ipc(payload: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all()


def _clean(message: str, db_path: str) -> str:
    """The message without the database's path, the home directory or any PID."""
    path = Path(db_path).resolve()
    for text, placeholder in (
        (str(path), "the database"),
        (str(db_path), "the database"),
        (str(path.parent), "<data folder>"),
        (os.path.expanduser("~"), "~"),
    ):
        if text and text not in ("/", "~"):
            message = message.replace(text, placeholder)
    message = _PID.sub("", message)
    return _QUOTED_PATH.sub(r"\1<path>\1", message)
