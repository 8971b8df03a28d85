"""The lock files beside a database: the writer gate (`<db>.gate`) and the refresh lock.

DuckDB lets one read-write process or many read-only ones open a file, never both. With a
dashboard (or several) reading continuously, a writer could wait a long time for a moment
with no reader at all. The gate fixes the order:

* a writer takes an exclusive lock on `<db>.gate` before opening the database, and holds it
  only for its brief commit;
* a reader passes through the gate (a shared lock taken and released at once) before opening
  its read-only connection, so while a writer is waiting or writing, new readers wait at the
  gate instead of keeping the file busy; readers already inside finish their short queries.

The refresh lock (`<db>.refresh.lock`) lets one writer session at a time in and records who
holds it (pid, host, start, command), so a second writer can say whom it waits for.

Locks come from portalocker (flock on POSIX, LockFileEx on Windows): they vanish with their
process, so a killed writer never blocks anyone. Without a locking backend (a platform where
portalocker cannot load) the gate is open and the refresh lock is not taken: the DuckDB file
lock and the connection retries still keep writers apart.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.errors import RefreshLocked

POLL = 0.005  # seconds between tries while a lock is held
# TICKERWIRE_GATE=off disables the gate (for benchmarks, or a filesystem where locks misbehave).
GATE_ENV = "TICKERWIRE_GATE"


@functools.cache
def _portalocker() -> ModuleType | None:
    """The locking library, imported on first use; None where it has no backend."""
    try:
        import portalocker
    except ImportError:
        return None
    return portalocker


def _enabled() -> bool:
    return os.environ.get(GATE_ENV, "on").lower() not in ("off", "0", "false", "no")


def gate_path(db_path: str | Path) -> Path:
    """The gate file of a database: `<db>.gate` beside it."""
    path = Path(db_path)
    return path.with_name(path.name + ".gate")


def lock_path(db_path: str | Path) -> Path:
    """The refresh lock file of a database: `<db>.refresh.lock` beside it."""
    path = Path(db_path)
    return path.with_name(path.name + ".refresh.lock")


def _lock(fd: int, shared: bool, timeout: float) -> bool:
    """Try to lock `fd` until `timeout` seconds passed; True when taken (or no backend)."""
    locker = _portalocker()
    if locker is None:
        return True
    flags = (locker.LOCK_SH if shared else locker.LOCK_EX) | locker.LOCK_NB
    deadline = time.monotonic() + timeout
    while True:
        try:
            locker.lock(fd, flags)
            return True
        except (locker.exceptions.LockException, OSError):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)


def _unlock(fd: int) -> None:
    locker = _portalocker()
    if locker is not None:
        with contextlib.suppress(locker.exceptions.LockException, OSError):
            locker.unlock(fd)


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
        taken = _lock(fd, shared=False, timeout=timeout)
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
        if _lock(fd, shared=True, timeout=timeout):
            _unlock(fd)
    finally:
        os.close(fd)


class RefreshLock:
    """An exclusive lock file recording who holds it (pid, host, start, command).

    `timeout` is how long `acquire` waits for the holder to finish (0: fail at once). The lock
    is released by the kernel when the holder dies, even by kill -9, so a crashed writer never
    leaves a lock that needs cleaning by hand.
    """

    def __init__(self, db_path: str | Path, command: str = "refresh", timeout: float = 0.0):
        self.path = lock_path(db_path)
        self.command = command
        self.timeout = timeout
        self._fd: int | None = None
        self.unavailable: str | None = None  # why no lock file could be made, if so

    def acquire(self, timeout: float | None = None) -> RefreshLock:
        """Take the lock (waiting up to `timeout` s) or raise RefreshLocked naming the holder."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            # A read-only directory: no lock file can exist, so no other writer can hold one;
            # the write itself will fail with its own clear message.
            self.unavailable = f"{self.path}: {exc.strerror or exc}"
            return self
        if not _lock(fd, shared=False, timeout=self.timeout if timeout is None else timeout):
            os.close(fd)
            raise RefreshLocked(self.path, read_lock_holder(self.path))
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
        }
        with contextlib.suppress(OSError):  # the details are a courtesy; the lock is what counts
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Clear the holder details and unlock (the file stays: deleting it would race)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        _unlock(self._fd)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RefreshLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_lock_holder(path: Path) -> dict[str, Any] | None:
    """The holder details written in a lock file, if readable."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None
