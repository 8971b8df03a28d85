"""Optional retention: roll old 1-minute bars up into 1-hour bars, then CHECKPOINT.

Off by default. Config:

    [retention]
    enabled = false        # true: `tickerwire retention` (and the scheduler, daily) applies it
    after_days = 90        # only bars older than this many days are rolled up
    from = "1m"            # the fine timeframe that is replaced …
    to = "1h"              # … by this coarser one
    at = "30 3 * * *"      # when the scheduler runs it (cron, UTC)

Only whole `to` buckets that end before the cutoff (now − after_days, floored to a bucket) are
touched: the last `after_days` days are never changed. Where a native `to` bar already exists
(e.g. fetched from the exchange) it is kept and the fine bars of that hour are only removed.
The roll-up, the deletion and the run log row happen in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from pipelines import store
from pipelines.cadence import CronError, parse_cadence
from pipelines.config import Config
from pipelines.schemas import TIMEFRAMES, timeframe_delta


@dataclass(frozen=True)
class RetentionPolicy:
    """The validated `[retention]` section."""

    enabled: bool = False
    after_days: int = 90
    from_tf: str = "1m"
    to_tf: str = "1h"
    at: str = "30 3 * * *"

    @classmethod
    def from_config(cls, config: Config) -> RetentionPolicy:
        """Read and validate `[retention]` (errors name the file and key)."""
        sec = config.section("retention")
        sec.check_keys(("enabled", "after_days", "from", "to", "at"))
        after = sec.get("after_days", int, 90)
        if after < 1:
            raise sec.fail("after_days", f"must be at least 1, got {after}")
        from_tf = sec.get("from", str, "1m", choices=tuple(TIMEFRAMES))
        to_tf = sec.get("to", str, "1h", choices=tuple(TIMEFRAMES))
        small, big = timeframe_delta(from_tf), timeframe_delta(to_tf)
        if big <= small or big % small:
            raise sec.fail("to", f"{to_tf!r} must be a whole multiple of from = {from_tf!r}")
        at = sec.get("at", str, "30 3 * * *")
        try:
            parse_cadence(at)
        except CronError as exc:
            raise sec.fail("at", str(exc)) from None
        return cls(sec.get("enabled", bool, False), after, from_tf, to_tf, at)

    def cutoff(self, now: datetime) -> datetime:
        """Bars opening before this instant are rolled up: now − after_days, floored to a `to` bucket."""
        step = timeframe_delta(self.to_tf).total_seconds()
        edge = (now - timedelta(days=self.after_days)).timestamp()
        return datetime.fromtimestamp(edge // step * step, UTC)


@dataclass
class RetentionResult:
    """What a retention pass did (or would do, for a dry run)."""

    cutoff: datetime
    fine_bars: int  # fine bars older than the cutoff (removed)
    buckets_written: int  # coarse bars created from them
    buckets_kept: int  # coarse bars that already existed and were kept
    dry_run: bool


def plan(con: duckdb.DuckDBPyConnection, policy: RetentionPolicy, now: datetime) -> RetentionResult:
    """Count what a pass would change, without changing anything."""
    params = _params(policy, now)
    row = con.execute(store.load_sql("ops_retention_plan"), params).fetchall()[0]
    return RetentionResult(params["cutoff"], int(row[0]), int(row[1]), int(row[2]), True)


def apply(writer: store.Store, policy: RetentionPolicy, now: datetime) -> RetentionResult:
    """Roll up, delete the fine bars, log the run — one transaction — then CHECKPOINT."""
    params = _params(policy, now)
    con = writer.con
    result = plan(con, policy, now)
    result.dry_run = False
    if result.fine_bars == 0:
        return result
    con.execute("begin transaction")
    try:
        run = writer.start_run("retention")  # inside: a failed pass leaves no 'running' row behind
        con.execute(store.load_sql("ops_retention_rollup"), params)
        con.execute(
            "delete from bars where timeframe = $from_tf and ts < $cutoff",
            {"from_tf": params["from_tf"], "cutoff": params["cutoff"]},
        )
        run.read, run.stored, run.present = (
            result.fine_bars,
            result.buckets_written,
            result.buckets_kept,
        )
        run.details = {
            "cutoff": params["cutoff"].isoformat(),
            "from": policy.from_tf,
            "to": policy.to_tf,
            "fine_bars_removed": result.fine_bars,
        }
        writer.finish_run(run, "ok")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    con.execute("checkpoint")  # give the freed blocks back to the file
    return result


def _params(policy: RetentionPolicy, now: datetime) -> dict:
    return {
        "from_tf": policy.from_tf,
        "to_tf": policy.to_tf,
        "to_s": int(timeframe_delta(policy.to_tf).total_seconds()),
        "cutoff": policy.cutoff(now),
    }
