"""The synthetic database's hand-written data: the span, the seed-001 strip, each instrument's
price dynamics, and the news records (the seed story and labelled [sample] events).

Data only: the simulator (`simulator.py`) and the writer (`writer.py`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
