"""Delivery through apprise (retried under the one policy, a hanging target cut off) and the
record in `alerts`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import store
from pipelines.alerts.rules import Delivery, Firing
from pipelines.errors import SourceError, first_line
from pipelines.retry import RetryPolicy, TryAgain, call_with_retry, within

# Delivery: tries after the first (pipelines/retry.py's meaning of "retries"), the base of the
# jittered backoff between them, and the longest one try may take (a hanging target must not
# hold a refresh); apprise's own connect/read timeouts (URL options cto/rto) apply inside it.
# apprise hides the HTTP response, so a webhook's Retry-After cannot reach the policy; the
# plugins of services with rate limits (Discord, Telegram, Matrix…) wait on them themselves.
RETRIES = 2
RETRY_BASE = 0.5
ATTEMPT_TIMEOUT = 10.0


class _Refused(Exception):
    """A target apprise cannot use at all (not an apprise URL): trying again cannot help."""


def deliver(
    firing: Firing,
    urls: Sequence[str] | None = None,
    *,
    policy: RetryPolicy | None = None,
    timeout: float = ATTEMPT_TIMEOUT,
) -> Delivery:
    """Send one firing to its targets through apprise, retried under `policy`; never raises."""
    urls = list(urls) if urls is not None else firing.rule.target_urls()
    if not urls:
        return Delivery(firing, "no-target", error=f"${firing.rule.targets_env} is not set")
    policy = policy or RetryPolicy(retries=RETRIES, base=RETRY_BASE, cap=8 * RETRY_BASE)
    tries = 0

    def attempt() -> None:
        nonlocal tries
        tries += 1
        _notify_once(urls, firing, timeout)

    try:
        call_with_retry(attempt, retry_on=(TryAgain,), never=(_Refused,), policy=policy)
    except (TryAgain, _Refused) as exc:
        return Delivery(firing, "failed", tries, first_line(exc))
    return Delivery(firing, "sent", tries, None, datetime.now(UTC))


def _notify_once(urls: Sequence[str], firing: Firing, timeout: float) -> None:
    """One apprise notify to all targets, abandoned when it has not answered within `timeout`;
    TryAgain when it failed, _Refused when a target can never work."""
    try:
        ok, log = within(lambda: _notify(urls, firing), timeout, "alert delivery")
    except SourceError:  # `within`'s deadline: the target hangs
        raise TryAgain(f"no answer within {timeout:g} s") from None
    if not ok:
        raise TryAgain(" ".join(log.split())[:300] or "the target refused the notification")


def _notify(urls: Sequence[str], firing: Firing) -> tuple[bool, str]:
    """apprise's answer for all targets and the warnings it logged."""
    import apprise

    notifier = apprise.Apprise()
    bad = [u for u in urls if not notifier.add(u)]
    if bad:
        raise _Refused(f"not an apprise URL: {_redact(bad[0])}")
    try:
        with apprise.LogCapture(level=apprise.logging.WARNING) as log:
            ok = notifier.notify(
                title=firing.title, body=firing.message, body_format=apprise.NotifyFormat.TEXT
            )
            return bool(ok), log.getvalue()
    except Exception as exc:  # a plugin bug must not reach the refresh: retried, then recorded
        raise TryAgain(first_line(exc)) from exc


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
