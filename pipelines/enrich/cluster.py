"""Online clustering of reports into events: TF-IDF cosine to event centroids within a time horizon.

Each report is compared only with events whose first report lies within the horizon and that
share one of its most telling words (an inverted index), so the work per report is bounded and
the whole pass is near-linear. Existing events are seeded from the store and never re-split:
a new report joins the best event above the threshold or starts a new one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipelines.config import Config
from pipelines.enrich.text import strip_urls, tokens

Vector = dict[str, float]


@dataclass(frozen=True)
class ClusterSettings:
    """Knobs of the clustering, from [clustering] in the config."""

    horizon: timedelta = timedelta(hours=48)
    threshold: float = 0.22
    title_weight: float = 2.0
    summary_words: int = 60
    probe_tokens: int = 8
    index_tokens: int = 12
    background_articles: int = 5000

    @classmethod
    def from_config(cls, config: Config | None) -> ClusterSettings:
        """Read and validate [clustering]."""
        if config is None:
            return cls()
        sec = config.section("clustering")
        sec.check_keys(
            (
                "horizon_hours",
                "threshold",
                "title_weight",
                "summary_words",
                "probe_tokens",
                "background_articles",
            )
        )
        horizon = sec.get("horizon_hours", float, 48.0)
        if not 0 < horizon <= 24 * 30:
            raise sec.fail("horizon_hours", f"{horizon} must be between 0 and 720 hours")
        threshold = sec.get("threshold", float, cls.threshold)
        if not 0 < threshold < 1:
            raise sec.fail("threshold", f"{threshold} must be between 0 and 1 (cosine similarity)")
        title_weight = sec.get("title_weight", float, cls.title_weight)
        if title_weight <= 0:
            raise sec.fail("title_weight", "must be positive")
        summary_words = sec.get("summary_words", int, cls.summary_words)
        probe = sec.get("probe_tokens", int, cls.probe_tokens)
        background = sec.get("background_articles", int, cls.background_articles)
        if summary_words < 0 or probe < 1 or background < 0:
            raise sec.fail(
                "summary_words", "summary_words ≥ 0, probe_tokens ≥ 1, background_articles ≥ 0"
            )
        return cls(
            horizon=timedelta(hours=horizon),
            threshold=threshold,
            title_weight=title_weight,
            summary_words=summary_words,
            probe_tokens=probe,
            index_tokens=max(probe, cls.index_tokens),
            background_articles=background,
        )


_SENTENCE_END = re.compile(r"[.!?:;\n\"“”]+\s*")


def _names(text: str) -> set[str]:
    """Tokens of words capitalised inside a sentence (names: DeepSeek, Alibaba, OPEC, Powell)."""
    found: set[str] = set()
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        for word in words[1:]:
            if word[:1].isupper():
                found.update(tokens(word))
    return found


# Figures with their unit ("84%", "90-day", "4.25%", "$47,000", "11 funds" is left out): the
# numbers a story is about tell same-day stories apart ("84%" retaliation, "90-day" pause).
_FIGURE = re.compile(
    r"(?<![\w.])(\$?\d+(?:[.,]\d+)*)(\s?%|-(?:day|week|month|year)s?\b|\s?(?:bn|billion|million|trillion)\b)"
)
FIGURE_WEIGHT = 1.0


def figures(text: str | None) -> list[str]:
    """Figure tokens of a text ("84%" → "#84%", "90-day" → "#90-day"), unit spelled one way."""
    if not text:
        return []
    out = []
    for number, unit in _FIGURE.findall(text):
        unit = unit.strip().lower().rstrip("s")
        unit = {"billion": "bn", "million": "m", "trillion": "tn"}.get(unit, unit)
        out.append(f"#{number.replace(',', '')}{unit}")
    return out


def term_counts(title: str | None, summary: str | None, settings: ClusterSettings) -> Counter:
    """Weighted term counts of a report: title words count more, then the start of the text.

    Names (words capitalised mid-sentence in the text) count double and figures with a unit
    ("84%", "90-day") count 1.5×: which people, firms, places and numbers a report is about
    tells stories apart better than the common words around them.
    """
    counts: Counter = Counter()
    title, summary = strip_urls(title), strip_urls(summary)
    for tok in tokens(title):
        counts[tok] += settings.title_weight
    for tok in figures(title):
        counts[tok] += settings.title_weight * FIGURE_WEIGHT
    if summary and settings.summary_words:
        head = " ".join(summary.split()[: settings.summary_words + 10])
        body = tokens(head)[: settings.summary_words]
        names = _names(head)
        for tok in body:
            counts[tok] += 2.0 if tok in names else 1.0
        for tok in figures(head):
            counts[tok] += FIGURE_WEIGHT
    return counts


FULL_IDF_DOCS = 200


class Vocabulary:
    """Document frequencies of terms, for inverse-document-frequency weights."""

    def __init__(self) -> None:
        self.df: Counter = Counter()
        self.n = 0
        self._idf: dict[str, float] = {}

    def add(self, terms: Iterable[str]) -> None:
        """Count one document's distinct terms."""
        self.df.update(set(terms))
        self.n += 1
        self._idf.clear()

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency, damped while the corpus is small.

        With a handful of documents, IDF punishes exactly the words the reports of one story
        share; below FULL_IDF_DOCS documents it is blended toward plain term frequency.
        """
        cached = self._idf.get(term)
        if cached is None:
            raw = math.log((self.n + 1) / (self.df.get(term, 0) + 1))
            cached = self._idf[term] = 1.0 + raw * min(1.0, self.n / FULL_IDF_DOCS)
        return cached


def weigh(counts: Counter, vocab: Vocabulary) -> Vector:
    """A unit-length TF-IDF vector (sub-linear term frequency)."""
    idf, log = vocab.idf, math.log
    vec = {t: (1.0 + log(c)) * idf(t) for t, c in counts.items() if c > 0}
    norm = math.sqrt(sum(w * w for w in vec.values()))
    if norm == 0:
        return {}
    return {t: w / norm for t, w in vec.items()}


@dataclass
class Cluster:
    """An event being built: the sum of its members' vectors and its time span."""

    key: str
    first_at: datetime
    centroid: Vector = field(default_factory=dict)
    norm2: float = 0.0
    size: int = 0
    is_new: bool = True

    def add(self, vec: Vector, at: datetime) -> None:
        """Fold a member's vector into the centroid (keeping |centroid|² up to date)."""
        dot = 0.0
        centroid = self.centroid
        for term, w in vec.items():
            old = centroid.get(term, 0.0)
            dot += old * w
            centroid[term] = old + w
        self.norm2 += 2 * dot + (1.0 if vec else 0.0)  # member vectors have unit length
        self.size += 1
        if at < self.first_at:
            self.first_at = at

    def similarity(self, vec: Vector) -> float:
        """Cosine between a vector and the centroid."""
        if self.norm2 <= 0:
            return 0.0
        get = self.centroid.get
        dot = 0.0
        for term, w in vec.items():
            c = get(term)
            if c is not None:
                dot += w * c
        return dot / math.sqrt(self.norm2)


