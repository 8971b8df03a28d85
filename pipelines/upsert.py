"""Writing frames into the store: upsert by key (new keys inserted, changed rows updated) and the
batch contract `commit_batch` (rows + ingest_state cursor + rejects in one transaction).

`pipelines.store` re-exports these names (`store.commit_batch`, `store.UpsertResult`, …); the
Store's `upsert` method is the way in for a writer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipelines.errors import DataError, StoreError, first_line
from pipelines.schemas import Reject

if TYPE_CHECKING:
    from pipelines.store import Store

# Keys of tables that do not declare them as a PRIMARY KEY. `bars` is the largest table and
# DuckDB maintains a declared key as an ART index on every append, which halved ingest speed
# (migration 0020). Store.upsert keeps these keys unique; `duplicate_keys` checks it.
UNENFORCED_KEYS: dict[str, tuple[str, ...]] = {"bars": ("instrument_id", "timeframe", "ts")}

# Columns that record when and where a row was read; they never count as a change (the same
# report re-imported from another file, or listed by a second feed, is already present).
BOOKKEEPING_COLUMNS = frozenset({"ingested_at", "fetched_at", "updated_at", "feed"})

# Insertion-time columns (events.stored_at, migration 0150): filled by the column's default when
# a row is first inserted and never updated, so they say when a key first reached the store.
INSERTION_TIME_COLUMNS = frozenset({"stored_at"})

_BATCH_VIEW = "_upsert_batch"  # the name the batch is registered under for the statements


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
class _Plan:
    """The statements' parts for one batch: its columns, key match and key-range bounds."""

    table: str
    keys: list[str]
    cols: list[str]
    values: list[str]  # non-key columns (all updated but the insertion time)
    compared: list[str]  # the values that count as a change
    bounded: list[str]  # key columns whose batch min/max bound the stored rows looked at
    bounds: list[Any]  # lo, hi per bounded key

    def stored_keys(self) -> str:
        """The stored rows' keys inside the batch's key ranges (zone maps skip the rest)."""
        where = " and ".join(f"{q(k)} between ? and ?" for k in self.bounded) or "true"
        return f"(select {', '.join(q(k) for k in self.keys)} from {q(self.table)} where {where})"


def upsert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    *,
    columns: list[str],
    keys: list[str],
    in_transaction: bool = False,
) -> UpsertResult:
    """Insert new keys and update changed rows of `frame` into `table`, in one transaction.

    Duplicate keys inside the batch keep their last occurrence. Rows identical to what is
    stored are left alone (so re-running a refresh writes nothing).
    """
    result = UpsertResult(table=table, read=frame.height)
    if frame.height == 0:
        return result
    batch = _checked_batch(table, frame, columns, keys)
    result.duplicates_in_batch = frame.height - batch.height
    plan = _plan(table, batch, keys)
    con.complete()  # duckdb refuses register() while a previous result is unfinished
    con.register(_BATCH_VIEW, batch.to_arrow())
    try:
        if not in_transaction:
            con.execute("begin transaction")
        result.updated, result.inserted = _write(con, plan)
        result.unchanged = batch.height - result.inserted - result.updated
        if not in_transaction:
            con.execute("commit")
    except duckdb.Error as exc:
        if not in_transaction:
            rollback(con)
        raise StoreError(f"upsert into {table} failed: {first_line(exc)}") from exc
    finally:
        # After a failed write (disk full) the connection may refuse even this; the
        # error being raised is the one that says why.
        with suppress(duckdb.Error):
            con.unregister(_BATCH_VIEW)
    return result


def _checked_batch(
    table: str, frame: pl.DataFrame, columns: list[str], keys: list[str]
) -> pl.DataFrame:
    """The frame with known columns and its key columns, one row per key (the last one wins)."""
    unknown = [c for c in frame.columns if c not in columns]
    if unknown:
        raise DataError(f"{table}: unknown column(s) {unknown}; allowed: {columns}")
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise DataError(f"{table}: batch lacks key column(s) {missing}")
    # Batches from the sources arrive in key order; checking that costs a tenth of unique().
    if _strictly_increasing(frame, keys):
        return frame
    return frame.unique(subset=keys, keep="last", maintain_order=True)


