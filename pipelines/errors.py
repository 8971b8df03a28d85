"""The one exception hierarchy: every error a user can act on derives from TickerwireError."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class TickerwireError(Exception):
    """Base class: the CLI prints the message on one line and exits non-zero."""


class ConfigError(TickerwireError):
    """The configuration file is missing, malformed or invalid (names file, key, allowed values)."""


class DataError(TickerwireError):
    """Input data cannot be used as a whole (missing file, unknown format, missing column)."""


class SourceError(TickerwireError):
    """A source (exchange, Yahoo, feed, GDELT) failed or returned nothing usable."""


class NetworkUnavailable(SourceError):
    """The network cannot be reached at all (DNS failure, no route, connection refused)."""


class StoreError(TickerwireError):
    """The DuckDB store cannot be opened, migrated or written."""


class StoreLocked(StoreError):
    """Another process holds the write lock on the database file."""

    def __init__(self, db_path: str, holder: str | None):
        self.db_path = db_path
        self.holder = holder
        who = f"held by {holder}" if holder else "held by another process"
        super().__init__(
            f"database {db_path} is locked ({who}); wait for it to finish or stop it, then retry"
        )


class RefreshLocked(StoreError):
    """Another writer (refresh, schedule, import, …) holds the refresh lock of this database."""

    def __init__(self, lock_file: Path, holder: dict[str, Any] | None):
        self.lock_file = lock_file
        self.holder = holder or {}
        if holder:
            command = holder.get("command", "refresh")
            who = (
                f"another {command} is running: pid {holder.get('pid')} on host "
                f"{holder.get('host')} since {holder.get('started_at')} ({command})"
            )
        else:
            who = "another writer is running (it has not written its details yet)"
        super().__init__(
            f"{who}; lock file {lock_file}. Wait for it to finish (or stop it) and retry."
        )


class CronError(ConfigError, ValueError):
    """A cron expression that cannot be parsed (the message names the field)."""


class FetchError(SourceError):
    """One request that failed for good; `kind` says how (network, http, malformed)."""

    def __init__(self, kind: str, message: str, raw: str = ""):
        super().__init__(message)
        self.kind = kind
        self.raw = raw


class FeatureMissing(TickerwireError):
    """A part of tickerwire a dashboard page needs is not available (or failed to load)."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """An exception's message cut to its first line (what the CLI and the run log show).

    An exception with an empty message is named by its type; `limit` cuts the line further.
    """
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:limit] if limit is not None else line


def named_first_line(exc: BaseException, limit: int | None = None) -> str:
    """'TypeName: first line' — for errors from other libraries, whose type says what failed."""
    text = str(exc).strip()
    line = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    return line[:limit] if limit is not None else line
