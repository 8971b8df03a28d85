"""Which rules are true now: events whose instruments moved, price moves, failing sources; dedupe."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import polars as pl

from pipelines import store
from pipelines.alerts.rules import AlertRule, Firing, duration_text
from pipelines.cadence import Schedule
from pipelines.config import Config

DASHBOARD_URL_ENV = "TICKERWIRE_DASHBOARD_URL"
DEFAULT_DASHBOARD_URL = "http://localhost:8501"


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
