"""Syndicated copies: the same report with a word or two changed, found by MinHash/LSH.

Exact copies share a text hash; a copy an outlet edited ("said" → "stated", a changed
headline word) does not. Word 3-shingles of the normalised title and text start are
MinHashed and bucketed by LSH (datasketch); a candidate pair counts only when the exact
Jaccard similarity of the shingle sets reaches the threshold, so LSH's misses are the only
approximation left.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from datasketch import MinHash, MinHashLSH

from pipelines.articles import normalise_text


@dataclass(frozen=True)
class NearDuplicateSettings:
    """How alike two texts must be, and what counts as a text long enough to compare."""

    threshold: float = 0.8  # Jaccard of word 3-shingles; one changed word in 60 keeps ~0.9
    min_words: int = 25  # shorter texts (headlines alone) differ too much per changed word
    text_chars: int = 1500
    horizon: timedelta = timedelta(hours=48)
    num_perm: int = 128


Report = tuple[str, datetime, str | None, str | None]  # id, published_at, title, summary


def shingles(title: str | None, summary: str | None, settings: NearDuplicateSettings) -> set[str]:
    """Word 3-shingles of the normalised title and start of the text (empty if too short)."""
    words = normalise_text(f"{title or ''} {(summary or '')[: settings.text_chars]}").split()
    if len(words) < settings.min_words:
        return set()
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def find_near_duplicates(
    pending: Iterable[Report],
    earlier: Iterable[Report] = (),
    settings: NearDuplicateSettings | None = None,
) -> dict[str, str]:
    """Pending report id → the earliest report it copies (from `earlier` or earlier pending ones)."""
    settings = settings or NearDuplicateSettings()
    lsh = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm)
    seen: dict[str, tuple[datetime, set[str]]] = {}
    out: dict[str, str] = {}
    pending = sorted(pending, key=lambda r: (r[1], r[0]))
    pending_ids = {r[0] for r in pending}
    for rid, at, title, summary in [*earlier, *pending]:
        grams = shingles(title, summary, settings)
        if not grams:
            continue
        signature = MinHash(num_perm=settings.num_perm)
        signature.update_batch([g.encode("utf-8") for g in grams])
        if rid in pending_ids:
            original = _best_original(lsh.query(signature), at, grams, seen, out, settings)
            if original is not None:
                out[rid] = original
                continue  # a copy is not itself an original for later copies
        if rid not in seen:
            seen[rid] = (at, grams)
            lsh.insert(rid, signature)
    return out


def _best_original(
    candidates: list[str],
    at: datetime,
    grams: set[str],
    seen: dict[str, tuple[datetime, set[str]]],
    out: dict[str, str],
    settings: NearDuplicateSettings,
) -> str | None:
    best, best_key = None, None
    for cid in candidates:
        c_at, c_grams = seen[cid]
        if abs(at - c_at) > settings.horizon:
            continue
        jaccard = len(grams & c_grams) / len(grams | c_grams)
        if jaccard >= settings.threshold:
            key = (c_at, cid)  # the earliest copy is the original
            if best_key is None or key < best_key:
                best, best_key = cid, key
    return best
