"""Warm the cache for what a reader is likely to ask next, in a low-priority background thread.

The Study page's window picker offers three windows; each is a new run of the event-study
engine (0.2–1 s). Once a study is drawn, the other windows of the same design are run in the
background, so a window change finds its result cached instead of waiting for the engine.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Hashable, Iterable

_MAX_KEYS = 256  # remembered designs; forgotten all at once when full (a repeat is only waste)
_started: set[Hashable] = set()
_lock = threading.Lock()


def _lower_priority() -> None:
    """Nice this thread (Linux: priority is per thread) so it yields to page runs."""
    # not Linux, or not allowed: it runs at normal priority
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def in_background(key: Hashable, jobs: Iterable[Callable[[], object]]) -> bool:
    """Run `jobs` one after another in a background thread, once per `key` in this process.
    True when started. A job's failure is dropped: the page runs it again when asked and
    reports it there."""
    with _lock:
        if key in _started:
            return False
        if len(_started) >= _MAX_KEYS:
            _started.clear()
        _started.add(key)
    todo = list(jobs)

    def work() -> None:
        _lower_priority()
        for job in todo:
            try:
                job()
            except Exception:  # noqa: BLE001 — a warm-up never fails a page; see the docstring
                continue

    # not a daemon (it would inherit the script thread's flag): an exiting interpreter waits
    # for it rather than killing it inside DuckDB
    threading.Thread(target=work, name="tickerwire-prefetch", daemon=False).start()
    return True
