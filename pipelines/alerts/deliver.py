"""Delivery through apprise (bounded retries, a hanging target cut off) and the record in `alerts`."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import store
from pipelines.alerts.rules import Delivery, Firing
from pipelines.errors import first_line

# Delivery: attempts per target and the longest one attempt may take (a hanging target must not
# hold a refresh); apprise's own connect/read timeouts (URL options cto/rto) apply inside it.
ATTEMPTS = 3
ATTEMPT_TIMEOUT = 10.0
RETRY_DELAY = 0.5


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
    with store.writing(db_path, command, migrate=False) as writer:
        writer.con.register("new_alerts", frame.to_arrow())
        try:
            cols = ", ".join(ALERT_SCHEMA)
            writer.con.execute(f"insert into alerts ({cols}) select {cols} from new_alerts")
        finally:
            writer.con.unregister("new_alerts")


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
