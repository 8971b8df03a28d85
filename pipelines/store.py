"""The DuckDB store: connections (writer or read-only), migrations, upsert, named SQL, run log."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import re
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.errors import DataError, StoreError, StoreLocked, first_line
from pipelines.gate import RefreshLock, pass_gate, writer_gate
from pipelines.paths import default_db_path, sql_dir, view_files

# Storage format of new files: readable by duckdb 1.4+ (and so by the PyPI duckdb CLI).
STORAGE_COMPATIBILITY = "v1.4.0"

# Keys of tables that do not declare them as a PRIMARY KEY. `bars` is the largest table and
# DuckDB maintains a declared key as an ART index on every append, which halved ingest speed
# (migration 0020). Store.upsert keeps these keys unique; `duplicate_keys` checks it.
UNENFORCED_KEYS: dict[str, tuple[str, ...]] = {"bars": ("instrument_id", "timeframe", "ts")}

# Columns that record when and where a row was read; they never count as a change (the same
# report re-imported from another file, or listed by a second feed, is already present).
BOOKKEEPING_COLUMNS = frozenset({"ingested_at", "fetched_at", "updated_at", "feed"})

# What a run closed on behalf of its dead owner says.
STALE_RUN_NOTE = "the process running it stopped before finishing (killed or crashed)"

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


def migration_files() -> list[Path]:
    """The migration files in the order they are applied (by their NNNN_ prefix)."""
    return sorted((sql_dir() / "migrations").glob("*.sql"))


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
    """Open the database file; on a lock conflict retry with jittered backoff, then raise StoreLocked."""
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
    last: Exception | None = None
    for attempt in range(retries + 1):
        if read_only:
            # A waiting writer goes first, so readers cannot starve a commit (pipelines/gate.py);
            # after the first wait, retries only pause briefly at the gate.
            pass_gate(path, timeout=10.0 if attempt == 0 else max_delay)
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            # No progress bar drawn on stdout in the middle of CLI output.
            con.execute("set enable_progress_bar = false")
            return con
        except duckdb.Error as exc:  # IOException on lock conflicts
            if not is_lock_conflict(exc):
                raise StoreError(
                    f"cannot open database {path}: {str(exc).splitlines()[0]}"
                ) from exc
            last = exc
            if attempt < retries:
                delay = min(max_delay, base_delay * 2**attempt)
                time.sleep(delay * (0.5 + random.random() / 2))
    raise StoreLocked(str(path), _lock_holder(last) if last else None) from last


@contextmanager
def reader(db_path: str | Path | None = None, **kwargs: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection (retries on a held write lock) to the database file,
    or to a Parquet lake when `db_path` is one (lake mode, pipelines/lake.py)."""
    from pipelines import lake  # lake mode only: keeps start-up of file readers unchanged

    if db_path is not None and lake.is_lake(db_path):
        con = lake.open_reader(db_path)
    else:
        con = open_connection(db_path, read_only=True, **kwargs)
    try:
        yield con
    finally:
        con.close()


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
        with RefreshLock(path, command, timeout=wait), writer_gate(path):
            if fresh:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".wal").unlink(missing_ok=True)
            with writer(path, migrate_first=migrate, **WRITER_OPEN) as st:
                try:
                    if migrate:
                        st.close_stale_runs()  # any writer tidies up after a killed one
                    yield st
                except KeyboardInterrupt:
                    _fail_open_runs(st, "stopped by Ctrl-C", "interrupted")
                    raise
                except Exception as exc:
                    reason = write_failure(path, exc)
                    _fail_open_runs(st, reason, "failed")
                    if isinstance(exc, duckdb.Error | OSError | StoreError):
                        raise StoreError(reason) from exc
                    raise
    except (duckdb.Error, OSError) as exc:
        raise StoreError(write_failure(path, exc)) from exc


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


def _fail_open_runs(st: Store, reason: str, status: str) -> None:
    """Close the runs a failed session started, with the reason (best effort)."""
    _rollback(st.con)
    for run in list(st.open_runs):
        run.errors.append(reason)
        with suppress(duckdb.Error):  # the disk may still be full: the next writer closes it
            st.finish_run(run, status)


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


