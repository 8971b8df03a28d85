"""A SYNTHETIC database for benchmarks and scale tests: seeded 1-minute bars, the seed story, [sample] events.

Not what a user opens: `tickerwire demo` loads the bundled real sample (pipelines/demo.py).

Everything here is synthetic except the anchors: prices are a seeded random walk pinned to the
seed-001 ticker strip, and the news records are short paraphrases of the seed documents. No
price reaction is put around any event: the price paths are drawn without looking at the events,
so an event study on the demo should find nothing (and the tests check that it does not).
"""

from __future__ import annotations

import hashlib
import math
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from scipy.signal import lfilter

from pipelines import store
from pipelines.calendars import in_session
from pipelines.config import Config, Instrument
from pipelines.demo import check_replaceable, checksum
from pipelines.errors import DataError, StoreError, first_line
from pipelines.schemas import UTC_TS

DEFAULT_SEED = 20260527
DATASET = "synthetic"  # meta.dataset of a synthetic file (the dashboard labels it so)

DEMO_START = datetime(2026, 5, 12, tzinfo=UTC)
DEMO_END = datetime(2026, 6, 9, tzinfo=UTC)  # exclusive: the last bar opens at 06-08 23:59

# Seed 001 says "Prices as of 04:57 UTC" without a date. We take Wednesday 2026-05-27: the page
# already discusses the story, which spread during Tuesday 2026-05-26 (The Decoder at 14:25 UTC),
# so Wednesday 04:57 is the first 04:57 UTC after it was widely reported. The bar that CLOSES at
# 04:57 (opens 04:56) is pinned to the strip price, matching the as-of convention of DESIGN §4
# (P(t) = close of the last bar closed by t). Only the level is pinned: the strip's 24 h changes
# are kept on the strip quotes, not forced into the bars, because forcing them would lay a steady
# drift (XLM +33 %) across the very day of the seed story, i.e. a fake reaction.
STRIP_AT = datetime(2026, 5, 27, 4, 57, tzinfo=UTC)
ANCHOR_BAR_TS = STRIP_AT - timedelta(minutes=1)
STRIP_SOURCE = "strip:seed-001"

# Wall-clock columns (ingested_at, fetched_at) get this fixed instant so two builds are identical.
BUILT_AS_OF = DEMO_END

# Seed-001 strip: price and 24 h change in percent. USDS shows "▼ 0.00%": stored as 0.0.
STRIP: dict[str, tuple[float, float]] = {
    "HYPE": (64.44, 4.64),
    "XRP": (1.34, 2.52),
    "TRX": (0.3425, -2.16),
    "SOL": (82.19, 0.49),
    "BTC": (73275.00, -0.17),
    "USDS": (0.9996, 0.0),
    "ETH": (2007.61, 0.10),
    "XAG": (75.88, 0.30),
    "BNB": (657.34, 3.41),
    "ADA": (0.2347, 0.33),
    "NATGAS": (3.29, 0.15),
    "FIGR_HELOC": (1.03, 0.22),
    "DOGE": (0.1006, 1.59),
    "XLM": (0.2680, 33.37),
    "RAIN": (0.0145, 2.07),
    "LEO": (10.07, 1.23),
    "XAU": (4593.00, 2.08),
    "WTI": (87.36, -1.73),
    "BRENT": (91.12, -2.76),
    "ZEC": (507.17, -5.14),
}


@dataclass(frozen=True)
class Dynamics:
    """How one instrument's synthetic price moves.

    kind 'walk': geometric random walk with annualised volatility `vol`, loading `rho` on its
    group's common factor (rho is then its correlation with the group leader, whose rho is 1).
    kind 'peg': a stablecoin, mean-reverting around its anchor with stationary spread `vol`.
    """

    kind: str
    vol: float
    group: str | None = None
    rho: float = 0.0
    usd_per_minute: float = 50_000.0  # traded notional, for a plausible volume column


