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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from pipelines.config import Config, Section
from pipelines.errors import CronError, RefreshLocked
from pipelines.refresh import RefreshSummary, load_sources, run_refresh
from pipelines.sources import KINDS, Source

DEFAULT_CADENCE = {"quotes": "1m", "prices": "5m", "news": "2m"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# ---------------------------------------------------------------------------- cron


@dataclass(frozen=True)
class Cron:
    """A standard 5-field cron expression (minute hour day-of-month month day-of-week), read by
    cronsim: lists, ranges, steps, names, 7 = Sunday, the either-day-field rule, and daylight
    saving as Vixie cron handles it (a time skipped at spring-forward fires at the jump, a time
    repeated at fall-back fires once; `*/5` keeps firing every 5 real minutes)."""

    text: str

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Check '*/5 * * * *'-style text; CronError naming the bad field."""
        try:
            CronSim(text, datetime(2026, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise CronError(f"{text!r}: {str(exc)[:1].lower()}{str(exc)[1:]}") from None
        return cls(text=text)

    def next_after(self, after: datetime, tz: ZoneInfo | None = None) -> datetime:
        """The first firing minute strictly after `after` (aware), returned in UTC."""
        zone = tz or ZoneInfo("UTC")
        local = after.astimezone(zone)
        try:
            return next(CronSim(self.text, local)).astimezone(UTC)
        except StopIteration:
            raise CronError(f"{self.text!r} never fires") from None


# ---------------------------------------------------------------------------- cadences


@dataclass(frozen=True)
class Cadence:
    """How often something runs: a fixed interval aligned to the epoch, or a cron expression."""

    text: str
    interval: timedelta | None = None
    cron: Cron | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def next_after(self, after: datetime) -> datetime:
        """The first due time strictly after `after` (UTC)."""
        if self.cron is not None:
            return self.cron.next_after(after, self.tz)
        assert self.interval is not None
        step = self.interval.total_seconds()
        n = int(after.timestamp() // step) + 1
        return datetime.fromtimestamp(n * step, UTC)

    @property
    def typical(self) -> timedelta:
        """The usual gap between runs (for freshness): the interval, or the cron's smallest gap."""
        if self.interval is not None:
            return self.interval
        assert self.cron is not None
        start = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: weekday crons fire soon after
        times = [self.cron.next_after(start, self.tz)]
        for _ in range(4):
            times.append(self.cron.next_after(times[-1], self.tz))
        return min(b - a for a, b in zip(times, times[1:], strict=False))


def parse_interval(text: str) -> timedelta | None:
    """'30s', '5m', '2h', '1d' (optionally 'every 5m') → timedelta; None if not an interval."""
    value = text.strip().lower().removeprefix("every").strip()
    if len(value) >= 2 and value[-1] in _UNITS and value[:-1].replace(".", "", 1).isdigit():
        seconds = float(value[:-1]) * _UNITS[value[-1]]
        if seconds <= 0:
            return None
        return timedelta(seconds=seconds)
    return None


def parse_cadence(text: str, tz: ZoneInfo | None = None) -> Cadence:
    """An interval ('5m') or a cron expression ('*/5 * * * *'); CronError otherwise."""
    interval = parse_interval(text)
    if interval is not None:
        return Cadence(text=text, interval=interval, tz=tz or ZoneInfo("UTC"))
    if len(text.split()) == 5:
        return Cadence(text=text, cron=Cron.parse(text), tz=tz or ZoneInfo("UTC"))
    raise CronError(
        f"{text!r} is neither an interval (30s, 5m, 2h, 1d) nor a 5-field cron expression"
    )


@dataclass
class Schedule:
    """The cadence of each kind, per-source overrides, and whether to run once at start."""

    kinds: dict[str, Cadence]
    sources: dict[str, Cadence]
    run_at_start: bool = True

    @classmethod
    def from_config(cls, config: Config) -> Schedule:
        """Read and validate `[schedule]`."""
        return cls.from_section(config.section("schedule"))

    @classmethod
    def from_section(cls, sec: Section) -> Schedule:
        """Validate a `[schedule]` section (errors name file, key and what is allowed)."""
        sec.check_keys((*KINDS, "timezone", "run_at_start", "sources"))
        tz_name = sec.get("timezone", str, "UTC")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise sec.fail("timezone", f"{tz_name!r} is not an IANA time zone") from exc
        kinds = {}
        for kind in KINDS:
            kinds[kind] = _cadence(sec, kind, sec.get(kind, str, DEFAULT_CADENCE[kind]), tz)
        per_source = sec.sub("sources")
        sources = {
            name: _cadence(per_source, name, per_source.get(name, str), tz)
            for name in per_source.data
        }
        return cls(kinds=kinds, sources=sources, run_at_start=sec.get("run_at_start", bool, True))

    def cadence_of(self, source: str, kinds: tuple[str, ...] | list[str]) -> Cadence | None:
        """The cadence that drives a source: its override, else its most frequent kind."""
        if source in self.sources:
            return self.sources[source]
        own = [self.kinds[k] for k in kinds if k in self.kinds]
        return min(own, key=lambda c: c.typical) if own else None


def _cadence(sec: Section, key: str, text: str, tz: ZoneInfo) -> Cadence:
    try:
        return parse_cadence(text, tz)
    except CronError as exc:
        raise sec.fail(key, str(exc)) from None


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
    from pipelines.retention import RetentionPolicy

    policy = RetentionPolicy.from_config(config)
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


def _retention_round(db_path: str | Path, policy: Any, report: Callable[[str], None]) -> None:
    """The daily retention pass, under the same lock as refresh (never both at once)."""
    from pipelines import retention, store

    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with store.writing(db_path, "retention") as st:
            result = retention.apply(st, policy, datetime.now(UTC))
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
