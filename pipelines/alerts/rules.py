"""Alert rules: `[[alerts]]` read and validated into AlertRule; what a firing and a delivery hold."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import polars as pl

from pipelines.cadence import parse_interval
from pipelines.config import Config, Section
from pipelines.errors import ConfigError, TickerwireError
from pipelines.schemas import EVENT_CATEGORIES

KINDS = ("event", "price", "health")
DEFAULT_TARGETS_ENV = "TICKERWIRE_ALERT_URLS"
_COMMON_KEYS = ("name", "kind", "cooldown", "targets_env")
_KIND_KEYS = {
    "event": ("categories", "z", "move_pct", "horizon", "lookback", "instruments"),
    "price": ("instruments", "move_pct", "window"),
    "health": ("sources", "cadences"),
}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class AlertRule:
    """One validated `[[alerts]]` entry."""

    name: str
    kind: str
    cooldown: timedelta = timedelta(hours=1)
    targets_env: str = DEFAULT_TARGETS_ENV
    categories: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    z: float | None = None
    move_pct: float | None = None
    horizon: timedelta = timedelta(hours=1)
    lookback: timedelta = timedelta(days=1)
    window: timedelta = timedelta(minutes=15)
    sources: tuple[str, ...] = ()
    cadences: int = 3

    def describe(self) -> str:
        """The condition in words, for `alerts list` and the Alerts page."""
        if self.kind == "event":
            moves = " or ".join(
                t
                for t in (
                    f"|z| ≥ {self.z:g}" if self.z is not None else "",
                    f"|return| ≥ {self.move_pct:g} %" if self.move_pct is not None else "",
                )
                if t
            )
            who = f" ({', '.join(self.instruments)})" if self.instruments else ""
            return (
                f"new {'/'.join(self.categories)} event (last {duration_text(self.lookback)}) whose "
                f"instruments{who} move {moves} within {duration_text(self.horizon)}"
            )
        if self.kind == "price":
            return (
                f"{', '.join(self.instruments)} move ≥ {self.move_pct:g} % "
                f"within {duration_text(self.window)}"
            )
        who = ", ".join(self.sources) if self.sources else "any source"
        return f"{who} failing {self.cadences} runs in a row or stale for {self.cadences} cadences"

    def target_urls(self) -> list[str]:
        """The apprise URLs from this rule's environment variable (empty when unset)."""
        return [u for u in re.split(r"[\s,]+", os.environ.get(self.targets_env, "")) if u]


@dataclass
class Firing:
    """A rule found true about one thing (an event, an instrument, a source)."""

    rule: AlertRule
    dedupe_key: str
    title: str
    message: str
    fired_at: datetime
    event_id: str | None = None
    instrument_id: str | None = None
    source: str | None = None
    move_pct: float | None = None
    z: float | None = None
    is_test: bool = False


@dataclass
class Delivery:
    """What became of one firing: sent, failed (after bounded retries) or no-target."""

    firing: Firing
    status: str
    attempts: int = 0
    error: str | None = None
    delivered_at: datetime | None = None


# ---------------------------------------------------------------------------- config