# Rough, realistic magnitudes (annualised vol; correlation of 1-minute returns with BTC for
# crypto, with gold for silver, with WTI for Brent). Natural gas moves on its own.
DYNAMICS: dict[str, Dynamics] = {
    "BTC": Dynamics("walk", 0.45, "crypto", 1.0, 2_500_000),
    "ETH": Dynamics("walk", 0.62, "crypto", 0.80, 1_200_000),
    "SOL": Dynamics("walk", 0.78, "crypto", 0.70, 450_000),
    "BNB": Dynamics("walk", 0.45, "crypto", 0.62, 200_000),
    "XRP": Dynamics("walk", 0.72, "crypto", 0.62, 350_000),
    "ADA": Dynamics("walk", 0.78, "crypto", 0.64, 90_000),
    "DOGE": Dynamics("walk", 0.88, "crypto", 0.64, 180_000),
    "TRX": Dynamics("walk", 0.45, "crypto", 0.50, 60_000),
    "HYPE": Dynamics("walk", 0.95, "crypto", 0.55, 160_000),
    "XLM": Dynamics("walk", 0.85, "crypto", 0.55, 40_000),
    "ZEC": Dynamics("walk", 1.00, "crypto", 0.48, 45_000),
    "LEO": Dynamics("walk", 0.32, "crypto", 0.42, 5_000),
    "RAIN": Dynamics("walk", 1.20, "crypto", 0.45, 8_000),
    "USDS": Dynamics("peg", 0.0004, usd_per_minute=30_000),
    "FIGR_HELOC": Dynamics("peg", 0.0012, usd_per_minute=3_000),
    "XAU": Dynamics("walk", 0.18, "metals", 1.0, 900_000),
    "XAG": Dynamics("walk", 0.34, "metals", 0.75, 250_000),
    "WTI": Dynamics("walk", 0.40, "oil", 1.0, 600_000),
    "BRENT": Dynamics("walk", 0.38, "oil", 0.90, 400_000),
    "NATGAS": Dynamics("walk", 0.65, None, 0.0, 150_000),
}

MINUTES_PER_YEAR = 365 * 1440
CLOSED_VOL_FACTOR = 0.25  # while a futures market is shut its latent price drifts more slowly
PEG_PHI = 0.995  # per-minute persistence of a stablecoin's deviation (half-life ~2.3 h)


@dataclass
class DemoStats:
    """What a demo build wrote: rows per table, seconds taken, the content checksum."""

    db_path: Path
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    checksum: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # seconds per build step

    @property
    def total_rows(self) -> int:
        """All rows written across tables."""
        return sum(self.rows.values())


# ---------------------------------------------------------------------------- prices


def minute_grid() -> pl.Series:
    """Every 1-minute bar open time of the demo span (UTC)."""
    return pl.datetime_range(
        DEMO_START, DEMO_END, "1m", closed="left", time_zone="UTC", eager=True
    ).cast(UTC_TS)


def dynamics_for(instrument: Instrument) -> Dynamics:
    """The price dynamics of an instrument (a generic one for instruments added to the config;
    those start from 100.0 at the strip instant since the strip has no price for them)."""
    if instrument.id in DYNAMICS:
        return DYNAMICS[instrument.id]
    if instrument.asset_class == "crypto":
        return Dynamics("walk", 0.80, "crypto", 0.5)
    return Dynamics("walk", 0.30)


def tick_decimals(price: float) -> int:
    """Decimals that keep about seven significant digits (BTC 2, SOL 5, RAIN 8)."""
    return max(2, 6 - math.floor(math.log10(price)))