@dataclass
class UpsertResult:
    """What one upsert did: rows read, inserted (new keys), updated (changed), unchanged."""

    table: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_in_batch: int = 0

    @property
    def stored(self) -> int:
        """Rows written: new plus changed."""
        return self.inserted + self.updated

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.read += other.read
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duplicates_in_batch += other.duplicates_in_batch
        return self


@dataclass
class Reject:
    """One refused input item: why, and enough of it to find it again."""

    reason: str
    raw: str = ""


@dataclass
class RunLog:
    """Counts collected while a run is in progress, written to ingest_runs when it finishes."""

    run_id: int
    source: str
    read: int = 0
    stored: int = 0
    present: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, result: UpsertResult) -> None:
        """Fold an upsert's counts into the run."""
        self.read += result.read
        self.stored += result.stored
        self.present += result.unchanged + result.duplicates_in_batch


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
                _rollback(con)
                raise StoreError(
                    f"migration {path.name} failed: {str(exc).splitlines()[0]}"
                ) from exc
            applied.append(path.name)
        self._refresh_views(force=bool(applied))
        self._keys.clear()
        self._columns.clear()
        return applied

    def _refresh_views(self, *, force: bool) -> None:
        """Re-create the views when their definitions changed (a digest of them is kept in meta)."""
        texts = [p.read_text(encoding="utf-8") for p in view_files()]
        digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()
        stored = self.con.execute("select value from meta where key = 'views_sha256'").fetchall()
        if not force and stored and stored[0][0] == digest:
            return
        self.con.execute("begin transaction")
        try:
            for text in texts:
                self.con.execute(text)
            self.set_meta("views_sha256", digest)
            self.con.execute("commit")
        except duckdb.Error as exc:
            _rollback(self.con)
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
        """Insert new keys and update changed rows of `frame` into `table`, in one transaction.

        Duplicate keys inside the batch keep their last occurrence. Rows identical to what is
        stored are left alone (so re-running a refresh writes nothing).
        """
        result = UpsertResult(table=table, read=frame.height)
        if frame.height == 0:
            return result
        columns = self.table_columns(table)
        unknown = [c for c in frame.columns if c not in columns]
        if unknown:
            raise DataError(f"{table}: unknown column(s) {unknown}; allowed: {columns}")
        keys = self.primary_key(table)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise DataError(f"{table}: batch lacks key column(s) {missing}")
        # Batches from the sources arrive in key order; checking that costs a tenth of unique().
        batch = (
            frame
            if _strictly_increasing(frame, keys)
            else frame.unique(subset=keys, keep="last", maintain_order=True)
        )
        result.duplicates_in_batch = frame.height - batch.height
        cols = list(batch.columns)
        values = [c for c in cols if c not in keys]
        compared = [c for c in values if c not in BOOKKEEPING_COLUMNS]
        key_match = " and ".join(f"t.{_q(k)} = b.{_q(k)}" for k in keys)
        col_list = ", ".join(_q(c) for c in cols)
        b_cols = ", ".join(f"b.{_q(c)}" for c in cols)
        # Only stored rows inside the batch's key ranges can match it: bounding the lookups by
        # them lets DuckDB skip the rest of the table (zone maps) instead of scanning all of it.
        bounded = [k for k in keys if _orderable(batch.schema[k])]
        span = batch.select(
            [pl.col(k).min().alias(f"lo_{i}") for i, k in enumerate(bounded)]
            + [pl.col(k).max().alias(f"hi_{i}") for i, k in enumerate(bounded)]
        ).row(0)
        where = " and ".join(f"{_q(k)} between ? and ?" for k in bounded) or "true"
        where_params = [v for i in range(len(bounded)) for v in (span[i], span[len(bounded) + i])]
        stored = f"(select {', '.join(_q(k) for k in keys)} from {_q(table)} where {where})"
        con = self.con
        name = "_upsert_batch"
        con.complete()  # duckdb refuses register() while a previous result is unfinished
        con.register(name, batch.to_arrow())
        own_tx = not in_transaction
        try:
            if own_tx:
                con.execute("begin transaction")
            # A batch whose key range holds no stored row (a backfill, an import, new bars) is
            # appended as is: the update and the anti-join could only find nothing.
            present = con.execute(f"select count(*) from {stored}", where_params).fetchall()[0][0]
            # Changed rows first (only keys already stored can match), then the new keys
            # straight from the batch: no intermediate copy of the batch is materialised.
            if compared and present:
                assignments = ", ".join(f"{_q(c)} = b.{_q(c)}" for c in values)
                match_t = " and ".join(f"{_q(table)}.{_q(k)} = b.{_q(k)}" for k in keys)
                changed = " or ".join(
                    f"{_q(table)}.{_q(c)} is distinct from b.{_q(c)}" for c in compared
                )
                bounds_t = (
                    " and ".join(f"{_q(table)}.{_q(k)} between ? and ?" for k in bounded) or "true"
                )
                result.updated = con.execute(
                    f"update {_q(table)} set {assignments} from {name} b "
                    f"where {match_t} and {bounds_t} and ({changed})",
                    where_params,
                ).fetchall()[0][0]
            if present:
                result.inserted = con.execute(
                    f"insert into {_q(table)} ({col_list}) select {b_cols} from {name} b "
                    f"anti join {stored} t on {key_match}",
                    where_params,
                ).fetchall()[0][0]
            else:
                result.inserted = con.execute(
                    f"insert into {_q(table)} ({col_list}) select {col_list} from {name}"
                ).fetchall()[0][0]
            result.unchanged = batch.height - result.inserted - result.updated
            if own_tx:
                con.execute("commit")
        except duckdb.Error as exc:
            if own_tx:
                _rollback(con)
            raise StoreError(f"upsert into {table} failed: {first_line(exc)}") from exc
        finally:
            # After a failed write (disk full) the connection may refuse even this; the
            # error being raised is the one that says why.
            with suppress(duckdb.Error):
                con.unregister(name)
        return result

    def record_rejects(self, source: str, rejects: Sequence[Reject]) -> int:
        """Store refused items in `rejects` (nothing is silently dropped); return how many."""
        if rejects:
            commit_batch(self, source, "", {}, rejects=rejects)
        return len(rejects)

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, source: str) -> RunLog:
        """Open a row in ingest_runs with status 'running', owned by this process (pid, host)."""
        row = self.con.execute(
            "insert into ingest_runs (source, started_at, status, pid, host) "
            "values (?, ?, 'running', ?, ?) returning run_id",
            [source, datetime.now(UTC), os.getpid(), socket.gethostname()],
        ).fetchall()[0]
        run = RunLog(run_id=int(row[0]), source=source)
        self.open_runs.append(run)
        return run

    def close_stale_runs(self) -> int:
        """Mark 'interrupted' every run left 'running' by a process that is gone; return how many.

        A run's owner is gone when it ran on this host and its pid is no longer alive (or it
        predates the pid column). Runs of other hosts cannot be checked and stay as they are;
        `tickerwire health` lists them.
        """
        rows = self.con.execute(
            "select run_id, pid, host from ingest_runs where status = 'running'"
        ).fetchall()
        here = socket.gethostname()
        stale = [
            rid
            for rid, pid, host in rows
            if pid is None or (host == here and not process_alive(pid))
        ]
        if stale:
            self.con.execute(
                "update ingest_runs set status = 'interrupted', finished_at = ?, "
                "errors = coalesce(errors || chr(10), '') || ? "
                "where run_id in (select unnest(?::bigint[]))",
                [datetime.now(UTC), STALE_RUN_NOTE, stale],
            )
        return len(stale)

    def finish_run(self, run: RunLog, status: str | None = None) -> str:
        """Close the run with its counts; status defaults to ok / partial / failed from the errors."""
        if run in self.open_runs:
            self.open_runs.remove(run)
        if status is None:
            status = (
                "ok" if not run.errors else ("partial" if run.stored or run.present else "failed")
            )
        self.con.execute(
            """update ingest_runs set finished_at = ?, status = ?, n_read = ?, n_stored = ?,
               n_present = ?, n_rejected = ?, errors = ?, details = ? where run_id = ?""",
            [
                datetime.now(UTC),
                status,
                run.read,
                run.stored,
                run.present,
                run.rejected,
                "\n".join(run.errors) or None,
                json.dumps(run.details, default=str),
                run.run_id,
            ],
        )
        return status

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
        f"{_q(name)}::varchar as {_q(name)}" if not polars_can_hold(str(dtype)) else _q(name)
        for name, dtype in zip(rel.columns, rel.types, strict=True)
    ]
    return rel.project(", ".join(parts))


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many surplus rows share a key of a table whose key is not enforced (0 when sound)."""
    cols = ", ".join(_q(k) for k in UNENFORCED_KEYS[table])
    return con.execute(
        f"select coalesce(sum(n - 1), 0) from "
        f"(select count(*) as n from {_q(table)} group by {cols} having count(*) > 1)"
    ).fetchall()[0][0]


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A token that changes whenever data is written: the newest run's id and finish time."""
    row = con.execute(
        "select coalesce(max(run_id), 0), coalesce(max(finished_at)::varchar, '') from ingest_runs"
    ).fetchall()[0]
    return f"{row[0]}:{row[1]}"


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT there, not probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else (or cannot be asked): assume alive
    return True