def rules_from_config(config: Config) -> list[AlertRule]:
    """Read and validate `[[alerts]]`; every problem is one line of the ConfigError."""
    raw = config.raw.get("alerts", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{config.file}: alerts: must be an array of tables ([[alerts]])")
    known_instruments = set(config.watchlist)
    known_categories = set(EVENT_CATEGORIES) | _policy_tags(config)
    from pipelines.sources import SOURCES

    problems: list[str] = []
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        sec = Section(item if isinstance(item, dict) else {}, f"alerts[{n}]", config.file)
        try:
            rule = _parse_rule(sec, known_instruments, known_categories, set(SOURCES), problems)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(str(sec.fail("name", f"{rule.name!r} appears twice")))
            continue
        seen.add(rule.name)
        rules.append(rule)
    if problems:
        raise ConfigError("\n".join(problems))
    return rules


def _policy_tags(config: Config) -> set[str]:
    from pipelines.enrich.policy import PolicyTagger

    try:
        return set(PolicyTagger.from_config(config).lexicon)
    except ConfigError:
        return set()  # [policy] reports its own problem


def _parse_rule(
    sec: Section,
    instruments: set[str],
    categories: set[str],
    sources: set[str],
    problems: list[str],
) -> AlertRule | None:
    """One rule; problems in lists (an unknown instrument…) are each appended as one line."""
    name = sec.get("name", str)
    kind = sec.get("kind", str, choices=KINDS)
    sec.check_keys(_COMMON_KEYS + _KIND_KEYS[kind])
    targets_env = sec.get("targets_env", str, DEFAULT_TARGETS_ENV)
    if not _ENV_NAME.match(targets_env):
        raise sec.fail("targets_env", f"{targets_env!r} must be an environment variable name")
    base = AlertRule(
        name=name,
        kind=kind,
        cooldown=_duration(sec, "cooldown", "1h"),
        targets_env=targets_env,
    )
    before = len(problems)

    def check_names(key: str, given: list[str], known: set[str], what: str) -> None:
        for value in given:
            if value not in known:
                close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f"; known: {', '.join(sorted(known))}"
                )
                problems.append(str(sec.fail(key, f"unknown {what} {value!r}{hint}")))

    if kind == "event":
        cats = sec.str_list("categories")
        if not cats:
            raise sec.fail("categories", 'is required (e.g. ["policy", "tariffs"])')
        check_names("categories", cats, categories, "category")
        insts = sec.str_list("instruments")
        check_names("instruments", insts, instruments, "instrument")
        z = sec.get("z", float, None)
        move = sec.get("move_pct", float, None)
        if z is None and move is None:
            raise sec.fail("z", "give z (|z| ≥ z) or move_pct (|return| ≥ move_pct %), or both")
        for key, value in (("z", z), ("move_pct", move)):
            if value is not None and value <= 0:
                raise sec.fail(key, f"must be > 0, got {value}")
        horizon = _duration(sec, "horizon", "1h")
        if horizon < timedelta(minutes=5):
            raise sec.fail("horizon", "must be at least 5m (the first reaction horizon)")
        rule = replace(
            base,
            categories=tuple(cats),
            instruments=tuple(insts),
            z=z,
            move_pct=move,
            horizon=horizon,
            lookback=_duration(sec, "lookback", "1d"),
        )
    elif kind == "price":
        insts = sec.str_list("instruments")
        if not insts:
            raise sec.fail("instruments", "is required (instrument ids from the watchlist)")
        check_names("instruments", insts, instruments, "instrument")
        move = sec.get("move_pct", float)
        if move <= 0:
            raise sec.fail("move_pct", f"must be > 0, got {move}")
        rule = replace(
            base, instruments=tuple(insts), move_pct=move, window=_duration(sec, "window", "15m")
        )
    else:
        srcs = sec.str_list("sources")
        check_names("sources", srcs, sources, "source")
        cadences = sec.get("cadences", int, 3)
        if not 1 <= cadences <= 1000:
            raise sec.fail("cadences", f"must be between 1 and 1000, got {cadences}")
        rule = replace(base, sources=tuple(srcs), cadences=cadences)
    return rule if len(problems) == before else None


def _duration(sec: Section, key: str, default: str) -> timedelta:
    text = sec.get(key, str, default)
    try:
        value = parse_interval(text)
    except OverflowError:
        value = None
    if value is None or value <= timedelta(0):
        raise sec.fail(key, f"{text!r} is not a duration like 90s, 20m, 2h, 7d")
    return value


def find_rule(rules: Sequence[AlertRule], name: str) -> AlertRule:
    """The rule called `name`, else a one-line error listing the rules there are."""
    for rule in rules:
        if rule.name == name:
            return rule
    known = ", ".join(r.name for r in rules) or "none configured ([[alerts]] in tickerwire.toml)"
    raise TickerwireError(f"no alert rule {name!r}; rules: {known}")


def rules_frame(rules: list) -> pl.DataFrame:
    """One row per rule: name, kind, condition, cooldown, target variable and how many target
    URLs it has now (the URLs themselves are secrets and never shown)."""
    return pl.DataFrame(
        {
            "rule": [r.name for r in rules],
            "kind": [r.kind for r in rules],
            "condition": [r.describe() for r in rules],
            "cooldown": [duration_text(r.cooldown) for r in rules],
            "targets_env": [r.targets_env for r in rules],
            "targets": [len(r.target_urls()) for r in rules],
        },
        schema={
            "rule": pl.Utf8,
            "kind": pl.Utf8,
            "condition": pl.Utf8,
            "cooldown": pl.Utf8,
            "targets_env": pl.Utf8,
            "targets": pl.Int64,
        },
    )


def duration_text(delta: timedelta) -> str:
    """A duration as the config writes it: 90s, 20m, 2h, 1d."""
    s = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"