class Clusterer:
    """Assigns reports to clusters one at a time (feed them in time order)."""

    def __init__(self, settings: ClusterSettings):
        self.settings = settings
        self.clusters: list[Cluster] = []
        self.by_key: dict[str, int] = {}
        self.postings: dict[str, dict[int, datetime]] = {}  # term → cluster → last seen
        self._pruned_at: dict[str, int] = {}
        self._in_time_order = True

    def _index(
        self, idx: int, vec: Vector, at: datetime, prune: bool = True, ranked: list | None = None
    ) -> None:
        ranked = ranked if ranked is not None else sorted(vec, key=vec.__getitem__, reverse=True)
        top = ranked[: self.settings.index_tokens]
        oldest = at - self.settings.horizon
        clusters = self.clusters
        for term in top:
            posting = self.postings.get(term)
            if posting is None:
                posting = self.postings[term] = {}
            posting.pop(idx, None)
            posting[idx] = at  # re-inserted at the end: insertion order follows report time
            # Drop clusters past the horizon whenever a list has doubled since it was last
            # pruned: amortised O(1) per report, and lists stay as long as the live clusters.
            if prune and len(posting) >= self._pruned_at.get(term, 32) * 2:
                for i in [i for i in posting if clusters[i].first_at < oldest]:
                    del posting[i]
                self._pruned_at[term] = max(32, len(posting))

    def seed(self, key: str, members: list[tuple[datetime, Vector]]) -> None:
        """Load an existing event (from the store) so new reports can join it."""
        if not members:
            return
        self._in_time_order = False  # seeds may be newer than the reports that follow
        cluster = Cluster(key=key, first_at=min(at for at, _ in members), is_new=False)
        idx = len(self.clusters)
        self.clusters.append(cluster)
        self.by_key[key] = idx
        for at, vec in members:
            cluster.add(vec, at)
            self._index(idx, vec, at, prune=False)

    def _candidates(self, at: datetime, ranked: list[str]) -> set[int]:
        horizon = self.settings.horizon
        oldest = at - horizon
        probe = ranked[: self.settings.probe_tokens]
        found: set[int] = set()
        clusters = self.clusters
        in_order = self._in_time_order
        for term in probe:
            posting = self.postings.get(term)
            if not posting:
                continue
            for scanned, (i, seen_at) in enumerate(reversed(posting.items())):
                # Newest first: once a cluster was last seen before the horizon, so were all
                # older entries (only when reports arrive in time order).
                if (in_order and seen_at < oldest) or scanned >= 256:
                    break
                if abs(clusters[i].first_at - at) <= horizon:
                    found.add(i)
        return found

    def assign(self, key_if_new: str, at: datetime, vec: Vector) -> tuple[str, bool, float]:
        """Put one report into the best cluster, or a new one keyed `key_if_new`; (key, created, score)."""
        best, best_score = -1, 0.0
        ranked = sorted(vec, key=vec.__getitem__, reverse=True)  # most telling terms first
        if vec:
            for i in self._candidates(at, ranked):
                score = self.clusters[i].similarity(vec)
                if score > best_score:
                    best, best_score = i, score
        if best >= 0 and best_score >= self.settings.threshold:
            cluster = self.clusters[best]
            cluster.add(vec, at)
            self._index(best, vec, at, ranked=ranked)
            return cluster.key, False, best_score
        idx = len(self.clusters)
        cluster = Cluster(key=key_if_new, first_at=at)
        cluster.add(vec, at)
        self.clusters.append(cluster)
        self.by_key[key_if_new] = idx
        self._index(idx, vec, at, ranked=ranked)
        return key_if_new, True, best_score


def cluster_reports(
    reports: list[tuple[str, datetime, str | None, str | None]], settings: ClusterSettings
) -> dict[str, str]:
    """Cluster (id, at, title, summary) reports from scratch; returns report id → cluster key.

    The cluster key is the id of the cluster's first report (in time order).
    """
    vocab = Vocabulary()
    counted = []
    for rid, at, title, summary in reports:
        counts = term_counts(title, summary, settings)
        vocab.add(counts)
        counted.append((rid, at, counts))
    counted.sort(key=lambda r: (r[1], r[0]))
    clusterer = Clusterer(settings)
    out: dict[str, str] = {}
    for rid, at, counts in counted:
        key, _, _ = clusterer.assign(rid, at, weigh(counts, vocab))
        out[rid] = key
    return out
