"""Writer priority for the DuckDB file: a turnstile so a stream of readers cannot starve a commit.

DuckDB lets one read-write process or many read-only ones open a file, never both. With a
dashboard (or several) reading continuously, a writer could wait a long time for a moment
with no reader at all. The gate fixes the order:

* a writer takes an exclusive flock on `<db>.gate` before opening the database, and holds it
  only for its brief commit;
* a reader passes through the gate (a shared flock taken and released at once) before opening
  its read-only connection, so while a writer is waiting or writing, new readers wait at the
  gate instead of keeping the file busy; readers already inside finish their short queries.

flock(2) locks vanish with their process, so a killed writer never blocks the readers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

POLL = 0.005  # seconds between tries while the gate is held
# TICKERWIRE_GATE=off disables the gate (for benchmarks, or a filesystem where flock misbehaves).
GATE_ENV = "TICKERWIRE_GATE"


def _enabled() -> bool:
    return os.environ.get(GATE_ENV, "on").lower() not in ("off", "0", "false", "no")


def gate_path(db_path: str | Path) -> Path:
    """The gate file of a database: `<db>.gate` beside it."""
    path = Path(db_path)
    return path.with_name(path.name + ".gate")


def _lock(fd: int, mode: int, timeout: float) -> bool:
    """Try flock(mode) until `timeout` seconds passed; True when taken."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)


@contextlib.contextmanager
def writer_gate(db_path: str | Path, timeout: float = 30.0) -> Iterator[bool]:
    """Hold the gate exclusively (new readers wait) for the duration of a brief write.

    Yields whether the gate was taken; after `timeout` the writer goes on without it (and
    relies on the connection retries alone) rather than failing.
    """
    if not _enabled():
        yield False
        return
    path = gate_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False  # a read-only directory: no gate, plain retries
        return
    try:
        taken = _lock(fd, fcntl.LOCK_EX, timeout)
        yield taken
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def pass_gate(db_path: str | Path, timeout: float = 30.0) -> None:
    """Wait (up to `timeout`) while a writer holds the gate; a no-op when there is no gate file."""
    if not _enabled():
        return
    try:
        fd = os.open(gate_path(db_path), os.O_RDONLY)
    except OSError:
        return
    try:
        if _lock(fd, fcntl.LOCK_SH, timeout):
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
