"""The run log: one `ingest_runs` row per run of a source, import or command.

A run is opened 'running' with its owner (pid, host), counts are folded in as batches land,
and it is closed with a status; a run whose owner died is closed as 'interrupted' by the next
writer. The Store's start_run / finish_run / close_stale_runs call these.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from pipelines.upsert import UpsertResult

# What a run closed on behalf of its dead owner says.
STALE_RUN_NOTE = "the process running it stopped before finishing (killed or crashed)"


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


def open_run(con: duckdb.DuckDBPyConnection, source: str) -> RunLog:
    """Open a row in ingest_runs with status 'running', owned by this process (pid, host)."""
    row = con.execute(
        "insert into ingest_runs (source, started_at, status, pid, host) "
        "values (?, ?, 'running', ?, ?) returning run_id",
        [source, datetime.now(UTC), os.getpid(), socket.gethostname()],
    ).fetchall()[0]
    return RunLog(run_id=int(row[0]), source=source)


def close_run(con: duckdb.DuckDBPyConnection, run: RunLog, status: str | None = None) -> str:
    """Close the run with its counts; status defaults to ok / partial / failed from the errors."""
    if status is None:
        status = "ok" if not run.errors else ("partial" if run.stored or run.present else "failed")
    con.execute(
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


def close_stale_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark 'interrupted' every run left 'running' by a process that is gone; return how many.

    A run's owner is gone when it ran on this host and its pid is no longer alive (or it
    predates the pid column). Runs of other hosts cannot be checked and stay as they are;
    `tickerwire health` lists them.
    """
    rows = con.execute(
        "select run_id, pid, host from ingest_runs where status = 'running'"
    ).fetchall()
    here = socket.gethostname()
    stale = [
        rid for rid, pid, host in rows if pid is None or (host == here and not process_alive(pid))
    ]
    if stale:
        con.execute(
            "update ingest_runs set status = 'interrupted', finished_at = ?, "
            "errors = coalesce(errors || chr(10), '') || ? "
            "where run_id in (select unnest(?::bigint[]))",
            [datetime.now(UTC), STALE_RUN_NOTE, stale],
        )
    return len(stale)


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
