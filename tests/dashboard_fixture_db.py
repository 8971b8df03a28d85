"""A small, fully known database for the dashboard tests, written through pipelines.store upserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines import store

T0 = datetime(2026, 5, 26, 14, 25, tzinfo=UTC)  # the seed story's first report (The Decoder)
START = datetime(2026, 5, 20, 0, 0, tzinfo=UTC)
END = datetime(2026, 5, 28, 0, 0, tzinfo=UTC)
SEED_EVENT = "ev-seed"
STRIP_AT = datetime(2026, 5, 28, 4, 57, tzinfo=UTC)
GAP_START = datetime(2026, 5, 27, 10, 0, tzinfo=UTC)


def _walk(n: int, start: float, vol: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0, vol, n)))


def bars_frame(
    instrument: str,
    timeframe: str,
    step_s: int,
    start_price: float,
    seed: int,
    jump_at: datetime | None = None,
    jump: float = 0.0,
) -> pl.DataFrame:
    """Deterministic random-walk bars from START to END (optionally a step `jump` at `jump_at`)."""
    n = int((END - START).total_seconds() // step_s)
    ts = [START + timedelta(seconds=step_s * k) for k in range(n)]
    close = _walk(n, start_price, 0.0008, seed)
    if jump_at is not None:
        k = int((jump_at - START).total_seconds() // step_s)
        close[k:] *= 1 + jump
    opens = np.concatenate([[start_price], close[:-1]])
    return pl.DataFrame(
        {
            "instrument_id": instrument,
            "timeframe": timeframe,
            "ts": pl.Series(ts, dtype=pl.Datetime("us", "UTC")),
            "open": opens,
            "high": np.maximum(opens, close) * 1.0002,
            "low": np.minimum(opens, close) * 0.9998,
            "close": close,
            "volume": np.full(n, 10.0),
            "source": "fixture",
        }
    )


def build(path: Path, *, demo: bool = True) -> Path:
    """Write the fixture database at `path` and return it."""
    with store.writer(path) as writer:
        run = writer.start_run("fixture")
        writer.upsert(
            "instruments",
            pl.DataFrame(
                {
                    "instrument_id": ["BTC", "ETH", "XAU", "RAIN"],
                    "display_name": ["Bitcoin", "Ethereum", "Gold", "Rain"],
                    "asset_class": ["crypto", "crypto", "commodity", "crypto"],
                    "source": ["ccxt", "ccxt", "yahoo", "ccxt"],
                    "calendar": ["24/7", "24/7", "24/7", "24/7"],
                    "available": [True, True, True, False],
                    "unavailable_reason": [None, None, None, "no configured venue lists RAIN"],
                }
            ),
        )
        # BTC jumps +2 % one minute after the seed event; ETH is a plain walk; XAU has 5m bars.
        writer.upsert(
            "bars",
            bars_frame("BTC", "1m", 60, 73_000.0, 1, jump_at=T0 + timedelta(minutes=1), jump=0.02),
        )
        # ETH misses the 30 bars 10:00-10:29 on May 27: one gap of 30 bars for the health page.
        eth = bars_frame("ETH", "1m", 60, 2_000.0, 2).filter(
            ~pl.col("ts").is_between(GAP_START, GAP_START + timedelta(minutes=29))
        )
        writer.upsert("bars", eth)
        writer.upsert("bars", bars_frame("XAU", "5m", 300, 4_500.0, 3))
        writer.upsert(
            "quotes",
            pl.DataFrame(
                {
                    "instrument_id": ["BTC", "ETH", "XAU"],
                    "ts": pl.Series([STRIP_AT] * 3, dtype=pl.Datetime("us", "UTC")),
                    "source": "strip:fixture",
                    "price": [73_275.0, 2_007.61, 4_593.0],
                    "change_pct": [-0.17, 0.10, 2.08],
                    "captured_from": "fixture",
                }
            ),
        )
        events = pl.DataFrame(
            {
                "event_id": [SEED_EVENT, "ev-fed", "ev-sample"],
                "title": [
                    "China classifies AI engineers as national security assets",
                    "Fed minutes signal patience on rates",
                    "[sample] Exchange outage halts withdrawals",
                ],
                "event_at": pl.Series(
                    [T0, T0 + timedelta(hours=3, minutes=35), T0 + timedelta(hours=18, minutes=35)],
                    dtype=pl.Datetime("us", "UTC"),
                ),
                "category": ["policy", "macro", "corporate"],
                "n_articles": [3, 1, 0],
                "n_outlets": [3, 1, 0],
                "first_outlet": ["The Decoder", "Reuters", None],
                "is_manual": [False, False, True],
            }
        )
        writer.upsert("events", events)
        arts = pl.DataFrame(
            {
                "article_id": ["a1", "a2", "a3", "a4", "a5"],
                "outlet": ["The Decoder", "Bloomberg", "SCMP", "Reuters", "CoinDesk"],
                "url": [f"https://example.org/{k}" for k in range(1, 6)],
                "title": [
                    "China treats AI researchers like nuclear scientists",
                    "Beijing requires travel approval for AI talent",
                    "AI executives need permission to go abroad",
                    "Fed minutes: officials in no hurry",
                    "Bitcoin miners eye cheaper power",
                ],
                "published_at": pl.Series(
                    [
                        T0,
                        T0 + timedelta(minutes=40),
                        T0 + timedelta(hours=2),
                        T0 + timedelta(hours=3, minutes=35),
                        T0 - timedelta(days=1),
                    ],
                    dtype=pl.Datetime("us", "UTC"),
                ),
                "sentiment": [-0.4, -0.2, -0.3, 0.1, 0.5],
            }
        )
        writer.upsert("articles", arts)
        writer.upsert(
            "event_articles",
            pl.DataFrame(
                {"event_id": [SEED_EVENT] * 3 + ["ev-fed"], "article_id": ["a1", "a2", "a3", "a4"]}
            ),
        )
        writer.upsert(
            "event_instruments",
            pl.DataFrame(
                {
                    "event_id": [SEED_EVENT, SEED_EVENT],
                    "instrument_id": ["BTC", "ETH"],
                    "reason": "fixture",
                    "confidence": [0.9, 0.8],
                }
            ),
        )
        writer.record_rejects("rss", [store.Reject("unparseable date", "<item>…</item>")])
        failed = writer.start_run("rss")
        failed.errors.append("feed https://example.org/rss: HTTP 503")
        writer.finish_run(failed, "failed")
        writer.finish_run(run)
        if demo:
            writer.set_meta("dataset", "demo")
    return path
