"""The entry points: `run_alerts` (evaluate, dedupe, deliver, record), `alerts test`, the refresh hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import store
from pipelines.alerts.deliver import deliver, record
from pipelines.alerts.evaluate import due, evaluate
from pipelines.alerts.rules import AlertRule, Delivery, Firing, find_rule, rules_from_config
from pipelines.config import Config
from pipelines.errors import first_line


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
