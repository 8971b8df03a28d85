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

from pipelines.alerts.deliver import ALERT_SCHEMA, ATTEMPT_TIMEOUT, RETRIES, deliver, record
from pipelines.alerts.evaluate import dashboard_url, due, evaluate
from pipelines.alerts.rules import (
    DEFAULT_TARGETS_ENV,
    KINDS,
    AlertRule,
    Delivery,
    Firing,
    duration_text,
    find_rule,
    rules_frame,
    rules_from_config,
)
from pipelines.alerts.run import AlertRun, after_refresh, run_alerts, test_rule

__all__ = [
    "ALERT_SCHEMA",
    "RETRIES",
    "ATTEMPT_TIMEOUT",
    "DEFAULT_TARGETS_ENV",
    "KINDS",
    "AlertRule",
    "AlertRun",
    "Delivery",
    "Firing",
    "after_refresh",
    "dashboard_url",
    "deliver",
    "due",
    "duration_text",
    "evaluate",
    "find_rule",
    "record",
    "rules_frame",
    "rules_from_config",
    "run_alerts",
    "test_rule",
]