def _strictly_increasing(frame: pl.DataFrame, keys: Sequence[str]) -> bool:
    """True when the rows are in strictly increasing key order (so no key repeats)."""
    if frame.height < 2 or not all(_orderable(frame.schema[k]) for k in keys):
        return frame.height < 2
    later = pl.lit(False)  # this row's key is greater than the previous row's
    same = pl.lit(True)  # the key columns seen so far are equal to the previous row's
    for k in keys:
        before = pl.col(k).shift(1)
        later = later | (same & (pl.col(k) > before))
        same = same & (pl.col(k) == before)
    return bool(frame.select(later.slice(1).all()).item())


def _orderable(dtype: pl.DataType) -> bool:
    """True for key types whose min/max bound a range (numbers, strings, dates and times)."""
    return dtype.is_numeric() or dtype.is_temporal() or dtype in (pl.Utf8, pl.String)


def _q(identifier: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def commit_batch(
    store: Store,
    source: str,
    key: str,
    frames: dict[str, pl.DataFrame],
    *,
    cursor_ts: datetime | None = None,
    state_value: dict[str, Any] | None = None,
    rejects: Sequence[Reject] = (),
) -> dict[str, UpsertResult]:
    """Write one source batch atomically: its rows, its ingest_state cursor and its rejects.

    Either everything lands or nothing does, so a crash never leaves rows without their cursor.
    """
    con = store.con
    results: dict[str, UpsertResult] = {}
    con.execute("begin transaction")
    try:
        for table, frame in frames.items():
            results[table] = store.upsert(table, frame, in_transaction=True)
        if cursor_ts is not None or state_value is not None:
            con.execute(
                """insert into ingest_state (source, key, cursor_ts, value, updated_at)
                   values (?, ?, ?, ?, ?)
                   on conflict (source, key) do update set
                     cursor_ts = coalesce(excluded.cursor_ts, ingest_state.cursor_ts),
                     value = coalesce(excluded.value, ingest_state.value),
                     updated_at = excluded.updated_at""",
                [
                    source,
                    key,
                    cursor_ts,
                    json.dumps(state_value) if state_value is not None else None,
                    datetime.now(UTC),
                ],
            )
        if rejects:
            now = datetime.now(UTC)
            base = con.execute(
                "select coalesce(max(n) + 1, 0) from rejects where source = ? and received_at = ?",
                [source, now],
            ).fetchall()[0][0]
            con.executemany(
                "insert into rejects values (?, ?, ?, ?, ?)",
                [[source, now, base + i, r.reason, r.raw[:2000]] for i, r in enumerate(rejects)],
            )
        con.execute("commit")
    except Exception:
        _rollback(con)
        raise
    return results


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, never masking the error that made us roll back (the transaction may be gone)."""
    with suppress(duckdb.Error):
        con.execute("rollback")


def read_state(
    con: duckdb.DuckDBPyConnection, source: str
) -> dict[str, tuple[datetime | None, dict[str, Any] | None]]:
    """All ingest_state rows of a source: key -> (cursor_ts, value)."""
    rows = con.execute(
        "select key, cursor_ts, value from ingest_state where source = ?", [source]
    ).fetchall()
    return {k: (ts, json.loads(v) if v else None) for k, ts, v in rows}
