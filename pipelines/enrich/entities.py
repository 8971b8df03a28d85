"""Entity rules: words and aliases in a report → instruments, matched on word boundaries, case-aware."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.config import Config
from pipelines.enrich.text import matchable

# instrument → aliases. An alias written in capitals (BTC, OPEC, WTI) matches only in capitals,
# so "btc" in a URL slug or "Opec" in a name do not count; other aliases ignore case.
DEFAULT_RULES: dict[str, list[str]] = {
    "BTC": ["bitcoin", "BTC", "bitcoins"],
    "ETH": ["ethereum", "ether", "ETH"],
    "SOL": ["solana", "SOL"],
    "XRP": ["XRP", "ripple"],
    "DOGE": ["dogecoin"],  # not "DOGE": in 2025 news that is mostly the US government department
    "BNB": ["BNB", "binance coin"],
    "ADA": ["cardano", "ADA"],
    "XAU": ["gold", "bullion", "XAU"],
    "XAG": ["silver", "XAG"],
    "WTI": ["crude", "OPEC", "oil", "WTI"],
    "BRENT": ["crude", "OPEC", "oil", "Brent"],
    "NATGAS": ["natural gas", "LNG", "Henry Hub"],
    "BABA": ["Alibaba"],
}
# Phrases that contain an alias but are not about the instrument.
DEFAULT_EXCLUDE = [
    "gold star",
    "gold stars",
    "gold card",
    "gold medal",
    "gold medals",
    "olive oil",
    "silver medal",
    "silver lining",
    "oil painting",
]


@dataclass(frozen=True)
class Rule:
    """One instrument and its aliases, in order of preference."""

    instrument: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """An instrument found in a report: which alias, whether in the title."""

    instrument: str
    alias: str
    in_title: bool


def _is_strict(alias: str) -> bool:
    return alias.isupper() and any(ch.isalpha() for ch in alias)


def _alternation(aliases: list[str], flags: int) -> re.Pattern[str] | None:
    """One pattern for many aliases (longest first), on word boundaries.

    A neighbouring '/', '@' or '.x' means a path, handle or domain, not prose.
    """
    if not aliases:
        return None
    bodies = [
        r"\s+".join(re.escape(w) for w in a.split()) for a in sorted(aliases, key=len, reverse=True)
    ]
    return re.compile(rf"(?<![\w/.@])(?:{'|'.join(bodies)})(?![\w@/]|\.\w)", flags)


class EntityMatcher:
    """All rules, compiled into two scans (case-sensitive aliases and the others)."""

    def __init__(self, rules: dict[str, list[str]], exclude: list[str]):
        self.rules = [Rule(inst, tuple(aliases)) for inst, aliases in rules.items()]
        # (alias as reported, alias as found in text) per rule, worked out once.
        self._keys = [
            (r.instrument, [(a, a if _is_strict(a) else a.lower()) for a in r.aliases])
            for r in self.rules
        ]
        strict = sorted({a for r in self.rules for a in r.aliases if _is_strict(a)})
        loose = sorted({a.lower() for r in self.rules for a in r.aliases if not _is_strict(a)})
        self._strict = _alternation(strict, 0)
        self._loose = _alternation(loose, re.IGNORECASE)
        self.exclude = _alternation(exclude, re.IGNORECASE)

    @classmethod
    def from_config(cls, config: Config | None) -> EntityMatcher:
        """Rules from [entities] (rules replace or extend the defaults, plus exclude phrases)."""
        if config is None:
            return cls(DEFAULT_RULES, DEFAULT_EXCLUDE)
        sec = config.section("entities")
        sec.check_keys(("rules", "mode", "exclude"))
        mode = sec.get("mode", str, "extend", choices=("extend", "replace"))
        given = sec.get("rules", dict, {})
        rules = {} if mode == "replace" else {k: list(v) for k, v in DEFAULT_RULES.items()}
        for inst, aliases in given.items():
            if isinstance(aliases, str):
                aliases = aliases.split("|")
            if not isinstance(aliases, list) or not all(
                isinstance(a, str) and a.strip() for a in aliases
            ):
                raise sec.fail(f"rules.{inst}", "must be a list of aliases or one 'a|b|c' string")
            rules[inst] = [a.strip() for a in aliases]
        exclude = DEFAULT_EXCLUDE + sec.str_list("exclude")
        return cls(rules, exclude)

    def _clean(self, text: str | None) -> str:
        cleaned = matchable(text)
        return self.exclude.sub(" ", cleaned) if self.exclude else cleaned

    def _aliases_in(self, text: str) -> set[str]:
        """The aliases present in a text, spelled as in the rules (loose ones lowercased)."""
        found: set[str] = set()
        if self._strict:
            found.update(" ".join(m.split()) for m in self._strict.findall(text))
        if self._loose:
            found.update(" ".join(m.lower().split()) for m in self._loose.findall(text))
        return found

    def find(self, title: str | None, summary: str | None) -> list[Match]:
        """Instruments mentioned in a report (one Match per instrument, title hits first)."""
        in_title = self._aliases_in(self._clean(title))
        in_body = self._aliases_in(self._clean(summary))
        found: list[Match] = []
        if not in_title and not in_body:
            return found
        for instrument, keys in self._keys:
            for where, aliases in ((True, in_title), (False, in_body)):
                hit = next((alias for alias, key in keys if key in aliases), None)
                if hit:
                    found.append(Match(instrument, hit, where))
                    break
        return found


def combine(matches_per_report: list[list[Match]]) -> dict[str, tuple[str, float]]:
    """Event-level instruments from its reports' matches: instrument → (reason, confidence)."""
    stats: dict[str, dict] = {}
    n = max(len(matches_per_report), 1)
    for matches in matches_per_report:
        for m in matches:
            s = stats.setdefault(m.instrument, {"aliases": {}, "title": 0, "reports": 0})
            s["reports"] += 1
            s["title"] += m.in_title
            s["aliases"][m.alias] = s["aliases"].get(m.alias, 0) + 1
    out = {}
    for inst, s in stats.items():
        alias = max(s["aliases"], key=s["aliases"].get)
        share = s["reports"] / n
        # A title mention is strong evidence; a passing mention in one report of many is weak.
        confidence = min(1.0, 0.4 + 0.4 * (s["title"] > 0) + 0.2 * share)
        where = "title" if s["title"] else "text"
        out[inst] = (
            f"entity match: '{alias}' in {where} of {s['reports']}/{n} reports",
            round(confidence, 3),
        )
    return out
