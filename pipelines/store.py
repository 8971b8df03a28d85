"""The DuckDB store: connections (writer or read-only), migrations, upsert, named SQL, run log."""

from __future__ import annotations

import errno
import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import views
from pipelines.errors import StoreError, StoreLocked, first_line
from pipelines.gate import RefreshLock, pass_gate, writer_gate
from pipelines.paths import default_db_path, migration_files, sql_dir
from pipelines.retry import RetryPolicy, call_with_retry

# What other modules reach through `store.`: the run log and the upsert live in their own
# modules (pipelines/runlog.py, pipelines/upsert.py) and are re-exported here.
from pipelines.runlog import STALE_RUN_NOTE as STALE_RUN_NOTE
from pipelines.runlog import RunLog as RunLog
from pipelines.runlog import close_run, close_stale_runs, open_run
from pipelines.runlog import data_version as data_version
from pipelines.runlog import process_alive as process_alive
from pipelines.schemas import Reject as Reject
from pipelines.upsert import BOOKKEEPING_COLUMNS as BOOKKEEPING_COLUMNS
from pipelines.upsert import UNENFORCED_KEYS as UNENFORCED_KEYS
from pipelines.upsert import UpsertResult as UpsertResult
from pipelines.upsert import commit_batch as commit_batch
from pipelines.upsert import duplicate_keys as duplicate_keys
from pipelines.upsert import q, rollback, upsert

# Storage format of new files: readable by duckdb 1.4+ (and so by the PyPI duckdb CLI).
STORAGE_COMPATIBILITY = "v1.4.0"


# The writer waits longer than a reader would: readers come and go, the commit must land.
WRITER_OPEN = {"retries": 60, "base_delay": 0.02, "max_delay": 0.25}
# Seconds a write waits for another writer's session (refresh commit, import…) to end.
WRITE_WAIT = 60.0

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>\S+)(?: \(PID (?P<pid>\d+)\))?")


# ---------------------------------------------------------------------------- SQL files


def load_sql(name: str) -> str:
    """Return the text of a named SQL file: 'queries/foo', 'views/bar' or a bare query name."""
    rel = name if name.endswith(".sql") else f"{name}.sql"
    base = sql_dir()
    for candidate in (base / rel, base / "queries" / rel):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise StoreError(
        f"no SQL file named {name!r} under {base} (looked in {base}/ and {base}/queries/)"
    )


