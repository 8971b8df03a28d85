"""Policy tagger: a configurable lexicon of phrases per category (tariffs, sanctions, …)."""

from __future__ import annotations

import re

from pipelines.config import Config
from pipelines.enrich.text import matchable

# category → phrases. A trailing '*' matches any word ending ("tariff*" → tariffs, tariffed).
DEFAULT_LEXICON: dict[str, list[str]] = {
    "tariffs": ["tariff*", "import duty", "import duties", "customs duties", "reciprocal trade",
                "trade war", "levies on imports", "countervailing duties", "anti-dumping"],
    "sanctions": ["sanction*", "asset freeze", "blacklist*", "embargo*", "OFAC", "entity list"],
    "export_controls": ["export control*", "export ban*", "export restriction*", "export curb*",
                        "chip curbs", "licen?e requirement*"],
    "regulation": ["regulator*", "regulation*", "SEC", "CFTC", "rulemaking", "crackdown",
                   "cracks down", "ban on", "bans", "outlaw*", "legislation", "executive order*",
                   "bill signed", "signed into law"],
    "travel_restrictions": ["travel restriction*", "travel ban*", "exit ban*", "exit control*",
                            "approval before travel*", "permission before leaving",
                            "restrictions on overseas travel", "limits on overseas travel",
                            "restrict* travel", "travel curb*", "travel limit*", "travel control*",
                            "visa ban*", "visa restriction*", "overseas travel"],
    "capital_controls": ["capital control*", "capital outflow*", "currency control*",
                         "foreign exchange control*", "outbound investment"],
    "central_bank": ["central bank", "Federal Reserve", "the Fed", "FOMC", "rate cut*",
                     "rate hike*", "interest rate*", "ECB", "Bank of England", "Bank of Japan",
                     "PBOC", "monetary policy", "quantitative easing", "basis points"],
}  # fmt: skip


def _body(phrase: str) -> str:
    parts = []
    for word in phrase.split():
        star = word.endswith("*")
        core = re.escape(word.rstrip("*")).replace(r"\?", r"\w")
        parts.append(core + (r"\w*" if star else ""))
    return r"\s+".join(parts)


def _compile(phrases: list[str]) -> list[re.Pattern[str]]:
    """At most two patterns for a category: its capitals-only phrases (SEC, FOMC) and the rest."""
    out = []
    strict = [p for p in phrases if p.replace("*", "").isupper()]
    loose = [p for p in phrases if p not in strict]
    for group, flags in ((strict, 0), (loose, re.I)):
        if group:
            alternation = "|".join(_body(p) for p in group)
            out.append(re.compile(rf"(?<![\w/.@])(?:{alternation})(?![\w@/])", flags))
    return out


class PolicyTagger:
    """Compiled lexicon: tags a text with the policy categories it mentions."""

    def __init__(self, lexicon: dict[str, list[str]]):
        self.lexicon = {cat: _compile(phrases) for cat, phrases in lexicon.items()}

    @classmethod
    def from_config(cls, config: Config | None) -> PolicyTagger:
        """Lexicon from [policy]: `categories` extend (or with mode = 'replace', replace) the defaults."""
        if config is None:
            return cls(DEFAULT_LEXICON)
        sec = config.section("policy")
        sec.check_keys(("categories", "mode"))
        mode = sec.get("mode", str, "extend", choices=("extend", "replace"))
        given = sec.get("categories", dict, {})
        lexicon = {} if mode == "replace" else {k: list(v) for k, v in DEFAULT_LEXICON.items()}
        for cat, phrases in given.items():
            if not isinstance(phrases, list) or not all(
                isinstance(p, str) and p.strip() for p in phrases
            ):
                raise sec.fail(f"categories.{cat}", "must be a list of phrases")
            lexicon[cat] = lexicon.get(cat, []) + [p.strip() for p in phrases]
        return cls(lexicon)

    def tag(self, title: str | None, summary: str | None) -> list[str]:
        """Sorted policy categories mentioned in the title or text."""
        text = matchable(f"{title or ''}\n{summary or ''}")
        return sorted(
            cat for cat, patterns in self.lexicon.items() if any(p.search(text) for p in patterns)
        )
