"""Alerts: rules from `[[alerts]]`, evaluated over the store, delivered through apprise, recorded.

Three kinds of rule:

    [[alerts]]
    name = "policy-moves"        # unique; `tickerwire alerts test policy-moves`
    kind = "event"               # a new event in these categories whose linked instruments move
    categories = ["policy", "tariffs", "sanctions"]   # event category or policy tag
    z = 3.0                      # |z| ≥ 3 …
    move_pct = 1.0               # … or |return| ≥ 1 % (either is enough; give at least one)
    horizon = "1h"               # at the reaction horizons up to +1h (pipelines/analytics/reaction.py)
    lookback = "1d"              # events this recent are "new" (default 1d)
    instruments = ["XAU"]        # optional: only these linked instruments

    [[alerts]]
    name = "btc-5pc"
    kind = "price"               # a move ≥ move_pct % within `window`, from `bars`
    instruments = ["BTC", "ETH"]
    move_pct = 5.0
    window = "30m"

    [[alerts]]
    name = "sources-down"
    kind = "health"              # a source failing (N runs in a row) or stale (no success for N cadences)
    sources = ["ccxt", "yahoo"]  # optional: default every source that has run
    cadences = 3

Every rule takes `cooldown` (default "1h": the same price/health alert is not repeated sooner;
an event alert is sent once per event) and `targets_env` (the environment variable holding its
apprise URLs, default TICKERWIRE_ALERT_URLS; several URLs separated by spaces or commas). URLs
carry secrets, so they never live in the config file.

Flow: `evaluate` reads (a short read-only connection), `deliver` does the network work with no
database open, `record` writes the outcome through `store.writing`. A target that fails or
hangs is retried a bounded number of times and recorded as failed; nothing here raises into a
refresh (`after_refresh` turns any problem into a notice).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import store
from pipelines.cadence import Schedule, parse_interval
from pipelines.config import Config, Section
from pipelines.errors import ConfigError, TickerwireError, first_line

KINDS = ("event", "price", "health")
# Event categories the enrichment assigns (events.category); policy tags (events.tags) come from
# the [policy] lexicon and are accepted too.
EVENT_CATEGORIES = (
    "policy",
    "macro",
    "regulation",
    "corporate",
    "geopolitics",
    "crypto",
    "news",
    "other",
)
DEFAULT_TARGETS_ENV = "TICKERWIRE_ALERT_URLS"
DASHBOARD_URL_ENV = "TICKERWIRE_DASHBOARD_URL"
DEFAULT_DASHBOARD_URL = "http://localhost:8501"
# Delivery: attempts per target and the longest one attempt may take (a hanging target must not
# hold a refresh); apprise's own connect/read timeouts (URL options cto/rto) apply inside it.
ATTEMPTS = 3
ATTEMPT_TIMEOUT = 10.0
RETRY_DELAY = 0.5

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


# ---------------------------------------------------------------------------- evaluation


def evaluate(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[AlertRule],
    config: Config,
    now: datetime | None = None,
    *,
    skip_sent: bool = False,
) -> list[Firing]:
    """Every firing of `rules` the stored data supports at `now` (dedupe is `due`'s job;
    `skip_sent` only spares the returns of events already alerted, which `due` would drop)."""
    now = now or datetime.now(UTC)
    found: list[Firing] = []
    for rule in rules:
        if rule.kind == "event":
            found.extend(_event_firings(con, rule, now, skip_sent))
        elif rule.kind == "price":
            found.extend(_price_firings(con, rule, now))
        else:
            found.extend(_health_firings(con, rule, config, now))
    return found


def _finest(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, str]:
    from pipelines.analytics.reaction import finest_timeframes

    frame = store.query_frame(
        con,
        "select distinct instrument_id, timeframe from bars where instrument_id in (select unnest($ids))",
        {"ids": list(ids)},
    )
    return finest_timeframes(frame)


def _event_firings(
    con: duckdb.DuckDBPyConnection, rule: AlertRule, now: datetime, skip_sent: bool
) -> list[Firing]:
    from pipelines.analytics.reaction import HORIZONS, event_returns

    events = store.query_frame(
        con,
        """
        select e.event_id, e.title, e.event_at, e.category, list(ei.instrument_id) as ids
        from events e
        join event_instruments ei using (event_id)
        where e.event_at between $since and $now
          and (e.category in (select unnest($cats))
               or len(list_intersect(coalesce(e.tags, []), $cats)) > 0)
          and (len($insts) = 0 or ei.instrument_id in (select unnest($insts)))
          and not ($skip_sent and exists (
              select 1 from alerts a
              where a.dedupe_key = $rule || '|event|' || e.event_id
                and a.status = 'sent' and not a.is_test))
        group by all
        order by e.event_at
        """,
        {
            "since": now - rule.lookback,
            "now": now,
            "cats": list(rule.categories),
            "insts": list(rule.instruments),
            "rule": rule.name,
            "skip_sent": skip_sent,
        },
    )
    finest = _finest(con, sorted({i for ids in events["ids"].to_list() for i in ids}))
    horizons = [h for h, s in HORIZONS if s <= rule.horizon.total_seconds()]
    out: list[Firing] = []
    # A few new events per evaluation: one small returns query each (the Event page's numbers).
    for ev in events.iter_rows(named=True):
        rets = event_returns(con, ev["ids"], ev["event_at"], finest)
        if rets.height == 0:
            continue
        rets = rets.filter(
            pl.col("horizon").is_in(horizons)
            & pl.col("priced_at").dt.convert_time_zone("UTC").le(now)
        )
        hit = pl.lit(False)
        if rule.z is not None:
            hit = hit | (pl.col("z").abs() >= rule.z).fill_null(False)
        if rule.move_pct is not None:
            hit = hit | (pl.col("ret_pct").abs() >= rule.move_pct).fill_null(False)
        hits = rets.filter(hit)
        if hits.height == 0:
            continue
        # The strongest move per instrument, instruments by their strongest move.
        best = hits.sort(pl.col("ret_pct").abs(), descending=True).unique(
            "instrument_id", keep="first", maintain_order=True
        )
        lines = [_move_line(r) for r in best.iter_rows(named=True)]
        top = best.row(0, named=True)
        link = f"{dashboard_url()}/event?event={ev['event_id']}"
        when = ev["event_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        out.append(
            Firing(
                rule=rule,
                dedupe_key=f"{rule.name}|event|{ev['event_id']}",
                title=f"[{rule.name}] {ev['title']}",
                message="\n".join([f"{ev['category'] or 'event'} · {when}", *lines, link]),
                fired_at=now,
                event_id=ev["event_id"],
                instrument_id=top["instrument_id"],
                move_pct=top["ret_pct"],
                z=top["z"],
            )
        )
    return out


def _move_line(row: dict[str, Any]) -> str:
    z = row.get("z")
    sig = (
        f"z {z:+.2f}, p {row['p_value']:.3g}{' ' + row['mark'] if row.get('mark') else ''}"
        if z is not None
        else "z n/a (too few bars before the event)"
    )
    return f"{row['instrument_id']} {row['ret_pct']:+.2f} % at {row['horizon']} ({sig})"


def _price_firings(con: duckdb.DuckDBPyConnection, rule: AlertRule, now: datetime) -> list[Firing]:
    from pipelines.analytics.reaction import tf_seconds

    assert rule.move_pct is not None
    groups: dict[str, list[str]] = {}
    for inst, tf in _finest(con, rule.instruments).items():
        groups.setdefault(tf, []).append(inst)
    sql = store.load_sql("queries/alert_price_moves")
    out: list[Firing] = []
    for tf, ids in groups.items():
        tf_s = tf_seconds(tf)
        # Only a move that is current: the newest close within the window (or two bars) of now.
        fresh = max(rule.window, timedelta(seconds=2 * tf_s))
        moves = store.query_frame(
            con,
            sql,
            {
                "ids": ids,
                "timeframe": tf,
                "tf_s": tf_s,
                "window_s": int(rule.window.total_seconds()),
                "since": now - fresh,
            },
        )
        for m in moves.filter(pl.col("move_pct").abs() >= rule.move_pct).iter_rows(named=True):
            span = duration_text(m["last_at"] - m["base_at"])
            out.append(
                Firing(
                    rule=rule,
                    dedupe_key=f"{rule.name}|price|{m['instrument_id']}",
                    title=f"[{rule.name}] {m['instrument_id']} {m['move_pct']:+.2f} % in {span}",
                    message=(
                        f"{m['instrument_id']} {m['base_close']:.6g} → {m['last_close']:.6g} "
                        f"({m['move_pct']:+.2f} %) from {_hm(m['base_at'])} to {_hm(m['last_at'])}; "
                        f"threshold {rule.move_pct:g} % in {duration_text(rule.window)}\n"
                        f"{dashboard_url()}/timeline?instrument={m['instrument_id']}"
                    ),
                    fired_at=now,
                    instrument_id=m["instrument_id"],
                    move_pct=m["move_pct"],
                )
            )
    return out


def _health_firings(
    con: duckdb.DuckDBPyConnection, rule: AlertRule, config: Config, now: datetime
) -> list[Firing]:
    import json

    from pipelines.health import source_health

    schedule = Schedule.from_config(config)
    out: list[Firing] = []
    for row in source_health(con, now).iter_rows(named=True):
        if not row["kinds"] or (rule.sources and row["source"] not in rule.sources):
            continue  # imports and the demo are not on a schedule
        cadence = schedule.cadence_of(row["source"], json.loads(row["kinds"]))
        problem = None
        if row["failures_in_a_row"] >= rule.cadences:
            error = (row["last_errors"] or "").splitlines()[:1]
            problem = f"{row['failures_in_a_row']} failed runs in a row" + (
                f": {error[0][:200]}" if error else ""
            )
        elif cadence is not None:
            limit = cadence.typical * rule.cadences
            last = row["last_ok_at"]
            if last is None or now - last > limit:
                ago = f"{duration_text(now - last)} ago" if last is not None else "never"
                problem = f"stale: last success {ago}, runs every {cadence.text} (limit {duration_text(limit)})"
        if problem is None:
            continue
        out.append(
            Firing(
                rule=rule,
                dedupe_key=f"{rule.name}|health|{row['source']}",
                title=f"[{rule.name}] source {row['source']}: {problem.split(':')[0]}",
                message=f"{row['source']}: {problem}\n{dashboard_url()}/health",
                fired_at=now,
                source=row["source"],
            )
        )
    return out


def dashboard_url() -> str:
    """Base URL of the dashboard for links in messages (TICKERWIRE_DASHBOARD_URL)."""
    return os.environ.get(DASHBOARD_URL_ENV, DEFAULT_DASHBOARD_URL).rstrip("/")


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


def _hm(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%H:%M UTC")


# ---------------------------------------------------------------------------- dedupe


def due(con: duckdb.DuckDBPyConnection, firings: Sequence[Firing]) -> list[Firing]:
    """The firings not already delivered: a sent event key never again, other keys after the
    cooldown; a failed (or target-less) one is tried again after the cooldown. Test sends do
    not count."""
    if not firings:
        return []
    recent = store.query_frame(
        con,
        """
        select dedupe_key, kind, status, max(fired_at) as last_at
        from alerts
        where dedupe_key in (select unnest($keys)) and not is_test
        group by all
        """,
        {"keys": [f.dedupe_key for f in firings]},
    )
    last: dict[str, list[tuple[str, str, datetime]]] = {}
    for key, kind, status, at in recent.iter_rows():
        last.setdefault(key, []).append((kind, status, at))
    out = []
    for f in firings:
        blocked = any(
            (kind == "event" and status == "sent") or f.fired_at - at < f.rule.cooldown
            for kind, status, at in last.get(f.dedupe_key, [])
        )
        if not blocked:
            out.append(f)
    return out


# ---------------------------------------------------------------------------- delivery


def deliver(
    firing: Firing,
    urls: Sequence[str] | None = None,
    *,
    attempts: int = ATTEMPTS,
    timeout: float = ATTEMPT_TIMEOUT,
    retry_delay: float = RETRY_DELAY,
) -> Delivery:
    """Send one firing to its targets through apprise: bounded retries, never raises."""
    urls = list(urls) if urls is not None else firing.rule.target_urls()
    if not urls:
        return Delivery(firing, "no-target", error=f"${firing.rule.targets_env} is not set")
    error = None
    for attempt in range(1, attempts + 1):
        ok, error = _notify_once(urls, firing, timeout)
        if ok:
            return Delivery(firing, "sent", attempt, None, datetime.now(UTC))
        if attempt < attempts:
            time.sleep(retry_delay * attempt)
    return Delivery(firing, "failed", attempts, error)


def _notify_once(urls: Sequence[str], firing: Firing, timeout: float) -> tuple[bool, str | None]:
    """One apprise notify to all targets, in a thread so that a hanging target is abandoned."""
    import apprise

    result: dict[str, Any] = {}

    def run() -> None:
        try:
            notifier = apprise.Apprise()
            bad = [u for u in urls if not notifier.add(u)]
            if bad:
                result["error"] = f"not an apprise URL: {_redact(bad[0])}"
                return
            with apprise.LogCapture(level=apprise.logging.WARNING) as log:
                result["ok"] = notifier.notify(
                    title=firing.title, body=firing.message, body_format=apprise.NotifyFormat.TEXT
                )
                result["log"] = log.getvalue()
        except Exception as exc:  # a plugin bug must not reach the refresh
            result["error"] = first_line(exc)

    worker = threading.Thread(target=run, name="alert-delivery", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return False, f"no answer within {timeout:g} s"
    if result.get("ok"):
        return True, None
    log = " ".join((result.get("log") or "").split())
    return False, result.get("error") or (log[:300] or "the target refused the notification")


def _redact(url: str) -> str:
    """A URL without what may be a secret (everything after the scheme's host part)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0].split('@')[-1]}/…"


# ---------------------------------------------------------------------------- recording


def record(db_path: str | Path, deliveries: Sequence[Delivery], command: str = "alerts") -> None:
    """Store the deliveries in `alerts` through the one writer path (one transaction)."""
    if not deliveries:
        return
    rows = [
        {
            "rule": d.firing.rule.name,
            "kind": d.firing.rule.kind,
            "dedupe_key": d.firing.dedupe_key,
            "fired_at": d.firing.fired_at,
            "title": d.firing.title,
            "message": d.firing.message,
            "event_id": d.firing.event_id,
            "instrument_id": d.firing.instrument_id,
            "source": d.firing.source,
            "move_pct": d.firing.move_pct,
            "z": d.firing.z,
            "status": d.status,
            "attempts": d.attempts,
            "error": d.error,
            "delivered_at": d.delivered_at,
            "is_test": d.firing.is_test,
        }
        for d in deliveries
    ]
    frame = pl.DataFrame(rows, schema=ALERT_SCHEMA)
    with store.writing(db_path, command, migrate=False) as st:
        st.con.register("new_alerts", frame.to_arrow())
        try:
            cols = ", ".join(ALERT_SCHEMA)
            st.con.execute(f"insert into alerts ({cols}) select {cols} from new_alerts")
        finally:
            st.con.unregister("new_alerts")


ALERT_SCHEMA: dict[str, Any] = {
    "rule": pl.Utf8,
    "kind": pl.Utf8,
    "dedupe_key": pl.Utf8,
    "fired_at": pl.Datetime("us", "UTC"),
    "title": pl.Utf8,
    "message": pl.Utf8,
    "event_id": pl.Utf8,
    "instrument_id": pl.Utf8,
    "source": pl.Utf8,
    "move_pct": pl.Float64,
    "z": pl.Float64,
    "status": pl.Utf8,
    "attempts": pl.Int32,
    "error": pl.Utf8,
    "delivered_at": pl.Datetime("us", "UTC"),
    "is_test": pl.Boolean,
}


# ---------------------------------------------------------------------------- entry points


@dataclass
class AlertRun:
    """What one evaluation did: firings found, deliveries made (after dedupe)."""

    found: int = 0
    deliveries: list[Delivery] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many were found, sent, failed."""
        by = {
            s: sum(d.status == s for d in self.deliveries) for s in ("sent", "failed", "no-target")
        }
        return (
            f"alerts: {self.found} true, {len(self.deliveries)} new — {by['sent']} sent, "
            f"{by['failed']} failed, {by['no-target']} without a target"
        )


def run_alerts(
    db_path: str | Path,
    config: Config,
    rules: Sequence[AlertRule] | None = None,
    *,
    now: datetime | None = None,
    send: Callable[[Firing], Delivery] = deliver,
) -> AlertRun:
    """Evaluate, drop what was already sent (dedupe + cooldown), deliver, record."""
    rules = rules_from_config(config) if rules is None else rules
    run = AlertRun()
    if not rules:
        return run
    with store.reader(db_path) as con:
        firings = evaluate(con, rules, config, now, skip_sent=True)
        fresh = due(con, firings)
    run.found = len(firings)
    run.deliveries = [send(f) for f in fresh]  # network: no database open
    record(db_path, run.deliveries)
    return run


def test_rule(
    db_path: str | Path, config: Config, name: str, *, now: datetime | None = None
) -> AlertRun:
    """`alerts test RULE`: send what the rule finds now (marked as a test, no dedupe), or one
    message saying it is not met, so a user sees their target receive something."""
    rule = find_rule(rules_from_config(config), name)
    now = now or datetime.now(UTC)
    with store.reader(db_path) as con:
        firings = evaluate(con, [rule], config, now)
    if not firings:
        firings = [
            Firing(
                rule=rule,
                dedupe_key=f"{rule.name}|test",
                title=f"[{rule.name}] test: not met now",
                message=f"tickerwire alert test. Rule {rule.name!r}: {rule.describe()} — not met now.",
                fired_at=now,
            )
        ]
    run = AlertRun(found=len(firings))
    for f in firings:
        f.is_test = True
        f.title = f"[test] {f.title}"
    run.deliveries = [deliver(f) for f in firings]
    record(db_path, run.deliveries, "alerts test")
    return run


def after_refresh(db_path: str | Path, config: Config) -> str | None:
    """The refresh hook: run the alerts; a one-line notice on anything to report, never raises."""
    try:
        if not config.raw.get("alerts"):
            return None
        run = run_alerts(db_path, config)
    except Exception as exc:  # alerts must never fail a refresh that stored data
        return f"alerts: not evaluated: {first_line(exc)}"
    return run.summary() if run.deliveries else None
