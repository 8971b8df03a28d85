"""Cadences: how often a job runs — an epoch-aligned interval (`5m`) or a cron expression read
by cronsim in a zone — and the `[schedule]` section that gives one per kind and per source.

The scheduler loop, retention, health and alerts all read cadences from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from pipelines.config import Config, Section
from pipelines.errors import CronError
from pipelines.sources import KINDS

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
        tz = ZoneInfo(sec.zone("timezone", "UTC") or "UTC")
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
