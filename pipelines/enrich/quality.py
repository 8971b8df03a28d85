"""Clustering quality: B-cubed precision, recall and F1 against labelled stories."""

from __future__ import annotations

from collections import Counter


def bcubed(truth: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed (precision, recall, F1) of `predicted` item → cluster against `truth` item → story.

    Per item: precision = share of its predicted cluster that has its story; recall = share of
    its story that is in its predicted cluster; both averaged over items (Bagga & Baldwin).
    """
    items = list(truth)
    if not items:
        raise ValueError("no labelled items")
    missing = [i for i in items if i not in predicted]
    if missing:
        raise ValueError(
            f"{len(missing)} labelled items have no predicted cluster, e.g. {missing[0]}"
        )
    pair = Counter((predicted[i], truth[i]) for i in items)
    cluster_size = Counter(predicted[i] for i in items)
    story_size = Counter(truth[i] for i in items)
    precision = sum(pair[(predicted[i], truth[i])] / cluster_size[predicted[i]] for i in items)
    recall = sum(pair[(predicted[i], truth[i])] / story_size[truth[i]] for i in items)
    p, r = precision / len(items), recall / len(items)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