def _rng(seed: int, label: str) -> np.random.Generator:
    # One stream per instrument / factor, so adding an instrument never changes the others.
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x_t = phi * x_{t-1} + shock_t, vectorised."""
    return lfilter([1.0], [1.0, -phi], shocks)


def simulate_bars(config: Config, seed: int = DEFAULT_SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All demo bars (one frame, sorted) and the latest quote per instrument derived from them."""
    grid = minute_grid()
    grid_frame = pl.DataFrame({"ts": grid})
    strip_bar = int(
        np.searchsorted(grid.to_numpy(), np.datetime64(ANCHOR_BAR_TS.replace(tzinfo=None)))
    )
    factors: dict[str, np.ndarray] = {}
    sessions: dict[str, np.ndarray] = {}
    frames: list[pl.DataFrame] = []
    latest: list[dict] = []
    for inst in config.instruments:
        if inst.calendar not in sessions:
            sessions[inst.calendar] = in_session(inst.calendar, grid_frame["ts"]).to_numpy()
        open_mask = sessions[inst.calendar]
        if not open_mask.any():
            raise DataError(f"demo: calendar {inst.calendar!r} of {inst.id} is never open")
        dyn = dynamics_for(inst)
        rng = _rng(seed, f"instrument:{inst.id}")
        if dyn.group is not None and dyn.group not in factors:
            factors[dyn.group] = _rng(seed, f"factor:{dyn.group}").standard_normal(grid.len())
        level, returns, wick_sd = _log_path(dyn, open_mask, rng, factors.get(dyn.group))
        # The anchor is the last open bar at or before the strip bar (futures may be shut then).
        open_idx = np.flatnonzero(open_mask)
        before = open_idx[open_idx <= strip_bar]
        anchor = int(before[-1]) if before.size else int(open_idx[0])
        price = STRIP[inst.id][0] if inst.id in STRIP else 100.0
        columns = _ohlcv(price, level, returns, wick_sd, anchor, dyn, rng)
        frame = (
            pl.DataFrame({"ts": grid, **columns})
            .filter(pl.Series(open_mask))  # futures: only the minutes their market is open
            .select(
                instrument_id=pl.lit(inst.id),
                timeframe=pl.lit("1m"),
                ts="ts",
                open="open",
                high="high",
                low="low",
                close="close",
                volume="volume",
            )
        )
        frames.append(frame)
        latest.append(_latest_quote(inst.id, frame))
    bars = pl.concat(frames).with_columns(
        source=pl.lit("synthetic"), ingested_at=pl.lit(BUILT_AS_OF).cast(UTC_TS)
    )
    return bars, pl.DataFrame(latest).cast({"ts": UTC_TS})


