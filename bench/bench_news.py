"""Benchmark: clustering 10k, 30k and 100k reports into events — wall time, peak memory, quality.

Reports are generated (seeded): stories of 2–8 reports from different outlets over a few hours,
each report a paraphrase drawn from its story's words plus common newsroom words, ~150
reports a day, so many stories share words at any moment. Each size runs in a fresh process
(peak RSS is per process). The baseline, measured in the same run, is a naive clusterer that
compares every report with every earlier event (no inverted index, no horizon): run on small
subsets, it shows how the indexed clusterer's work grows versus all-pairs.

    .venv/bin/python bench/bench_news.py            # 10k, 30k, 100k (+ baseline on 2k, 4k)
    .venv/bin/python bench/bench_news.py --quick    # 2k, 5k (smoke)
    .venv/bin/python bench/bench_news.py --store 10000   # also end-to-end run_enrichment on DuckDB
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.enrich.cluster import (  # noqa: E402
    Cluster,
    ClusterSettings,
    Vocabulary,
    cluster_reports,
    term_counts,
    weigh,
)
from pipelines.enrich.quality import bcubed  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "su",
    "no",
    "vi",
    "da",
    "pe",
    "zo",
    "ri",
    "na",
    "tu",
    "ge",
    "bo",
    "la",
    "fi",
    "mo",
    "re",
]
COMMON = [
    "markets",
    "shares",
    "prices",
    "investors",
    "officials",
    "government",
    "plan",
    "talks",
    "deal",
    "rise",
    "fall",
    "week",
    "growth",
    "rates",
    "trade",
    "bank",
    "policy",
    "data",
    "report",
    "economy",
    "minister",
    "company",
    "sector",
    "global",
]


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(n))


def make_reports(n: int, seed: int = 7) -> tuple[list[tuple], dict[str, str]]:
    """n reports as (id, at, title, summary) and their true story ids."""
    rng = random.Random(seed)
    topics = [_word(rng, 3) for _ in range(6000)]
    names = [_word(rng, 2).capitalize() + _word(rng, 2) for _ in range(3000)]
    reports: list[tuple] = []
    truth: dict[str, str] = {}
    at = START
    story = 0
    while len(reports) < n:
        story += 1
        at += timedelta(minutes=rng.expovariate(1 / 40))  # ~36 stories and ~150 reports a day
        words = rng.sample(topics, 5) + rng.sample(names, 2)
        for k in range(min(rng.randint(2, 8), n - len(reports))):
            when = at + timedelta(minutes=rng.randint(0, 360))
            title_words = rng.sample(words, 4) + rng.sample(COMMON, 3)
            rng.shuffle(title_words)
            body = rng.sample(words, 5) + rng.sample(COMMON, 8) + rng.sample(topics, 4)
            rid = f"s{story}-r{k}"
            reports.append((rid, when, " ".join(title_words), " ".join(body)))
            truth[rid] = f"s{story}"
    return reports, truth


def naive_cluster(reports: list[tuple], settings: ClusterSettings) -> dict[str, str]:
    """Baseline: every report is compared with every earlier event (all pairs, no index)."""
    vocab = Vocabulary()
    counted = [(rid, at, term_counts(t, s, settings)) for rid, at, t, s in reports]
    for _, _, c in counted:
        vocab.add(c)
    counted.sort(key=lambda r: (r[1], r[0]))
    clusters: list[Cluster] = []
    out = {}
    for rid, at, c in counted:
        vec = weigh(c, vocab)
        best, score = None, 0.0
        for cluster in clusters:
            s = cluster.similarity(vec)
            if s > score:
                best, score = cluster, s
        if best is not None and score >= settings.threshold:
            best.add(vec, at)
            out[rid] = best.key
        else:
            cluster = Cluster(key=rid, first_at=at)
            cluster.add(vec, at)
            clusters.append(cluster)
            out[rid] = rid
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(kind: str, n: int, queue: mp.Queue) -> None:
    reports, truth = make_reports(n)
    settings = ClusterSettings()
    base_rss = _peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if kind == "indexed":
        predicted = cluster_reports(reports, settings)
    else:
        predicted = naive_cluster(reports, settings)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    p, r, f = bcubed(truth, predicted)
    queue.put(
        {
            "kind": kind,
            "n": n,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": _peak_rss_mb(),
            "rss_growth_mb": _peak_rss_mb() - base_rss,
            "events": len(set(predicted.values())),
            "f1": f,
            "precision": p,
            "recall": r,
        }
    )


def _measure_store(n: int, queue: mp.Queue) -> None:
    import polars as pl

    from pipelines import store
    from pipelines.articles import ARTICLE_COLUMNS, text_hash
    from pipelines.config import load_config
    from pipelines.enrich import run_enrichment

    reports, _ = make_reports(n)
    rows = [
        {
            "article_id": rid,
            "outlet": f"outlet{hash(rid) % 40}",
            "url": None,
            "canonical_url": None,
            "guid": rid,
            "title": title,
            "summary": summary,
            "published_at": at,
            "published_precision": "second",
            "fetched_at": at,
            "feed": "bench",
            "language": "en",
            "text_hash": text_hash(title, summary),
            "feed_tags": None,
        }
        for rid, at, title, summary in reports
    ]
    frame = pl.DataFrame(rows, schema=ARTICLE_COLUMNS)
    config = load_config(Path(__file__).resolve().parent.parent / "tickerwire.toml")
    with tempfile.TemporaryDirectory() as tmp, store.writer(Path(tmp) / "b.duckdb") as writer:
        store.commit_batch(writer, "bench", "k", {"articles": frame})
        t0, c0 = time.perf_counter(), time.process_time()
        counts = run_enrichment(writer, config)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    queue.put(
        {
            "kind": "store",
            "n": n,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": _peak_rss_mb(),
            **counts,
        }
    )


def run(target, *args) -> dict:
    """Run one measurement in a fresh process and return its result."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    """Measure, then print a table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument("--store", type=int, default=0, help="also time run_enrichment on N")
    args = parser.parse_args()
    sizes = [2_000, 5_000] if args.quick else [10_000, 30_000, 100_000]
    base_sizes = [1_000, 2_000] if args.quick else [2_000, 4_000]

    results = [run(_measure, "naive", n) for n in base_sizes]
    results += [run(_measure, "indexed", n) for n in base_sizes + sizes]
    if args.store:
        results.append(run(_measure_store, args.store))

    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"{'clusterer':<10}{'reports':>9}{'wall s':>9}{'CPU s':>8}{'µs/report':>11}"
        f"{'peak RSS MB':>13}{'events':>9}{'B3 F1':>8}"
    )
    for r in results:
        f1 = f"{r['f1']:.3f}" if "f1" in r else "-"
        events = r.get("events", r.get("events_created", "-"))
        print(
            f"{r['kind']:<10}{r['n']:>9}{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}"
            f"{1e6 * r['cpu_s'] / r['n']:>11.1f}{r['peak_rss_mb']:>13.0f}{events:>9}{f1:>8}"
        )
    by = {(r["kind"], r["n"]): r for r in results}
    # Ratios on CPU time: the machine is shared, so wall time carries other people's load.
    for n in base_sizes:
        ratio = by[("naive", n)]["cpu_s"] / by[("indexed", n)]["cpu_s"]
        print(f"speed-up over naive all-pairs at {n}: {ratio:.1f}x (CPU time)")
    lo, hi = base_sizes
    naive_growth = by[("naive", hi)]["cpu_s"] / by[("naive", lo)]["cpu_s"]
    print(f"naive growth {lo}→{hi} (x{hi / lo:.1f} reports): x{naive_growth:.2f} CPU time")
    small, large = sizes[0], sizes[-1]
    growth = by[("indexed", large)]["cpu_s"] / by[("indexed", small)]["cpu_s"]
    print(
        f"indexed growth {small}→{large} (x{large / small:.1f} reports): x{growth:.2f} CPU time "
        f"(linear would be x{large / small:.1f})"
    )
    if not args.quick:
        top = by[("indexed", 100_000)]
        verdict = "meets" if top["wall_s"] < 30 else "MISSES"
        print(
            f"100k reports: {top['wall_s']:.1f} s wall, {top['cpu_s']:.1f} s CPU — wall time "
            f"{verdict} the 30 s target"
        )


if __name__ == "__main__":
    main()
