"""Text helpers shared by the enrichment steps: tokens for clustering, text cleaned for matching."""

from __future__ import annotations

import re
from functools import lru_cache

from pipelines.articles import normalise_text

# Function words and newsroom boilerplate: they say nothing about which story a report is.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "amid",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "says",
        "said",
        "say",
        "saying",
        "report",
        "reports",
        "reported",
        "reportedly",
        "according",
        "new",
        "news",
        "latest",
        "update",
        "updates",
        "live",
        "today",
        "yesterday",
        "tomorrow",
        "week",
        "month",
        "year",
        "years",
        "day",
        "days",
        "time",
        "times",
        "via",
        "amp",
        "one",
        "two",
        "three",
        "first",
        "last",
        "many",
        "much",
        "may",
        "might",
        "must",
        "us",
        "u",
        "s",
        "mr",
        "ms",
        "per",
        "cent",
        "percent",
        "breaking",
        "watch",
        "read",
        "video",
        "photos",
        "exclusive",
        "analysis",
        "opinion",
        "show",
        "shows",
        "showed",
        "told",
        "tells",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)

_WORD = re.compile(r"[a-z0-9]+")

# Different words for the same thing in headlines: demonyms, capitals used for governments,
# short forms. Folded before stemming so that 'Israeli strikes' meets 'Israel strikes'.
SYNONYMS = {
    "israeli": "israel",
    "iranian": "iran",
    "chinese": "china",
    "beijing": "china",
    "russian": "russia",
    "moscow": "russia",
    "ukrainian": "ukraine",
    "kyiv": "ukraine",
    "european": "europe",
    "eu": "europe",
    "japanese": "japan",
    "tokyo": "japan",
    "indian": "india",
    "german": "germany",
    "berlin": "germany",
    "french": "france",
    "british": "britain",
    "uk": "britain",
    "american": "america",
    "fed": "federal",
    "btc": "bitcoin",
    "eth": "ether",
    "ethereum": "ether",
    "crude": "oil",
    "bn": "billion",
}


def stem(word: str) -> str:
    """A light stem: common endings folded, then cut to 7 letters, so 'requiring' meets 'requires'."""
    if len(word) > 5 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif (
        len(word) > 4
        and word.endswith("ed")
        and not word.endswith("eed")
        or len(word) > 4
        and word.endswith("es")
        and not word.endswith(("ees", "ses"))
    ):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word[:7]


@lru_cache(maxsize=500_000)
def token_of(word: str) -> str | None:
    """The token of one folded lowercase word, or None for stop words, numbers and 1-letter words."""
    if len(word) < 2 or word in STOPWORDS or word.isdigit():
        return None
    return stem(SYNONYMS.get(word, word))


def tokens(text: str | None) -> list[str]:
    """Content tokens of a text: folded, stop words and pure numbers dropped, lightly stemmed."""
    if not text:
        return []
    # ASCII is the common case: nothing to fold, so skip the Unicode normalisation.
    words = _WORD.findall(text.lower() if text.isascii() else normalise_text(text))
    out = []
    for word in words:
        tok = token_of(word)
        if tok is not None:
            out.append(tok)
    return out


_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|org|net|io|co|gov|edu|info|news|ly|me)(?:/\S*)?\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
# Share buttons and social boilerplate that scrapers pick up with the text.
_SHARE = re.compile(
    r"\b(?:share (?:on|via|to) \w+|share this(?: article| story| post)?|tweet this|"
    r"follow us on \w+|click to share[^\n]*|pin it|email this|copy link|subscribe(?: now)?)\b",
    re.IGNORECASE,
)
# Price tickers pasted above articles ("BTC$73,275.00▲ 0.17%…") are not mentions.
_TICKER_LINE = re.compile(r"[$€£¥%▲▼]")


_URL_HINTS = ("http", "www.", ".com", ".org", ".net", ".io", ".co", ".gov", ".edu", ".info",
              ".news", ".ly", ".me")  # fmt: skip


def strip_urls(text: str | None) -> str:
    """Text without URLs and bare domains (a link says nothing about which story it is)."""
    if not text:
        return ""
    lowered = text.lower()
    if not any(hint in lowered for hint in _URL_HINTS):
        return text  # the regex is the slow part; most texts have no link at all
    return _URL.sub(" ", text)


def matchable(text: str | None) -> str:
    """Text with URLs, e-mail addresses, share buttons and ticker-strip lines removed."""
    if not text:
        return ""
    kept = []
    for line in text.splitlines():
        compact = line.replace(" ", "")
        if compact and len(_TICKER_LINE.findall(compact)) >= 4:
            symbols = sum(ch.isdigit() or ch in "$€£¥%▲▼.,+-" for ch in compact)
            if symbols / len(compact) > 0.3:
                continue
        kept.append(line)
    cleaned = strip_urls("\n".join(kept))
    if "@" in cleaned:
        cleaned = _EMAIL.sub(" ", cleaned)
    return _SHARE.sub(" ", cleaned)
