"""Alert latency: from the commit that makes a rule true to the webhook receiving it (target ≤ 5 s).

`python bench/bench_alerts.py [--reps 10] [--days 3]`: a database of 20 instruments × `days` of
1-minute bars ending now, 30 events in the last day, and three rules (event, price, health).
Each repetition commits one new BTC bar that moves BTC ≥ 5 % (through `store.writing`, as a
refresh does), then runs the refresh hook (`pipelines.alerts.after_refresh`: evaluate, dedupe,
deliver through apprise, record) and times the POST's arrival at a local receiver on 127.0.0.1.
Baseline in the same run: a bare apprise notify of the same message to the same receiver.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import alerts, store  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.schemas import BAR_SCHEMA, EVENT_INSTRUMENT_SCHEMA, EVENT_SCHEMA  # noqa: E402
from tests.alert_receiver import Receiver  # noqa: E402

IDS = [f"C{i:02d}" for i in range(19)] + ["BTC"]


def config_text() -> str:
    insts = "".join(
        f'[[instruments]]\nid = "{i}"\nasset_class = "crypto"\nsource = "ccxt"\nsymbol = "{i}/USDT"\n\n'
        for i in IDS
    )
    return insts + (
        '[[alerts]]\nname = "policy-moves"\nkind = "event"\ncategories = ["policy"]\n'
        'z = 3.0\nmove_pct = 2.0\nhorizon = "1h"\n\n'
        '[[alerts]]\nname = "btc-swing"\nkind = "price"\ninstruments = ["BTC", "C00", "C01"]\n'
        'move_pct = 5.0\nwindow = "15m"\ncooldown = "1s"\n\n'
        '[[alerts]]\nname = "down"\nkind = "health"\ncadences = 3\n'
    )


def seed(db: Path, days: int, end: datetime) -> None:
    n = days * 1440
    start = end - timedelta(minutes=n)
    frames = []
    for k, inst in enumerate(IDS):
        closes = [100.0 + k + 0.1 * ((i * 7919) % 13 - 6) for i in range(n)]
        frames.append(
            pl.DataFrame(
                {
                    "instrument_id": inst,
                    "timeframe": "1m",
                    "ts": [start + timedelta(minutes=i) for i in range(n)],
                    "open": closes,
                    "high": closes,
                    "low": closes,
                    "close": closes,
                    "volume": 1.0,
                    "source": "bench",
                },
                schema=BAR_SCHEMA,
            )
        )
    evs = [
        {
            "event_id": f"e{j}",
            "title": f"Policy headline {j}",
            "event_at": end - timedelta(minutes=40 * j + 30),
            "event_at_lower": None,
            "event_at_upper": None,
            "category": "policy",
            "countries": [],
            "n_articles": 1,
            "n_outlets": 1,
            "first_outlet": "bench",
            "is_manual": True,
        }
        for j in range(30)
    ]
    links = [
        {"event_id": f"e{j}", "instrument_id": IDS[j % 19], "reason": "bench", "confidence": 1.0}
        for j in range(30)
    ]
    with store.writing(db, "bench") as writer:
        writer.upsert("bars", pl.concat(frames))
        writer.upsert("events", pl.DataFrame(evs, schema=EVENT_SCHEMA))
        writer.upsert("event_instruments", pl.DataFrame(links, schema=EVENT_INSTRUMENT_SCHEMA))


def commit_jump(db: Path, ts: datetime, close: float) -> None:
    bar = pl.DataFrame(
        [
            {
                "instrument_id": "BTC",
                "timeframe": "1m",
                "ts": ts,
                "open": close,
                "high": close,
                "low": close,
                "close": close,
                "volume": 1.0,
                "source": "bench",
            }
        ],
        schema=BAR_SCHEMA,
    )
    with store.writing(db, "bench", migrate=False) as writer:
        writer.upsert("bars", bar)


def wait_for(rx: Receiver, n: int, timeout: float = 30.0) -> float:
    deadline = time.perf_counter() + timeout
    while len(rx.posts) < n:
        if time.perf_counter() > deadline:
            raise SystemExit(f"the receiver got {len(rx.posts)} of {n} posts within {timeout} s")
        time.sleep(0.002)
    return rx.posts[n - 1][0]


def main() -> None:
    """Run the benchmark and print a table of latencies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_alerts_"))
    db = tmp / "a.duckdb"
    cfg = tmp / "t.toml"
    cfg.write_text(config_text(), encoding="utf-8")
    config = load_config(cfg)
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    t = time.perf_counter()
    seed(db, args.days, end)
    print(
        f"seeded {len(IDS)} × {args.days * 1440} bars + 30 events in {time.perf_counter() - t:.1f} s"
    )
    import apprise

    floor: list[float] = []
    total: list[float] = []
    after_commit: list[float] = []
    with Receiver() as rx:
        os.environ[alerts.DEFAULT_TARGETS_ENV] = rx.url
        alerts.after_refresh(db, config)  # the events' alerts and a first evaluation: not timed
        base = len(rx.posts)
        for rep in range(args.reps):
            # Floor: a bare apprise notify to the same receiver.
            t0 = time.perf_counter()
            notifier = apprise.Apprise()
            notifier.add(rx.url)
            notifier.notify(title="floor", body="floor")
            floor.append(wait_for(rx, base + 1) - t0)
            base += 1
            time.sleep(1.1)  # past the price rule's 1 s cooldown
            price = 200.0 + rep  # BTC (≈ 119) up ≥ 5 % against its close 15 minutes before
            t0 = time.perf_counter()
            commit_jump(db, end + timedelta(minutes=rep + 1), price)
            t1 = time.perf_counter()
            alerts.after_refresh(db, config)
            arrived = wait_for(rx, base + 1)
            base = len(rx.posts)
            total.append(arrived - t0)
            after_commit.append(arrived - t1)
    med = statistics.median
    print(f"\n{args.reps} repetitions (seconds; median / max)")
    print("| path | median s | max s |\n|---|---|---|")
    print(f"| bare apprise notify (floor) | {med(floor):.3f} | {max(floor):.3f} |")
    print(f"| commit done → webhook received | {med(after_commit):.3f} | {max(after_commit):.3f} |")
    print(f"| commit started → webhook received | {med(total):.3f} | {max(total):.3f} |")
    ok = "✓" if max(total) <= 5.0 else "✗"
    print(
        f"\nratio (commit done → received) / floor: {med(after_commit) / med(floor):.1f}; "
        f"target ≤ 5 s {ok} (worst {max(total):.3f} s)"
    )


if __name__ == "__main__":
    main()
