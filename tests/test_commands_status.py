"""`status --gaps` and `status --quotes`: given bars and quotes → expected rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from typer.testing import CliRunner

from pipelines import store
from pipelines.cli import app
from pipelines.commands.prices import gaps_report, strip_vs_exchange
from pipelines.schemas import BAR_SCHEMA, QUOTE_SCHEMA

SINCE = datetime(2025, 1, 1, tzinfo=UTC)
M = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bars(
    instrument: str, timeframe: str, stamps: list[datetime], closes: list[float] | None = None
) -> pl.DataFrame:
    closes = closes or [100.0 + i for i in range(len(stamps))]
    return pl.DataFrame(
        {
            "instrument_id": instrument,
            "timeframe": timeframe,
            "ts": stamps,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": 1.0,
            "source": "test",
        },
        schema=BAR_SCHEMA,
    )


def instruments(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"instrument_id": [r[0] for r in rows], "calendar": [r[1] for r in rows]},
        schema={"instrument_id": pl.Utf8, "calendar": pl.Utf8},
    )


def test_gaps_skip_closed_sessions(db_path):
    """24/7 holes are gaps; CME's weekend and daily break are not, the bars missing around them are."""
    btc = [utc(2026, 1, 10, 0, m) for m in range(10) if m not in (3, 4, 7)]
    # CME in January is UTC-6: Fri 15:58/15:59 CT, Sun 17:00 and 17:03 CT, Mon 15:59 and 17:01 CT
    xau = [utc(2026, 1, 9, 21, 58), utc(2026, 1, 9, 21, 59), utc(2026, 1, 11, 23, 0),
           utc(2026, 1, 11, 23, 3), utc(2026, 1, 12, 21, 59), utc(2026, 1, 12, 23, 1)]  # fmt: skip
    with store.writer(db_path) as writer:
        writer.upsert("instruments", instruments([("BTC", "24/7"), ("XAU", "cme_globex")]))
        writer.upsert("bars", bars("BTC", "1m", btc))
        writer.upsert("bars", bars("XAU", "1m", xau))
        # an hourly series with one hole, to show the step is per timeframe
        writer.upsert(
            "bars",
            bars("BTC", "1h", [utc(2026, 1, 10, 0), utc(2026, 1, 10, 1), utc(2026, 1, 10, 4)]),
        )
    with store.reader(db_path) as con:
        got = gaps_report(con, SINCE).rows()
    assert got == [
        ("BTC", "1h", utc(2026, 1, 10, 2), utc(2026, 1, 10, 4), 2),
        ("BTC", "1m", utc(2026, 1, 10, 0, 3), utc(2026, 1, 10, 0, 5), 2),
        ("BTC", "1m", utc(2026, 1, 10, 0, 7), utc(2026, 1, 10, 0, 8), 1),
        ("XAU", "1m", utc(2026, 1, 11, 23, 1), utc(2026, 1, 11, 23, 3), 2),
        # Monday's session (Sun 17:04 → Mon 15:59 CT) has no bars at all: a real gap
        ("XAU", "1m", utc(2026, 1, 11, 23, 4), utc(2026, 1, 12, 21, 59), 22 * 60 + 55),
        ("XAU", "1m", utc(2026, 1, 12, 23, 0), utc(2026, 1, 12, 23, 1), 1),
    ]


def test_strip_quotes_against_exchange_close(db_path):
    """BTC: the 1m bar closed at 04:57; XAU: only 1h/1d bars, the 1h one is finer and fresh;
    SOL: the last bar is hours old (stale); ZEC: no bars at all."""
    at = utc(2026, 5, 1, 4, 57)
    with store.writer(db_path) as writer:
        writer.upsert(
            "bars", bars("BTC", "1m", [at - 2 * M, at - M, at], [73500.0, 73400.0, 99999.0])
        )
        writer.upsert(
            "bars", bars("XAU", "1h", [utc(2026, 5, 1, 2), utc(2026, 5, 1, 3)], [4500.0, 4600.0])
        )
        writer.upsert("bars", bars("XAU", "1d", [utc(2026, 4, 30)], [4400.0]))
        writer.upsert("bars", bars("SOL", "1m", [utc(2026, 5, 1, 1, 0)], [80.0]))
        quotes = pl.DataFrame(
            {
                "instrument_id": ["BTC", "XAU", "SOL", "ZEC"],
                "ts": [at] * 4,
                "source": "strip:seed",
                "price": [73275.0, 4593.0, 82.19, 507.17],
                "change_pct": [-0.17, 2.08, 0.49, -5.14],
                "captured_from": "seed.txt",
            },
            schema=QUOTE_SCHEMA,
        )
        # an exchange quote at the same instant is not a strip quote and is not listed
        exch = quotes.head(1).with_columns(pl.lit("ccxt:binance").alias("source"))
        writer.upsert("quotes", pl.concat([quotes, exch]))
    with store.reader(db_path) as con:
        got = strip_vs_exchange(con, SINCE).select(
            "instrument_id",
            "timeframe",
            "bar_close_at",
            "exchange_price",
            "diff_pct",
            "age_minutes",
            "fresh",
        )
    assert got.rows() == [
        ("BTC", "1m", at, 73400.0, -0.17, 0, True),  # (73275 / 73400 − 1) · 100 = −0.1703
        ("SOL", "1m", utc(2026, 5, 1, 1, 1), 80.0, 2.737, 236, False),  # 2.7375 in binary: ..49
        ("XAU", "1h", utc(2026, 5, 1, 4), 4600.0, -0.152, 57, True),
        ("ZEC", None, None, None, None, None, False),
    ]


def test_status_cli_options(db_path):
    """`status --gaps --quotes` prints both tables; plain `status` is unchanged."""
    with store.writer(db_path) as writer:
        writer.upsert(
            "bars",
            bars(
                "BTC",
                "1m",
                [datetime.now(UTC).replace(second=0, microsecond=0) - k * M for k in (0, 3)],
            ),
        )
    out = CliRunner().invoke(app, ["--db", str(db_path), "status", "--gaps", "--quotes"])
    assert out.exit_code == 0, out.output
    assert "missing bar ranges since" in out.output and "(1 rows)" in out.output
    assert "strip quotes since" in out.output and "(0 rows)" in out.output
    plain = CliRunner().invoke(app, ["--db", str(db_path), "status"])
    assert plain.exit_code == 0 and "last run per source" in plain.output