def _log_path(
    dyn: Dynamics, open_mask: np.ndarray, rng: np.random.Generator, common: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-price path (relative), its per-minute returns and the per-minute return scale."""
    n = open_mask.size
    if dyn.kind == "peg":
        shock_sd = dyn.vol * math.sqrt(1 - PEG_PHI**2)
        level = _ar1(rng.standard_normal(n) * shock_sd, PEG_PHI)
        return level, np.diff(level, prepend=0.0), np.full(n, shock_sd)
    # Per-minute scale from the annual vol, spread over the minutes the market is open.
    sd_open = dyn.vol / math.sqrt(MINUTES_PER_YEAR * open_mask.mean())
    # A slowly varying volatility regime (clustering), exp of a unit AR(1), around 1.
    regime = np.exp(0.3 * _ar1(rng.standard_normal(n) * math.sqrt(1 - 0.999**2), 0.999))
    # Closed futures keep a latent price that drifts slowly: the next open gaps a little.
    sd = sd_open * regime * np.where(open_mask, 1.0, CLOSED_VOL_FACTOR)
    idio = rng.standard_normal(n)
    # One-factor model: loading rho on the group factor makes rho the correlation with it.
    shocks = idio if common is None else dyn.rho * common + math.sqrt(1 - dyn.rho**2) * idio
    returns = sd * shocks
    return np.cumsum(returns), returns, sd


def _ohlcv(
    price: float,
    level: np.ndarray,
    returns: np.ndarray,
    wick_sd: np.ndarray,
    anchor: int,
    dyn: Dynamics,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Bars from a log path: close pinned to `price` at index `anchor`, ticks rounded, wicks drawn."""
    n = level.size
    decimals = tick_decimals(price)
    close = np.round(price * np.exp(level - level[anchor]), decimals)
    open_ = np.round(price * np.exp(level - returns - level[anchor]), decimals)  # previous close
    close[anchor] = price  # exactly the strip value (rounding may differ in the last bit)
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    up = np.round(top * np.exp(np.abs(rng.standard_normal(n)) * 0.6 * wick_sd), decimals)
    down = np.round(bottom * np.exp(-np.abs(rng.standard_normal(n)) * 0.6 * wick_sd), decimals)
    # Busier minutes when the price moves more; notional turned into units of the instrument.
    activity = 0.5 + np.abs(returns) / np.maximum(wick_sd, 1e-12)
    volume = np.round(dyn.usd_per_minute / close * rng.lognormal(0.0, 0.6, n) * activity, 4)
    return {
        "open": open_,
        "high": np.maximum(up, top),
        "low": np.minimum(down, bottom),
        "close": close,
        "volume": volume,
    }


def _latest_quote(instrument_id: str, bars: pl.DataFrame) -> dict:
    """The quote at the close of the last bar, with the 24 h change against the as-of price then."""
    last = bars.row(-1, named=True)
    quote_at = last["ts"] + timedelta(minutes=1)
    # As-of: the last bar whose close time (ts + 1 min) is at or before quote_at - 24 h.
    earlier = bars.filter(pl.col("ts") <= quote_at - timedelta(hours=24, minutes=1))
    change = None
    if earlier.height:
        change = round((last["close"] / earlier["close"][-1] - 1.0) * 100.0, 4)
    return {
        "instrument_id": instrument_id,
        "ts": quote_at,
        "source": "synthetic",
        "price": last["close"],
        "change_pct": change,
        "captured_from": "synthetic: close of the last 1m bar",
    }


# ---------------------------------------------------------------------------- news


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A UTC instant (shorthand for the hand-written records below)."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@dataclass(frozen=True)
class DemoArticle:
    """One hand-written report record (title and summary paraphrased here, never copied)."""

    outlet: str
    title: str
    summary: str
    published_at: datetime
    precision: str
    feed: str


@dataclass(frozen=True)
class DemoEvent:
    """One demo event with its reports and the instruments it is linked to."""

    event_id: str
    title: str
    event_at: datetime
    lower: datetime
    upper: datetime
    category: str
    countries: tuple[str, ...]
    articles: tuple[DemoArticle, ...]
    instruments: tuple[str, ...] | None  # None = the whole watchlist
    reason: str
    confidence: float


SEED_FEED = "demo:seed-documents"
SAMPLE_FEED = "demo:sample"
SAMPLE_NOTE = "Fictional headline written for the offline demo; not a real report."

# The seed story. Bloomberg broke it on Tuesday 2026-05-26 (time of day unknown, so 'day'
# precision); The Decoder's write-up at 14:25 UTC is the earliest report with a known time, so it
# sets event_at, with the window opening at the start of that Tuesday. The five seed documents
# carry no timestamps: they are placed after The Decoder, on 05-26 evening or 05-27, with
# precision 'unknown' (order plausible, time invented) or 'day' (date inferred from the text).
SEED_EVENT = DemoEvent(
    event_id="demo-2026-05-26-cn-ai-researcher-travel",
    title="China requires government approval for top AI researchers (DeepSeek, Alibaba) to travel abroad",
    event_at=utc(2026, 5, 26, 14, 25),
    lower=utc(2026, 5, 26),
    upper=utc(2026, 5, 26, 14, 25),
    category="policy",
    countries=("CN",),
    articles=(
        DemoArticle(
            "Bloomberg",
            "China puts exit checks on its leading AI researchers, people familiar say",
            "Citing insiders, it says leading researchers, founders and managers at DeepSeek, "
            "Alibaba and similar private labs must get Beijing's sign-off before trips abroad.",
            utc(2026, 5, 26),
            "day",
            SEED_FEED,
        ),
        DemoArticle(
            "The Decoder",
            "Beijing reportedly makes top AI researchers ask permission before going abroad",
            "Building on Bloomberg's reporting, the site says leading researchers at Alibaba, "
            "DeepSeek and other firms face a state approval step for foreign travel.",
            utc(2026, 5, 26, 14, 25),
            "minute",
            SEED_FEED,
        ),
        # Seed 002: Modelwire, a machine-assisted summary of The Decoder; time invented (same evening).
        DemoArticle(
            "Modelwire",
            "Exit approval now reportedly needed for China's senior AI researchers",
            "A summary of The Decoder's piece adds the view that aiming the rule at private firms "
            "blurs the line between companies and strategic state assets.",
            utc(2026, 5, 26, 18, 0),
            "unknown",
            SEED_FEED,
        ),
        # Seed 004: a short rewrite crediting The Decoder; outlet unnamed, time invented.
        DemoArticle(
            "AI news rewrite site (seed 004)",
            "Beijing tightens its hold on AI talent with a permission-to-travel rule",
            "Citing The Decoder, the piece says researchers at private companies must now seek "
            "approval to leave the country, amid worries about leaks and poaching.",
            utc(2026, 5, 26, 20, 0),
            "unknown",
            SEED_FEED,
        ),
        # Seed 001: a long analysis captured beside the ticker strip ("prices as of 04:57 UTC");
        # we only know it existed by the strip instant we assumed, so that instant, 'unknown'.
        DemoArticle(
            "AI policy analysis site (seed 001)",
            "Analysis: China moves its AI engineers into the national-security travel regime",
            "The essay likens the new pre-travel approval to controls once reserved for nuclear "
            "scientists and reads it as an export control on human expertise.",
            STRIP_AT,
            "unknown",
            SEED_FEED,
        ),
        # Seed 003: a citation-numbered digest that speaks of "reports published on Tuesday",
        # so it was written after Tuesday: dated Wednesday 05-27, 'day' precision.
        DemoArticle(
            "Multi-source news digest (seed 003)",
            "China curbs foreign trips for senior AI staff at Alibaba and DeepSeek",
            "A roundup of several reports says the limits range from prior approval to an "
            "effective travel ban, with officials pointing to state secrets and the US race.",
            utc(2026, 5, 27),
            "day",
            SEED_FEED,
        ),
        # Seed 000: an opinion piece from an autonomous AI news site; undated, time invented.
        DemoArticle(
            "Autonomous AI dispatch (seed 000)",
            "Opinion: Beijing now handles its AI researchers as strategic state assets",
            "An AI-written commentary argues the approval rule keeps know-how that lives in "
            "people's heads inside China, and expects other governments to copy it.",
            utc(2026, 5, 27, 9, 0),
            "unknown",
            SEED_FEED,
        ),
    ),
    instruments=None,
    # No entity in the story maps to a watchlist instrument: a weak, broad link only.
    reason="demo: broad market",
    confidence=0.2,
)


def _sample(outlet_suffix: str, title: str, at: datetime) -> DemoArticle:
    """A fictional sample report, labelled as such in outlet, title and summary."""
    name = f"Sample Wire {outlet_suffix}".strip()
    return DemoArticle(
        f"{name} (fictional)",
        f"[sample] {title}",
        SAMPLE_NOTE,
        at,
        "minute",
        SAMPLE_FEED,
    )


# Clearly labelled fictional events spread over the span, so the dashboard and studies have
# more than one event to show. Their times are arbitrary; prices do not react to them.
SAMPLE_EVENTS: tuple[DemoEvent, ...] = (
    DemoEvent(
        "sample-2026-05-14-stablecoin-bill",
        "[sample] Stablecoin bill clears a US Senate committee vote",
        utc(2026, 5, 14, 16, 0), utc(2026, 5, 14, 16, 0), utc(2026, 5, 14, 16, 0),
        "regulation", ("US",),
        (
            _sample("", "Senate committee advances stablecoin bill", utc(2026, 5, 14, 16, 0)),
            _sample("Markets", "Stablecoin issuers welcome committee vote", utc(2026, 5, 14, 17, 10)),
        ),
        ("USDS", "FIGR_HELOC", "ETH"), "demo: sample", 0.8,
    ),
    DemoEvent(
        "sample-2026-05-19-btc-etf-outflows",
        "[sample] Spot bitcoin ETFs post their largest daily outflow in a month",
        utc(2026, 5, 19, 21, 30), utc(2026, 5, 19, 21, 30), utc(2026, 5, 19, 21, 30),
        "flows", ("US",),
        (
            _sample("", "Bitcoin ETFs see biggest outflow in a month", utc(2026, 5, 19, 21, 30)),
            _sample("Crypto", "Fund flows turn negative for spot bitcoin ETFs", utc(2026, 5, 19, 22, 5)),
        ),
        ("BTC", "ETH"), "demo: sample", 0.8,
    ),
    DemoEvent(
        "sample-2026-05-31-opec-plus",
        "[sample] OPEC+ agrees to keep output cuts through the third quarter",
        utc(2026, 5, 31, 14, 0), utc(2026, 5, 31, 13, 0), utc(2026, 5, 31, 14, 0),
        "energy", ("SA", "RU"),
        (
            _sample("", "OPEC+ extends production cuts", utc(2026, 5, 31, 14, 0)),
            _sample("Energy", "Oil producers hold the line on supply", utc(2026, 5, 31, 14, 20)),
            _sample("Markets", "What the OPEC+ decision means for crude", utc(2026, 5, 31, 16, 45)),
        ),
        ("WTI", "BRENT", "NATGAS"), "demo: sample", 0.8,
    ),
    DemoEvent(
        "sample-2026-06-03-fed-decision",
        "[sample] Federal Reserve leaves rates unchanged and signals patience",
        utc(2026, 6, 3, 18, 0), utc(2026, 6, 3, 18, 0), utc(2026, 6, 3, 18, 0),
        "macro", ("US",),
        (
            _sample("", "Fed holds rates steady", utc(2026, 6, 3, 18, 0)),
            _sample("Markets", "Fed signals no hurry to cut", utc(2026, 6, 3, 18, 40)),
        ),
        ("BTC", "ETH", "XAU", "XAG"), "demo: sample", 0.8,
    ),
    DemoEvent(
        "sample-2026-06-05-metal-tariffs",
        "[sample] US announces new tariffs on imported industrial metals",
        utc(2026, 6, 5, 15, 0), utc(2026, 6, 5, 15, 0), utc(2026, 6, 5, 15, 0),
        "trade", ("US", "CN"),
        (_sample("", "New US tariffs on industrial metals", utc(2026, 6, 5, 15, 0)),),
        ("XAU", "XAG", "BTC"), "demo: sample", 0.8,
    ),
)  # fmt: skip

DEMO_EVENTS: tuple[DemoEvent, ...] = (SEED_EVENT, *SAMPLE_EVENTS)


def article_id(outlet: str, title: str, published_at: datetime) -> str:
    """Stable id of a report without a URL: hash of outlet, title and time (DESIGN §3)."""
    key = "\x1f".join((outlet, title, published_at.astimezone(UTC).isoformat()))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def news_frames(config: Config) -> dict[str, pl.DataFrame]:
    """The articles, events, event_articles and event_instruments rows of the demo."""
    watchlist = config.watchlist
    articles: dict[str, dict] = {}
    events, links, tags = [], [], []
    for event in DEMO_EVENTS:
        ids = []
        for art in event.articles:
            aid = article_id(art.outlet, art.title, art.published_at)
            ids.append(aid)
            articles[aid] = {
                "article_id": aid,
                "outlet": art.outlet,
                "url": None,  # the demo does not invent addresses
                "title": art.title,
                "summary": art.summary,
                "published_at": art.published_at,
                "published_precision": art.precision,
                "fetched_at": BUILT_AS_OF,
                "feed": art.feed,
                "language": "en",
            }
            links.append({"event_id": event.event_id, "article_id": aid})
        # first_outlet: the outlet of the earliest report (on a tie, the one listed first).
        first = min(event.articles, key=lambda a: a.published_at)
        events.append(
            {
                "event_id": event.event_id,
                "title": event.title,
                "event_at": event.event_at,
                "event_at_lower": event.lower,
                "event_at_upper": event.upper,
                "category": event.category,
                "countries": list(event.countries),
                "n_articles": len(set(ids)),
                "n_outlets": len({a.outlet for a in event.articles}),
                "first_outlet": first.outlet,
                "is_manual": True,  # hand-written, not produced by clustering
            }
        )
        linked = watchlist if event.instruments is None else event.instruments
        tags.extend(
            {
                "event_id": event.event_id,
                "instrument_id": iid,
                "reason": event.reason,
                "confidence": event.confidence,
            }
            for iid in linked
            if iid in watchlist
        )
    ts_cols = ("published_at", "fetched_at", "event_at", "event_at_lower", "event_at_upper")
    return {
        "articles": _frame(list(articles.values()), ts_cols),
        "events": _frame(events, ts_cols).cast({"countries": pl.List(pl.Utf8)}),
        "event_articles": _frame(links, ts_cols),
        "event_instruments": _frame(tags, ts_cols),
    }


def _frame(rows: list[dict], ts_cols: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(rows)
    return frame.cast({c: UTC_TS for c in ts_cols if c in frame.columns})


# ---------------------------------------------------------------------------- the rest


def instrument_frame(config: Config) -> pl.DataFrame:
    """One `instruments` row per watchlist entry, marked as demo data."""
    return pl.DataFrame(
        [
            {
                "instrument_id": i.id,
                "display_name": i.name,
                "asset_class": i.asset_class,
                "source": "synthetic",
                "venue": None,
                "market_symbol": i.symbol,
                "quote_currency": i.quote_currency,
                "calendar": i.calendar,
                "exchange_tz": i.exchange_tz,
                "available": True,
                "unavailable_reason": None,
            }
            for i in config.instruments
        ],
        schema_overrides={"venue": pl.Utf8, "unavailable_reason": pl.Utf8},
    )


def strip_quotes(config: Config) -> pl.DataFrame:
    """The seed-001 strip as quotes at the strip instant (only instruments on the watchlist)."""
    rows = [
        {
            "instrument_id": iid,
            "ts": STRIP_AT,
            "source": STRIP_SOURCE,
            "price": price,
            "change_pct": change,
            "captured_from": "seed 001 ticker strip (Prices as of 04:57 UTC; date assumed 2026-05-27)",
        }
        for iid, (price, change) in STRIP.items()
        if iid in config.watchlist
    ]
    return pl.DataFrame(rows).cast({"ts": UTC_TS})


def _insert_all(st: store.Store, frames: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Bulk-insert each frame into its table in ONE transaction; rows written per table.

    The file was just created, so there is nothing to upsert against: a plain insert of the
    Arrow frame is the fast path (the 740k bars go in with one statement).
    """
    con = st.con
    written: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table, frame in frames.items():
            st.table_columns(table)  # a StoreError naming the table if it does not exist
            con.register("_demo_batch", frame.to_arrow())
            # `table` comes from our own fixed dict above, never from user input.
            con.execute(f'insert into "{table}" by name select * from _demo_batch')
            con.unregister("_demo_batch")
            written[table] = frame.height
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise StoreError(f"demo: writing {table} failed: {first_line(exc)}") from exc
    return written


def build_synthetic(
    db_path: str | Path, config: Config, *, seed: int = DEFAULT_SEED, force: bool = False
) -> DemoStats:
    """Rebuild a synthetic database from scratch: bars, quotes, instruments, events, run log, meta."""
    started = time.perf_counter()
    path = Path(db_path)
    check_replaceable(path, force)
    stats = DemoStats(db_path=path, seed=seed)
    bars, latest = simulate_bars(config, seed)
    built_from = (
        f"synthetic seeded 1m bars (seed {seed}) for {len(config.instruments)} instruments, "
        f"{DEMO_START:%Y-%m-%d} to {DEMO_END:%Y-%m-%d}, pinned to the seed-001 strip at "
        f"{STRIP_AT:%Y-%m-%d %H:%M} UTC; the seed story and labelled [sample] events"
    )
    frames = {
        "instruments": instrument_frame(config),
        "bars": bars,
        "quotes": pl.concat([strip_quotes(config), latest]),
        **news_frames(config),
        # In the same transaction as the rows: a file with demo rows is always marked as demo.
        "meta": pl.DataFrame(
            {"key": ["dataset", "demo_built_from"], "value": [DATASET, built_from]}
        ),
    }
    stats.phases["simulate"] = time.perf_counter() - started
    # The gate makes dashboards that reopen the file meanwhile wait for the new one instead
    # of finding it missing or half written (pipelines/gate.py).
    with store.writing(path, "synthetic", fresh=True) as st:
        st.con.execute("set enable_progress_bar = false")  # DuckDB would draw one on stdout
        run = st.start_run("synthetic")
        stats.rows.update(_insert_all(st, frames))
        run.read = run.stored = sum(stats.rows.values())
        run.details = {"seed": seed, "rows": dict(stats.rows)}
        st.finish_run(run, "ok")
        stats.rows["ingest_runs"] = 1
        stats.phases["write"] = time.perf_counter() - started - stats.phases["simulate"]
        stats.checksum = checksum(st.con)
    stats.seconds = time.perf_counter() - started
    stats.phases["checksum"] = stats.seconds - stats.phases["simulate"] - stats.phases["write"]
    return stats
