"""Cut the bundled real sample from ../shared/data into compact zstd Parquet (+ manifest, PROVENANCE).

    python -m pipelines.sample.build [--shared PATH] [--out DIR]

The price files are parsed with the same reader `tickerwire import bars` uses (so odd zones,
epoch columns and New York offsets are handled once, in one place), cut to the spans below and
written with exact decimals where the source has them. The output is deterministic: the same
inputs give the same bytes (the manifest records each file's sha256 and one overall checksum).
The seed story's reports are described in our own words here; no seed text is copied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import TickerwireError
from pipelines.paths import shared_dir
from pipelines.sample import DATA_DIR, SAMPLE_DIR
from pipelines.sources.bar_files import read_bar_file
from pipelines.sources.file_reading import BarReading
from pipelines.sources.strip import find_as_of, page_text, parse_strip, render_strip

# Spans of the cut (bar open times, UTC, end exclusive).
SEED_SPAN = (datetime(2026, 4, 20, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
POSTS_SPAN = (datetime(2025, 1, 13, tzinfo=UTC), datetime(2025, 10, 21, tzinfo=UTC))
EIA_SPAN = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
# Yahoo series that reach back into 2025 cover the posts too (the Nasdaq on the tariff pause).
BOTH_SPAN = (POSTS_SPAN[0], SEED_SPAN[1])
MAX_DECIMALS = 8  # beyond this a column is kept as float64 (e.g. Yahoo's float32 artefacts)
PARQUET = {"compression": "zstd", "compression_level": 19, "write_statistics": False}

LICENCES = {
    "binance_1h_2026": "no licence file (exchange data); public repo zhuxice-ctrl/bianV2",
    "binance_5m": "no licence file (exchange data); a public freqtrade data folder",
    "oanda_1h": "no licence file; auto-updated public repo",
    "yahoo_1h": "MIT (repo README); otaboyevsardorbek1/quantumflow_ai_trading",
    "eia_daily": "ODC-PDDL (public domain); datasets/oil-prices, datasets/natural-gas",
    "truth_social": "MIT; stoicelephant/trump_truthsocial",
    "tariff": "MIT; tradewartracker/trade-war-redux-2025",
    "seed": "facts only (dates, prices); descriptions written for tickerwire",
}
# The MIT notice the posts' and the tariff series' repositories ask to keep with copies.
MIT_HOLDERS = (
    "Copyright (c) 2025 stoicelephant (stoicelephant/trump_truthsocial: the Truth Social posts)",
    "Copyright (c) 2025 tradewartracker (tradewartracker/trade-war-redux-2025: the tariff series)",
)
MIT_NOTICE = """Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE."""


@dataclass(frozen=True)
class BarCut:
    """One price series of the sample: where it comes from and how it is read and cut."""

    instrument: str
    timeframe: str
    origin: str  # path under ../shared/data
    collection: str  # key of LICENCES
    span: tuple[datetime, datetime]
    source: str  # bars.source
    tz: str = "UTC"
    name: str = ""
    asset_class: str = "crypto"
    venue: str | None = None
    market_symbol: str | None = None
    calendar: str = "24/7"
    exchange_tz: str = "UTC"
    quote_currency: str = "USD"


# Binance's recorded files per bar size: (path of a coin's file, origin, span cut from it).
_BINANCE_FILES = {
    "1h": ("prices/binance_1h_2026/{coin}USDT_1h.csv", "binance_1h_2026", SEED_SPAN),
    "5m": ("prices/binance_5m/{coin}_USDT-5m.parquet", "binance_5m", POSTS_SPAN),
}


def _crypto(coin: str, timeframe: str) -> BarCut:
    path, origin, span = _BINANCE_FILES[timeframe]
    return BarCut(
        coin, timeframe, path.format(coin=coin), origin, span, "sample:binance",
        name=CRYPTO_NAMES[coin], venue="binance", market_symbol=f"{coin}/USDT",
        quote_currency="USDT",
    )  # fmt: skip


def _yahoo(iid: str, symbol: str, name: str, asset_class: str, calendar: str, tz: str) -> BarCut:
    # Yahoo's Datetime carries its New York offset (-04:00/-05:00); the reader turns it into UTC.
    # WTI's file starts in 2026; the others reach back to 2024 and also cover the 2025 posts.
    span = SEED_SPAN if iid == "WTI" else BOTH_SPAN
    return BarCut(
        iid, "1h", f"prices/yahoo_1h/{iid}_1h.csv", "yahoo_1h", span, "sample:yahoo",
        name=name, asset_class=asset_class, venue="yahoo", market_symbol=symbol,
        calendar=calendar, exchange_tz=tz,
    )  # fmt: skip


CRYPTO_NAMES = {
    "BTC": "Bitcoin", "ETH": "Ethereum", "BNB": "BNB", "SOL": "Solana", "XRP": "XRP",
    "DOGE": "Dogecoin", "ADA": "Cardano", "ZEC": "Zcash",
}  # fmt: skip
FIVE_MINUTE_COINS = ("BTC", "ETH", "SOL", "XRP", "BNB", "DOGE", "ADA", "ZEC")

BAR_CUTS: tuple[BarCut, ...] = (
    *(_crypto(c, "1h") for c in ("BTC", "ETH", "BNB")),
    BarCut(
        "XAU", "1h", "prices/oanda_1h/XAUUSD_1h_2026.csv", "oanda_1h", SEED_SPAN, "sample:oanda",
        name="Gold spot (OANDA XAU/USD)", asset_class="commodity", venue="oanda",
        market_symbol="XAU_USD", calendar="cme_globex", exchange_tz="America/New_York",
    ),
    BarCut(
        "XAG", "1h", "prices/oanda_1h/XAGUSD_1h_2026.csv", "oanda_1h", SEED_SPAN, "sample:oanda",
        name="Silver spot (OANDA XAG/USD)", asset_class="commodity", venue="oanda",
        market_symbol="XAG_USD", calendar="cme_globex", exchange_tz="America/New_York",
    ),
    _yahoo("WTI", "CL=F", "WTI crude (NYMEX futures)", "commodity", "cme_globex", "America/New_York"),
    # BZ=F is NYMEX Brent Last Day Financial, traded on CME Globex: its bars keep CME hours
    # (every one of the 13,508 recorded bars falls in a cme_globex session, 1,160 outside ICE's).
    _yahoo("BRENT", "BZ=F", "Brent crude (NYMEX futures)", "commodity", "cme_globex", "America/New_York"),
    _yahoo("NATGAS", "NG=F", "Natural gas (NYMEX futures)", "commodity", "cme_globex", "America/New_York"),
    _yahoo("NVDA", "NVDA", "NVIDIA", "equity", "nyse", "America/New_York"),
    _yahoo("NAS100", "^NDX", "Nasdaq-100", "index", "nyse", "America/New_York"),
    *(_crypto(c, "5m") for c in FIVE_MINUTE_COINS),
    *(
        BarCut(
            iid, "1d", f"prices/eia_daily/{stem}_daily.csv", "eia_daily", EIA_SPAN, "sample:eia",
            name=name, asset_class="commodity", venue="eia", market_symbol=series,
            calendar="24/7", exchange_tz="America/New_York",
        )
        for iid, stem, name, series in (
            ("WTI_SPOT", "wti", "WTI crude spot, Cushing (EIA daily)", "RWTC"),
            ("BRENT_SPOT", "brent", "Brent crude spot, Europe (EIA daily)", "RBRTE"),
            ("HENRY_HUB", "henryhub", "Henry Hub natural gas spot (EIA daily)", "RNGWHHD"),
        )
    ),
)  # fmt: skip

# The seed story, described in our own words with the real publication times and precision.
# Bloomberg's first report is known only by its day (Tuesday 2026-05-26); The Decoder's at
# 14:25 UTC. The other seed documents carry no date at all, so they are left out rather than
# given invented times.
SEED_REPORTS = (
    {
        "outlet": "Bloomberg",
        "published": "2026-05-26",
        "title": "China to make top AI researchers get government approval before travelling abroad",
        "summary": "Bloomberg reports, citing people familiar with the matter, that leading AI "
        "researchers at private Chinese companies such as DeepSeek and Alibaba now need "
        "government approval before travelling abroad.",
    },
    {
        "outlet": "The Decoder",
        "published": "2026-05-26T14:25Z",
        "title": "China reportedly requires approval for top AI researchers at DeepSeek and Alibaba to travel abroad",
        "summary": "Following Bloomberg, the AI news site writes that China requires government "
        "approval for leading AI researchers at private firms like DeepSeek and Alibaba to travel "
        "abroad, to guard know-how and talent.",
    },
)
STRIP_OUTLET = "seed-001"


def _decimals(values: pl.Series) -> int | None:
    """The fewest decimals (≤ MAX_DECIMALS) that hold every value exactly, else None."""
    finite = values.drop_nulls()
    for d in range(MAX_DECIMALS + 1):
        if finite.round(d).equals(finite):
            return d
    return None


def compact(frame: pl.DataFrame) -> pa.Table:
    """Price columns as exact decimals where possible (Parquet stores them as scaled integers)."""
    columns = []
    for name in frame.columns:
        col = frame[name]
        if col.dtype == pl.Float64:
            d = _decimals(col)
            if d is not None:
                as_dec = col.cast(pl.Decimal(28, d))
                if as_dec.cast(pl.Float64).equals(col):  # exact round trip, or keep the float
                    col = as_dec
        columns.append(col)
    return pl.DataFrame(columns).to_arrow()


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write zstd Parquet, time columns delta-encoded (a regular grid shrinks to almost nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    times = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    pq.write_table(
        table,
        path,
        use_dictionary=[f.name for f in table.schema if pa.types.is_string(f.type)],
        column_encoding=dict.fromkeys(times, "DELTA_BINARY_PACKED"),
        **PARQUET,
    )


def cut_bars(shared: Path, cut: BarCut) -> tuple[pl.DataFrame, dict[str, int]]:
    """One series read with the import reader and cut to its span (ts, OHLCV), and the rows of
    the whole source file the reader refused, counted by reason (e.g. Yahoo's early-close bars
    that open at :30, off the hourly grid): what the reader refuses never enters the sample."""
    parsed = read_bar_file(
        shared / "data" / cut.origin, cut.instrument, cut.timeframe, BarReading(tz=cut.tz)
    )
    refused: dict[str, int] = {}
    for r in parsed.rejects:
        reason = r.reason.split(": ")[0]
        refused[reason] = refused.get(reason, 0) + 1
    if refused:
        print(f"  {cut.origin}: {len(parsed.rejects)} rows refused by the reader ({refused})")
    lo, hi = cut.span
    cols = [c for c in ("ts", "open", "high", "low", "close", "volume") if c in parsed.bars.columns]
    frame = (
        parsed.bars.filter(pl.col("ts").is_between(lo, hi, closed="left"))
        .select(cols)
        .drop_nulls("close")
        .sort("ts")
    )
    # A close-only source (EIA's Date,Price) stays close-only: no columns of nulls.
    return frame.select(c for c in frame.columns if frame[c].null_count() < frame.height), refused


def truth_social(shared: Path) -> pl.DataFrame:
    """The 1,255 posts: id, exact UTC time (as written), text, outlet."""
    raw = pl.read_csv(shared / "data" / "events" / "truth_social_2025.csv", infer_schema_length=0)
    return raw.select(
        pl.col("Tweet_ID").alias("post_id"),
        pl.col("Created").alias("published"),
        pl.col("Text").alias("text"),
        pl.lit("Truth Social (@realDonaldTrump)").alias("outlet"),
    ).sort("published", "post_id")


def tariff_changes(shared: Path) -> pl.DataFrame:
    """Days on which the US import-weighted average tariff changed, as dated events."""
    raw = pl.read_csv(shared / "data" / "events" / "us_avg_tariff_daily_2025.csv")
    rate = pl.col("import_weighted_avg_tariff")
    changes = (
        raw.select(pl.col("date").str.to_date(), rate)
        .sort("date")
        .with_columns(rate.shift(1).alias("before"))
        .filter(pl.col("before").is_not_null() & (rate != pl.col("before")))
    )
    rows = [
        {
            "date": day,
            "title": f"US average tariff rate {'rises' if after > before else 'falls'} from "
            f"{before:.2f} % to {after:.2f} % (import-weighted)",
            "outlet": "Trade War Tracker (US average tariff series)",
            "category": "policy",
        }
        for day, after, before in changes.iter_rows()
    ]
    return pl.DataFrame(
        rows, schema={"date": pl.Date, "title": pl.Utf8, "outlet": pl.Utf8, "category": pl.Utf8}
    )


def seed_strip(shared: Path) -> str:
    """The seed-001 strip re-rendered from its parsed quotes (prices only; no date: none is printed)."""
    page = next((shared / "seeds").glob("001_*.txt")).read_text(encoding="utf-8")
    day, clock = find_as_of(page_text(page))
    if day is not None:
        raise TickerwireError("seed 001 now prints a date; the sample expected HH:MM only")
    parsed = parse_strip(page, day=date(2000, 1, 1))  # placeholder day, never written out
    return render_strip(parsed.quotes, clock, repeat=1)


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(shared: Path, out: Path = SAMPLE_DIR) -> dict:
    """Write every sample file, manifest.json and PROVENANCE.md under `out`; returns the manifest."""
    data = out / DATA_DIR.name
    if data.exists():
        for old in sorted(data.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    entries: list[dict] = []
    instruments: dict[str, dict] = {}

    def add(rel: str, kind: str, rows: int, source: str, origin: str, licence: str, **extra):
        entries.append(
            {"file": rel, "kind": kind, "rows": rows, "source": source, "origin": origin,
             "licence": licence, "sha256": sha256(data / rel), **extra}
        )  # fmt: skip

    for cut in BAR_CUTS:
        frame, refused = cut_bars(shared, cut)
        rel = f"bars/{cut.instrument}_{cut.timeframe}.parquet"
        write_parquet(compact(frame), data / rel)
        add(rel, "bars", frame.height, cut.source, cut.origin, LICENCES[cut.collection],
            instrument=cut.instrument, timeframe=cut.timeframe,
            first=frame["ts"].min().isoformat(), last=frame["ts"].max().isoformat(),
            refused_in_source=refused)  # fmt: skip
        instruments[cut.instrument] = {
            "display_name": cut.name, "asset_class": cut.asset_class, "source": cut.source,
            "venue": cut.venue, "market_symbol": cut.market_symbol,
            "quote_currency": cut.quote_currency, "calendar": cut.calendar,
            "exchange_tz": cut.exchange_tz,
        }  # fmt: skip

    posts = truth_social(shared)
    write_parquet(posts.to_arrow(), data / "news/truth_social_2025.parquet")
    add("news/truth_social_2025.parquet", "articles", posts.height, "sample:truth_social",
        "events/truth_social_2025.csv", LICENCES["truth_social"])  # fmt: skip

    seed = pl.DataFrame(list(SEED_REPORTS))
    write_parquet(seed.to_arrow(), data / "news/seed_story.parquet")
    add("news/seed_story.parquet", "articles", seed.height, "sample:seed",
        "seeds/ (dates and outlets only; the ../shared/README gives the times)", LICENCES["seed"])  # fmt: skip

    tariffs = tariff_changes(shared)
    write_parquet(tariffs.to_arrow(), data / "events/tariff_changes.parquet")
    add("events/tariff_changes.parquet", "events", tariffs.height, "sample:tariff",
        "events/us_avg_tariff_daily_2025.csv", LICENCES["tariff"])  # fmt: skip

    strip = seed_strip(shared)
    (data / "strip").mkdir(parents=True, exist_ok=True)
    (data / "strip" / "seed001_strip.txt").write_text(strip, encoding="utf-8")
    add("strip/seed001_strip.txt", "strip", strip.count("$"), f"strip:{STRIP_OUTLET}",
        "seeds/001_*.txt (the ticker strip's prices only)", LICENCES["seed"])  # fmt: skip

    overall = hashlib.sha256("".join(e["sha256"] for e in entries).encode()).hexdigest()
    result = {
        "checksum": overall,
        "sources_line": (
            "Binance spot bars (1h 2026, 5m 2025), OANDA gold/silver 1h, Yahoo Finance 1h "
            "(WTI, Brent, natural gas, NVIDIA, Nasdaq-100), EIA daily spot prices, Truth Social "
            "posts 2025, US average tariff changes, the seed story's reports and strip"
        ),
        "files": entries,
        "instruments": instruments,
    }
    (out / "manifest.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "PROVENANCE.md").write_text(provenance(result), encoding="utf-8")
    return result


def provenance(result: dict) -> str:
    """PROVENANCE.md: each file, where it was cut from, the licence as ../shared states it, the cut."""
    lines = [
        "# Provenance of the bundled sample",
        "",
        "Generated by `python -m pipelines.sample.build` from `../shared/data` (re-run it to "
        "rebuild; same inputs, same bytes). Prices and times are facts recorded by third "
        "parties; the seed story's reports are described in tickerwire's own words (no seed "
        "text is copied). Licences are as stated in `../shared/README.md`.",
        "",
        "| file | what | rows | cut from | licence |",
        "|---|---|---|---|---|",
    ]
    for e in result["files"]:
        if e["kind"] == "bars":
            what = f"{e['instrument']} {e['timeframe']} bars, {e['first'][:16]} → {e['last'][:16]} UTC (bar open)"
            if e.get("refused_in_source"):
                what += "; rows of the source file the importer refuses, left out: " + ", ".join(
                    f"{n} {reason}" for reason, n in sorted(e["refused_in_source"].items())
                )
        else:
            what = {"articles": "reports", "events": "dated events", "strip": "strip quotes"}[
                e["kind"]
            ]
        lines.append(
            f"| `{e['file']}` | {what} | {e['rows']:,} | `{e['origin']}` | {e['licence']} |"
        )
    lines += [
        "",
        "## The cuts",
        "",
        f"- Seed story (2026-05-26): hourly bars {SEED_SPAN[0]:%Y-%m-%d} → {SEED_SPAN[1]:%Y-%m-%d}"
        " for BTC, ETH, BNB (Binance), XAU, XAG (OANDA spot; UTC) and WTI, BRENT, NATGAS, NVDA,"
        " NAS100 (Yahoo; its New York offsets converted to UTC; BRENT, NATGAS, NVDA and NAS100"
        f" from {BOTH_SPAN[0]:%Y-%m-%d}, so they cover the 2025 posts too). Its reports: Bloomberg, dated"
        " 2026-05-26 with the time unknown (day precision), and The Decoder at 14:25 UTC. The"
        " other seed documents carry no date and are left out rather than given invented times.",
        f"- 2025 policy by post: the 1,255 Truth Social posts (exact UTC times) and 5-minute"
        f" Binance bars {POSTS_SPAN[0]:%Y-%m-%d} → {POSTS_SPAN[1]:%Y-%m-%d} for"
        f" {', '.join(FIVE_MINUTE_COINS)}.",
        "- EIA daily spot prices (WTI, Brent, Henry Hub) from 2024-01-01; close only.",
        "- The days on which the US import-weighted average tariff changed, as dated events (day"
        " precision; the rate before and after in the title).",
        "- The seed-001 ticker strip, re-rendered from its prices. The page prints only"
        " `Prices as of 04:57 UTC`: `tickerwire demo` imports it without a date, so"
        " `import strip` dates it from the sample's bars and says how well each day fits.",
        "- Prices are stored as exact decimals where the source has them (Yahoo's float32"
        " artefacts stay float64); Parquet, zstd level 19.",
        "",
        "## Not in the sample",
        "",
        "HYPE, XLM, TRX, USDS, FIGR_HELOC, RAIN, LEO have no bars in these files (TRX's hourly"
        " file ends 2026-02-19, before the seed story); the dashboard marks them"
        ' "no bars in the bundled sample". The 2025 OANDA gold file is left out: its time zone'
        " is not stated.",
        "",
        "## Licence notices (MIT)",
        "",
        "The Truth Social posts and the tariff series are carried under the MIT licence of the"
        " repositories that collected them; the Yahoo hourly series come from a repository whose"
        " README states MIT (otaboyevsardorbek1/quantumflow_ai_trading). The posts' words are"
        " their author's; the repositories collected them.",
        "",
        "```",
        "MIT License",
        "",
        *MIT_HOLDERS,
        "",
        MIT_NOTICE,
        "```",
        "",
        f"Overall checksum (sha256 of the files' sha256s): `{result['checksum']}`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry: build the sample, print files, size, time and checksum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=shared_dir(), help="the ../shared folder")
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="where to write")
    args = parser.parse_args(argv)
    if args.shared is None or not (args.shared / "data").is_dir():
        print(f"no reference data at {args.shared}: pass --shared PATH (the folder with data/)")
        return 1
    started = time.perf_counter()
    try:
        result = build(args.shared, args.out)
    except (TickerwireError, OSError) as exc:
        print(f"sample build failed: {exc}")
        return 1
    size = sum(p.stat().st_size for p in (args.out / DATA_DIR.name).rglob("*") if p.is_file())
    print(
        f"{len(result['files'])} files, {size / 1e6:.2f} MB, {time.perf_counter() - started:.1f} s"
    )
    print(f"checksum {result['checksum']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