def _fill_sessions(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 0050's data: the generated trading sessions (pipelines/calendars.py)."""
    from pipelines.calendars import write_sessions

    write_sessions(con)


# Python steps run in a migration's transaction, right after its SQL (generated data).
_MIGRATION_DATA_STEPS = {"0050_sessions.sql": _fill_sessions}


# ---------------------------------------------------------------------------- connections


def is_lock_conflict(exc: Exception) -> bool:
    """True when a DuckDB error says another process holds the file's lock."""
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _lock_holder(exc: Exception) -> str | None:
    match = _LOCK_HOLDER.search(str(exc))
    if not match:
        return None
    holder = match.group("holder").strip()
    return f"{holder} (PID {match.group('pid')})" if match.group("pid") else holder


def open_connection(
    db_path: str | Path | None = None,
    *,
    read_only: bool = False,
    retries: int = 8,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
    config: dict[str, Any] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the database file; on a lock conflict retry (the shared RetryPolicy), then raise StoreLocked."""
    path = Path(db_path) if db_path is not None else default_db_path()
    if read_only and not path.exists():
        raise StoreError(
            f"database {path} does not exist; run `tickerwire init` or `tickerwire demo` first"
        )
    config = dict(config or {})
    # DuckDB plans an asof join with a small left side as a nested loop, which took minutes on
    # a month of 1-minute bars; the hash-based plan takes about a second.
    config.setdefault("asof_loop_join_threshold", 0)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Write a storage format the duckdb CLI on PyPI (1.x) can open, so users can run
            # `duckdb -readonly data/tickerwire.duckdb` on the file.
            config.setdefault("storage_compatibility_version", STORAGE_COMPATIBILITY)
    policy = RetryPolicy(retries=retries, base=base_delay, cap=max_delay)
    tries = itertools.count()

    def connect() -> duckdb.DuckDBPyConnection:
        if read_only:
            # A waiting writer goes first, so readers cannot starve a commit (pipelines/gate.py);
            # after the first wait, retries only pause briefly at the gate.
            pass_gate(path, timeout=10.0 if next(tries) == 0 else max_delay)
        con = duckdb.connect(str(path), read_only=read_only, config=config)
        # No progress bar drawn on stdout in the middle of CLI output.
        con.execute("set enable_progress_bar = false")
        if read_only:  # a file last written by an older version: its views as they are now
            views.apply_for_reader(con)
        return con

    try:
        return call_with_retry(
            connect, retry_on=(duckdb.Error,), policy=policy, give_up=_not_a_lock_conflict
        )
    except duckdb.Error as exc:  # IOException on lock conflicts
        if is_lock_conflict(exc):
            raise StoreLocked(str(path), _lock_holder(exc)) from exc
        raise StoreError(f"cannot open database {path}: {first_line(exc)}") from exc


def _not_a_lock_conflict(exc: BaseException) -> bool:
    return not (isinstance(exc, Exception) and is_lock_conflict(exc))


@contextmanager
def reader(db_path: str | Path | None = None, **kwargs: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection (retries on a held write lock) to the database file,
    or to a Parquet lake when `db_path` is one (lake mode, pipelines/lake.py)."""
    con = open_reader(db_path, **kwargs)
    try:
        yield con
    finally:
        con.close()


def open_reader(db_path: str | Path | None = None, **kwargs: Any) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the database file or lake at `db_path`; the caller closes it."""
    from pipelines import lake  # lake mode only: keeps start-up of file readers unchanged

    if db_path is not None and lake.is_lake(db_path):
        return lake.open_reader(db_path)
    return open_connection(db_path, read_only=True, **kwargs)


@contextmanager
def writing(
    db_path: str | Path | None = None,
    command: str = "write",
    *,
    wait: float = WRITE_WAIT,
    migrate: bool = True,
    fresh: bool = False,
) -> Iterator[Store]:
    """The one way to write: take the refresh lock, then the writer gate, then a writer Store.

    Every write path (refresh, schedule, import, events add, demo, retention, init) comes
    through here, so writers queue for each other on the lock (`wait` seconds, then
    RefreshLocked naming the holder) and readers yield at the gate while the write lasts.
    The lock comes first so that a writer waiting for another one does not hold the gate.
    `fresh` deletes the file (and its WAL) once both are held, to write a new one: readers
    wait at the gate for the new file instead of finding none (those inside keep the old one).
    """
    path = Path(db_path) if db_path is not None else default_db_path()
    try:
        with exclusive(path, command, wait=wait):
            if fresh:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".wal").unlink(missing_ok=True)
            with writer(path, migrate_first=migrate, **WRITER_OPEN) as session:
                try:
                    if migrate:
                        session.close_stale_runs()  # any writer tidies up after a killed one
                    yield session
                except KeyboardInterrupt:
                    _fail_open_runs(session, "stopped by Ctrl-C", "interrupted")
                    raise
                except Exception as exc:
                    reason = write_failure(path, exc)
                    _fail_open_runs(session, reason, "failed")
                    if isinstance(exc, duckdb.Error | OSError | StoreError):
                        raise StoreError(reason) from exc
                    raise
    except (duckdb.Error, OSError) as exc:
        raise StoreError(write_failure(path, exc)) from exc


@contextmanager
def exclusive(db_path: str | Path, command: str, *, wait: float = WRITE_WAIT) -> Iterator[Path]:
    """The refresh lock, then the writer gate, held together (no connection): what `writing`
    takes before it opens the writer, and what replacing the whole file (the demo) takes."""
    path = Path(db_path)
    with RefreshLock(path, command, timeout=wait), writer_gate(path):
        yield path


def write_failure(path: Path, exc: BaseException) -> str:
    """One line saying why a write to the database failed, with what to do for the usual causes."""
    text = first_line(exc)
    if isinstance(exc, duckdb.Error | OSError):
        text = f"cannot write {path}: {text}"
    low = text.lower()
    code = getattr(exc, "errno", None)
    if "no space left" in low or code == errno.ENOSPC:
        return f"{text} (the disk is full: free space and retry)"
    if "read-only" in low or code in (errno.EROFS, errno.EACCES):
        return f"{text} (the file or its folder is read-only)"
    return text


def _fail_open_runs(session: Store, reason: str, status: str) -> None:
    """Close the runs a failed session started, with the reason (best effort)."""
    rollback(session.con)
    for run in list(session.open_runs):
        run.errors.append(reason)
        with suppress(duckdb.Error):  # the disk may still be full: the next writer closes it
            session.finish_run(run, status)


@contextmanager
def writer(
    db_path: str | Path | None = None, *, migrate_first: bool = True, **kwargs: Any
) -> Iterator[Store]:
    """A bare writer Store (no lock, no gate: tests and one-process tools); use `writing` to write."""
    con = open_connection(db_path, read_only=False, **kwargs)
    store = Store(con, Path(db_path) if db_path else default_db_path())
    try:
        if migrate_first:
            store.migrate()
        yield store
    finally:
        con.close()


# ---------------------------------------------------------------------------- the store


class Store:
    """A writer connection with the operations every writer needs."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path):
        self.con = con
        self.path = path
        self._keys: dict[str, list[str]] = {}
        self._columns: dict[str, list[str]] = {}
        self.open_runs: list[RunLog] = []  # started here, not finished yet

    # -- schema ----------------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply each migration not yet recorded in _migrations (one transaction each); refresh views.

        Writes only when something changed: an up-to-date file is only read, so opening a
        writer on a full disk fails at the write that needs space, not here.
        """
        con = self.con
        has_log = con.execute(
            "select count(*) from duckdb_tables() where table_name = '_migrations' "
            "and schema_name = 'main' and database_name = current_database()"
        ).fetchall()[0][0]
        if not has_log:
            con.execute(
                "create table _migrations (name varchar primary key, applied_at timestamptz not null)"
            )
        done = {row[0] for row in con.execute("select name from _migrations").fetchall()}
        applied: list[str] = []
        for path in migration_files():
            if path.name in done:
                continue
            con.execute("begin transaction")
            try:
                con.execute(path.read_text(encoding="utf-8"))
                if path.name in _MIGRATION_DATA_STEPS:  # data a migration's tables start with
                    _MIGRATION_DATA_STEPS[path.name](con)
                con.execute("insert into _migrations values (?, ?)", [path.name, datetime.now(UTC)])
                con.execute("commit")
            except duckdb.Error as exc:
                rollback(con)
                raise StoreError(f"migration {path.name} failed: {first_line(exc)}") from exc
            applied.append(path.name)
        self._refresh_views(force=bool(applied))
        self._keys.clear()
        self._columns.clear()
        return applied

    def _refresh_views(self, *, force: bool) -> None:
        """Re-create the views when their definitions changed (a digest of them is kept in meta)."""
        texts, digest = views.definitions()
        if not force and views.stored_digest(self.con) == digest:
            return
        self.con.execute("begin transaction")
        try:
            for text in texts:
                self.con.execute(text)
            self.set_meta(views.DIGEST_KEY, digest)
            self.con.execute("commit")
        except duckdb.Error as exc:
            rollback(self.con)
            raise StoreError(f"creating the views failed: {first_line(exc)}") from exc

    def table_columns(self, table: str) -> list[str]:
        """The table's column names in declaration order."""
        if table not in self._columns:
            rows = self.con.execute(
                "select column_name from duckdb_columns() where table_name = ? and schema_name = 'main' "
                "order by column_index",
                [table],
            ).fetchall()
            if not rows:
                raise StoreError(f"no table named {table!r}; run `tickerwire init`")
            self._columns[table] = [r[0] for r in rows]
        return self._columns[table]

    def primary_key(self, table: str) -> list[str]:
        """The table's key columns: its declared PRIMARY KEY, else its entry in UNENFORCED_KEYS."""
        if table not in self._keys:
            rows = self.con.execute(
                "select constraint_column_names from duckdb_constraints() "
                "where table_name = ? and constraint_type = 'PRIMARY KEY'",
                [table],
            ).fetchall()
            if rows:
                self._keys[table] = list(rows[0][0])
            elif table in UNENFORCED_KEYS:
                self._keys[table] = list(UNENFORCED_KEYS[table])
            else:
                raise StoreError(f"table {table!r} has no primary key; upsert needs one")
        return self._keys[table]

    # -- writing ---------------------------------------------------------------------------

    def upsert(
        self, table: str, frame: pl.DataFrame, *, in_transaction: bool = False
    ) -> UpsertResult:
        """Insert new keys and update changed rows of `frame` into `table` (pipelines/upsert.py)."""
        return upsert(
            self.con,
            table,
            frame,
            columns=self.table_columns(table),
            keys=self.primary_key(table),
            in_transaction=in_transaction,
        )

    def record_rejects(self, source: str, rejects: Sequence[Reject]) -> int:
        """Store refused items in `rejects` (nothing is silently dropped); return how many."""
        if rejects:
            commit_batch(self, source, "", {}, rejects=rejects)
        return len(rejects)

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, source: str) -> RunLog:
        """Open a row in ingest_runs with status 'running', owned by this process (pid, host)."""
        run = open_run(self.con, source)
        self.open_runs.append(run)
        return run

    def close_stale_runs(self) -> int:
        """Mark 'interrupted' every run left 'running' by a process that is gone; return how many."""
        return close_stale_runs(self.con)

    def finish_run(self, run: RunLog, status: str | None = None) -> str:
        """Close the run with its counts; status defaults to ok / partial / failed from the errors."""
        if run in self.open_runs:
            self.open_runs.remove(run)
        return close_run(self.con, run, status)

    # -- small helpers ---------------------------------------------------------------------

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with None, delete) a fact about the file in `meta`."""
        if value is None:
            self.con.execute("delete from meta where key = ?", [key])
        else:
            self.con.execute(
                "insert into meta values (?, ?) on conflict (key) do update set value = excluded.value",
                [key, value],
            )

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run SQL on the writer connection and return a Polars frame."""
        return query_frame(self.con, sql, params)


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
) -> pl.DataFrame:
    """Run SQL (with bind parameters) and return a Polars frame."""
    # duckdb 2: relations (con.sql) convert to Polars; DB-API results (con.execute) do not.
    rel = con.sql(sql, params=params) if params is not None else con.sql(sql)
    if rel is None:
        return pl.DataFrame()
    if not all(polars_can_hold(str(t)) for t in rel.types):
        rel = as_text_where_needed(rel)  # intervals…: shown as their text
    # Through the Arrow C stream interface: same frame as rel.pl(), without importing pyarrow,
    # which alone costs 0.4 s of every short command's start-up (bench/bench_startup.py).
    return pl.DataFrame(rel)


# DuckDB types whose Arrow form Polars refuses (intervals…): shown as their text instead.
_UNHOLDABLE_TYPES = ("INTERVAL", "TIME WITH TIME ZONE", "UNION(", "BIT", "VARINT", "BIGNUM")


def polars_can_hold(duckdb_type: str) -> bool:
    """False for a DuckDB type (or a nested type holding one) that Polars cannot represent."""
    text = duckdb_type.upper()
    return not any(t in text for t in _UNHOLDABLE_TYPES)


def as_text_where_needed(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """The relation with every column Polars cannot hold cast to text (the rest unchanged)."""
    parts = [
        f"{q(name)}::varchar as {q(name)}" if not polars_can_hold(str(dtype)) else q(name)
        for name, dtype in zip(rel.columns, rel.types, strict=True)
    ]
    return rel.project(", ".join(parts))