def _plan(table: str, batch: pl.DataFrame, keys: list[str]) -> _Plan:
    cols = list(batch.columns)
    values = [c for c in cols if c not in keys and c not in INSERTION_TIME_COLUMNS]
    bounded = [k for k in keys if _orderable(batch.schema[k])]
    span = batch.select(
        [pl.col(k).min().alias(f"lo_{i}") for i, k in enumerate(bounded)]
        + [pl.col(k).max().alias(f"hi_{i}") for i, k in enumerate(bounded)]
    ).row(0)
    bounds = [v for i in range(len(bounded)) for v in (span[i], span[len(bounded) + i])]
    compared = [c for c in values if c not in BOOKKEEPING_COLUMNS]
    return _Plan(table, keys, cols, values, compared, bounded, bounds)


def _write(con: duckdb.DuckDBPyConnection, plan: _Plan) -> tuple[int, int]:
    """Update the changed rows, then insert the new keys; (updated, inserted)."""
    t, b = q(plan.table), _BATCH_VIEW
    col_list = ", ".join(q(c) for c in plan.cols)
    stored = plan.stored_keys()
    # A batch whose key range holds no stored row (a backfill, an import, new bars) is
    # appended as is: the update and the anti-join could only find nothing.
    present = con.execute(f"select count(*) from {stored}", plan.bounds).fetchall()[0][0]
    if not present:
        inserted = con.execute(f"insert into {t} ({col_list}) select {col_list} from {b}")
        return 0, inserted.fetchall()[0][0]
    updated = 0
    # Changed rows first (only keys already stored can match), then the new keys straight
    # from the batch: no intermediate copy of the batch is materialised.
    if plan.compared:
        assignments = ", ".join(f"{q(c)} = b.{q(c)}" for c in plan.values)
        match_t = " and ".join(f"{t}.{q(k)} = b.{q(k)}" for k in plan.keys)
        changed = " or ".join(f"{t}.{q(c)} is distinct from b.{q(c)}" for c in plan.compared)
        bounds_t = " and ".join(f"{t}.{q(k)} between ? and ?" for k in plan.bounded) or "true"
        updated = con.execute(
            f"update {t} set {assignments} from {b} b "
            f"where {match_t} and {bounds_t} and ({changed})",
            plan.bounds,
        ).fetchall()[0][0]
    key_match = " and ".join(f"t.{q(k)} = b.{q(k)}" for k in plan.keys)
    b_cols = ", ".join(f"b.{q(c)}" for c in plan.cols)
    inserted = con.execute(
        f"insert into {t} ({col_list}) select {b_cols} from {b} b "
        f"anti join {stored} t on {key_match}",
        plan.bounds,
    ).fetchall()[0][0]
    return updated, inserted


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
            _save_cursor(con, source, key, cursor_ts, state_value)
        if rejects:
            _save_rejects(con, source, rejects)
        con.execute("commit")
    except Exception:
        rollback(con)
        raise
    return results


def _save_cursor(
    con: duckdb.DuckDBPyConnection,
    source: str,
    key: str,
    cursor_ts: datetime | None,
    state_value: dict[str, Any] | None,
) -> None:
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


def _save_rejects(con: duckdb.DuckDBPyConnection, source: str, rejects: Sequence[Reject]) -> None:
    now = datetime.now(UTC)
    base = con.execute(
        "select coalesce(max(n) + 1, 0) from rejects where source = ? and received_at = ?",
        [source, now],
    ).fetchall()[0][0]
    con.executemany(
        "insert into rejects values (?, ?, ?, ?, ?)",
        [[source, now, base + i, r.reason, r.raw[:2000]] for i, r in enumerate(rejects)],
    )


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many surplus rows share a key of a table whose key is not enforced (0 when sound)."""
    cols = ", ".join(q(k) for k in UNENFORCED_KEYS[table])
    return con.execute(
        f"select coalesce(sum(n - 1), 0) from "
        f"(select count(*) as n from {q(table)} group by {cols} having count(*) > 1)"
    ).fetchall()[0][0]


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, never masking the error that made us roll back (the transaction may be gone)."""
    with suppress(duckdb.Error):
        con.execute("rollback")


def q(identifier: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


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
