"""`tickerwire schedule`: run refresh on each kind's cadence (interval or cron) until stopped.

Config (`[schedule]`, all optional):

    [schedule]
    quotes = "1m"             # an interval (30s, 1m, 5m, 2h, 1d) or a 5-field cron expression
    prices = "*/5 * * * *"
    news = "2m"
    timezone = "UTC"          # the zone cron expressions are read in
    run_at_start = true       # refresh everything once when the scheduler starts
    [schedule.sources]        # per-source cadence overriding its kinds' cadence
    gdelt = "*/15 * * * *"

Intervals are aligned to the epoch (every 5m fires at :00, :05, …), so restarts keep the grid.
Missed ticks are not caught up: after a long refresh the next tick is the next one due.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines import retention, store
from pipelines.cadence import Cadence, Schedule, parse_cadence
from pipelines.config import Config
from pipelines.errors import RefreshLocked
from pipelines.refresh import RefreshSummary, load_sources, run_refresh
from pipelines.sources import KINDS, Source

# ---------------------------------------------------------------------------- the loop

Job = tuple[str, str]  # ('kind', 'quotes') or ('source', 'gdelt')


def due_work(
    schedule: Schedule, sources: Mapping[str, Source], due: set[Job]
) -> dict[frozenset[str], list[str]]:
    """Group the sources to refresh now by the kinds due for them: {kinds: [source names]}."""
    groups: dict[frozenset[str], list[str]] = {}
    for name, source in sources.items():
        if name in schedule.sources:
            kinds = frozenset(source.kinds) if ("source", name) in due else frozenset()
        else:
            kinds = frozenset(k for k in source.kinds if ("kind", k) in due)
        if kinds:
            groups.setdefault(kinds, []).append(name)
    return groups


def run_schedule(
    db_path: str | Path,
    config: Config,
    *,
    stop: threading.Event,
    sources: Mapping[str, Source] | None = None,
    report: Callable[[str], None] = print,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    max_rounds: int | None = None,
    names: list[str] | None = None,
) -> int:
    """Refresh on schedule until `stop` is set; returns the number of refresh rounds run."""
    schedule = Schedule.from_config(config)
    if sources is None:
        sources, notices = load_sources(set(KINDS), names)
        for notice in notices:
            report(f"note: {notice}")
    jobs: dict[Job, Cadence] = {("kind", k): c for k, c in schedule.kinds.items()}
    jobs.update({("source", n): c for n, c in schedule.sources.items() if n in sources})
    policy = retention.RetentionPolicy.from_config(config)
    if policy.enabled:
        jobs[("retention", "")] = parse_cadence(policy.at)
    now = clock()
    next_due = {
        job: (now if schedule.run_at_start and job[0] != "retention" else c.next_after(now))
        for job, c in jobs.items()
    }
    rounds = 0
    for job, cadence in jobs.items():
        report(f"schedule: {job[0]} {job[1]} every {cadence.text}")
    while not stop.is_set() and (max_rounds is None or rounds < max_rounds):
        wake = min(next_due.values())
        wait = (wake - clock()).total_seconds()
        if wait > 0 and stop.wait(wait):
            break
        now = clock()
        due = {job for job, at in next_due.items() if at <= now}
        for job in due:
            next_due[job] = jobs[job].next_after(now)
        for kinds, names in due_work(schedule, sources, due).items():
            if stop.is_set():
                break
            _one_round(db_path, config, sources, kinds, names, stop, report)
        if ("retention", "") in due and not stop.is_set():
            _retention_round(db_path, policy, report)
        rounds += 1
    return rounds


def _one_round(
    db_path: str | Path,
    config: Config,
    sources: Mapping[str, Source],
    kinds: frozenset[str],
    names: list[str],
    stop: threading.Event,
    report: Callable[[str], None],
) -> RefreshSummary | None:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        summary = run_refresh(
            db_path,
            config,
            sorted(kinds),
            sources={n: sources[n] for n in names},
            stop=stop,
            command="schedule",
        )
    except RefreshLocked as exc:
        report(f"{started} skipped {','.join(sorted(kinds))}: {exc}")
        return None
    except Exception as exc:  # the scheduler outlives one bad round (disk full, locked file…)
        report(f"{started} round failed: {type(exc).__name__}: {exc}")
        return None
    parts = [f"{o.source} {o.status} {o.stored} stored" for o in summary.outcomes]
    report(
        f"{started} {','.join(sorted(kinds))}: exit {summary.exit_code} ({'; '.join(parts) or 'nothing to do'})"
    )
    return summary


def _retention_round(
    db_path: str | Path, policy: retention.RetentionPolicy, report: Callable[[str], None]
) -> None:
    """The daily retention pass, under the same lock as refresh (never both at once)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with store.writing(db_path, "retention") as writer:
            result = retention.apply(writer, policy, datetime.now(UTC))
    except Exception as exc:  # retention failing must not stop the refreshes
        report(f"{started} retention failed: {type(exc).__name__}: {exc}")
        return
    report(
        f"{started} retention: {result.fine_bars} {policy.from_tf} bars before "
        f"{result.cutoff.isoformat()} rolled into {result.buckets_written} {policy.to_tf} bars"
    )


def install_stop_handlers(stop: threading.Event, report: Callable[[str], None]) -> dict[int, Any]:
    """SIGTERM/SIGINT set `stop` (the current commit finishes); a second SIGINT interrupts at once."""
    previous: dict[int, Any] = {}

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        report(f"{signal.Signals(signum).name}: finishing the current commit, then exiting")

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous
