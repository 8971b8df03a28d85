"""Offline lexicon sentiment: counts of positive and negative words with simple negation, in [-1, 1]."""

from __future__ import annotations

import re

from pipelines.articles import normalise_text
from pipelines.config import Config

# A small finance-and-news lexicon written for this project (no model, no download).
POSITIVE = frozenset(
    [
        "gain",
        "gains",
        "gained",
        "rally",
        "rallies",
        "rallied",
        "surge",
        "surges",
        "surged",
        "soar",
        "soars",
        "soared",
        "jump",
        "jumps",
        "jumped",
        "rise",
        "rises",
        "rising",
        "rose",
        "climb",
        "climbs",
        "climbed",
        "record",
        "boost",
        "boosts",
        "boosted",
        "strong",
        "stronger",
        "strength",
        "growth",
        "grow",
        "grows",
        "grew",
        "expand",
        "expands",
        "expansion",
        "recover",
        "recovery",
        "rebound",
        "rebounds",
        "rebounded",
        "upbeat",
        "optimism",
        "optimistic",
        "beat",
        "beats",
        "exceeded",
        "profit",
        "profits",
        "profitable",
        "win",
        "wins",
        "won",
        "success",
        "successful",
        "approve",
        "approves",
        "approved",
        "approval",
        "deal",
        "agreement",
        "agree",
        "agreed",
        "breakthrough",
        "peace",
        "ceasefire",
        "relief",
        "eases",
        "eased",
        "easing",
        "support",
        "supports",
        "bullish",
        "upgrade",
        "upgraded",
        "great",
        "fantastic",
        "tremendous",
        "wonderful",
        "best",
        "positive",
        "improve",
        "improves",
        "improved",
        "improvement",
        "stable",
        "stability",
        "safe",
        "secure",
        "benefit",
        "benefits",
        "thrive",
        "thriving",
        "boom",
        "booming",
        "welcome",
        "welcomed",
        "historic",
    ]
)
NEGATIVE = frozenset(
    [
        "loss",
        "losses",
        "lose",
        "loses",
        "lost",
        "fall",
        "falls",
        "fell",
        "drop",
        "drops",
        "dropped",
        "plunge",
        "plunges",
        "plunged",
        "slump",
        "slumps",
        "slumped",
        "crash",
        "crashes",
        "crashed",
        "tumble",
        "tumbles",
        "tumbled",
        "sink",
        "sinks",
        "sank",
        "slide",
        "slides",
        "slid",
        "decline",
        "declines",
        "declined",
        "weak",
        "weaker",
        "weakness",
        "fear",
        "fears",
        "feared",
        "worry",
        "worries",
        "worried",
        "concern",
        "concerns",
        "risk",
        "risks",
        "risky",
        "crisis",
        "recession",
        "inflation",
        "default",
        "defaults",
        "bankrupt",
        "bankruptcy",
        "fraud",
        "scandal",
        "ban",
        "bans",
        "banned",
        "restrict",
        "restricts",
        "restricted",
        "restriction",
        "restrictions",
        "curb",
        "curbs",
        "sanction",
        "sanctions",
        "penalty",
        "penalties",
        "tariff",
        "tariffs",
        "war",
        "attack",
        "attacks",
        "strike",
        "strikes",
        "killed",
        "dead",
        "death",
        "threat",
        "threats",
        "threaten",
        "threatens",
        "threatened",
        "warn",
        "warns",
        "warned",
        "warning",
        "crackdown",
        "collapse",
        "collapsed",
        "downgrade",
        "downgraded",
        "bearish",
        "selloff",
        "sell-off",
        "turmoil",
        "volatile",
        "volatility",
        "uncertainty",
        "fail",
        "fails",
        "failed",
        "failure",
        "disaster",
        "terrible",
        "horrible",
        "bad",
        "worst",
        "negative",
        "hurt",
        "hurts",
        "damage",
        "lawsuit",
        "sue",
        "sued",
        "probe",
        "investigation",
        "hack",
        "hacked",
        "theft",
        "stolen",
        "leak",
        "leaks",
        "leakage",
        "escalation",
        "escalate",
        "escalates",
        "tension",
        "tensions",
        "conflict",
        "dispute",
        "disputes",
        "shortage",
        "layoffs",
        "cut",
        "cuts",
    ]
)
# Apostrophes are folded away before matching, so "isn't" arrives as "isn" + "t".
NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "without",
        "hardly",
        "barely",
        "cannot",
        "isn",
        "aren",
        "wasn",
        "weren",
        "don",
        "doesn",
        "didn",
        "hasn",
        "haven",
    ]
)
_WORD = re.compile(r"[a-z]+")


class SentimentScorer:
    """Scores text with the lexicon; [sentiment] may add positive/negative words."""

    def __init__(self, positive: frozenset[str], negative: frozenset[str]):
        self.positive = positive
        self.negative = negative

    @classmethod
    def from_config(cls, config: Config | None) -> SentimentScorer:
        """Lexicon from the defaults plus [sentiment].positive / .negative word lists."""
        if config is None:
            return cls(POSITIVE, NEGATIVE)
        sec = config.section("sentiment")
        sec.check_keys(("positive", "negative"))
        pos = {w.lower() for w in sec.str_list("positive")}
        neg = {w.lower() for w in sec.str_list("negative")}
        both = pos & neg
        if both:
            raise sec.fail(
                "positive", f"words listed as both positive and negative: {sorted(both)}"
            )
        return cls(POSITIVE - neg | pos, NEGATIVE - pos | neg)

    def score(self, text: str | None) -> float | None:
        """(positive − negative) / (positive + negative + 2), negation flips; None for no words."""
        words = _WORD.findall(normalise_text(text))
        if not words:
            return None
        pos = neg = 0
        for i, word in enumerate(words):
            polarity = (word in self.positive) - (word in self.negative)
            if not polarity:
                continue
            if any(w in NEGATORS for w in words[max(0, i - 3) : i]):
                polarity = -polarity
            if polarity > 0:
                pos += 1
            else:
                neg += 1
        return round((pos - neg) / (pos + neg + 2), 4)
