"""Enrichment: articles → events (clustering), instruments (entities), policy tags, sentiment.

Entry point for refresh and imports: `run_enrichment(writer) -> dict of counts`. It is
incremental: it reads only articles not yet enriched, lets each join an existing event within
the clustering horizon or start a new one, and never re-clusters history.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import polars as pl

from pipelines.config import Config, load_config
from pipelines.enrich.cluster import (
    Clusterer,
    ClusterSettings,
    Vocabulary,
    term_counts,
    weigh,
)
from pipelines.enrich.countries import CountryFinder
from pipelines.enrich.entities import EntityMatcher, combine
from pipelines.enrich.near_duplicates import NearDuplicateSettings, find_near_duplicates
from pipelines.enrich.policy import PolicyTagger
from pipelines.enrich.sentiment import SentimentScorer
from pipelines.schemas import EVENT_ARTICLE_SCHEMA, EVENT_INSTRUMENT_SCHEMA, UTC_TS
from pipelines.store import Store, load_sql, query_frame

__all__ = ["run_enrichment", "event_id_for"]

COUNT_KEYS = (
    "articles_pending",
    "duplicates",
    "articles_clustered",
    "events_created",
    "events_joined",
    "instrument_links",
)


def event_id_for(first_article_id: str) -> str:
    """The id of an event started by this article (stable across runs)."""
    return "ev-" + hashlib.sha1(first_article_id.encode()).hexdigest()[:16]


def run_enrichment(
    writer: Store, config: Config | None = None, *, now: datetime | None = None
) -> dict[str, int]:
    """Enrich every article not seen yet; returns counts (pending, duplicates, events created …)."""
    config = config if config is not None else load_config()
    now = now or datetime.now(UTC)
    settings = ClusterSettings.from_config(config)
    matcher = EntityMatcher.from_config(config)
    tagger = PolicyTagger.from_config(config)
    scorer = SentimentScorer.from_config(config)
    counts = dict.fromkeys(COUNT_KEYS, 0)

    pending = query_frame(writer.con, load_sql("news_pending_articles"))
    counts["articles_pending"] = pending.height
    if pending.height == 0:
        return counts

    duplicate_of = _find_duplicates(writer, pending)
    counts["duplicates"] = len(duplicate_of)
    fresh = pending.filter(~pl.col("article_id").is_in(list(duplicate_of)))
    context, links, created = _cluster(writer.con, fresh, settings, now)
    touched = {key for key, _ in links}
    counts["articles_clustered"] = len(links)
    counts["events_created"] = created
    counts["events_joined"] = len(links) - created

    article_updates = _article_updates(pending, duplicate_of, tagger, scorer, now)
    instrument_rows, countries = _event_entities(touched, context, fresh, links, matcher)
    counts["instrument_links"] = instrument_rows.height
    _commit(writer, article_updates, links, touched, countries, instrument_rows, tagger, now)
    return counts


def _cluster(
    con, fresh: pl.DataFrame, settings: ClusterSettings, now: datetime
) -> tuple[pl.DataFrame, list[tuple[str, str]], int]:
    """Assign each fresh report to an event: (the context events' reports, links, events created)."""
    # The history new reports may join: events starting within the horizon of this batch.
    lo = fresh["published_at"].min() - settings.horizon if fresh.height else now
    hi = fresh["published_at"].max() + settings.horizon if fresh.height else now
    context = query_frame(con, load_sql("news_context_events"), {"lo": lo, "hi": hi})
    background = query_frame(
        con, load_sql("news_background_articles"), {"n": settings.background_articles}
    )

    vocab = Vocabulary()
    fresh_counts = [
        term_counts(t, s, settings) for t, s in fresh.select("title", "summary").iter_rows()
    ]
    context_counts = [
        term_counts(t, s, settings) for t, s in context.select("title", "summary").iter_rows()
    ]
    for c in fresh_counts:
        vocab.add(c)
    for t, s in background.iter_rows():
        vocab.add(term_counts(t, s, settings))

    clusterer = Clusterer(settings)
    members: dict[str, list] = {}
    for row, c in zip(context.iter_rows(named=True), context_counts, strict=True):
        members.setdefault(row["event_id"], []).append((row["published_at"], weigh(c, vocab)))
    for event_id, vecs in members.items():
        clusterer.seed(event_id, vecs)

    links: list[tuple[str, str]] = []
    created_n = 0
    for row, c in zip(fresh.iter_rows(named=True), fresh_counts, strict=True):
        new_id = event_id_for(row["article_id"])
        key, created, _ = clusterer.assign(new_id, row["published_at"], weigh(c, vocab))
        links.append((key, row["article_id"]))
        created_n += bool(created)
    return context, links, created_n


def _commit(
    writer: Store,
    article_updates: pl.DataFrame,
    links: list[tuple[str, str]],
    touched: set[str],
    countries: dict[str, list[str]],
    instrument_rows: pl.DataFrame,
    tagger: PolicyTagger,
    now: datetime,
) -> None:
    """Write the article updates, links and the touched events' rollups in one transaction."""
    con = writer.con
    con.execute("begin transaction")
    try:
        _apply_article_updates(writer, article_updates)
        writer.upsert(
            "event_articles",
            pl.DataFrame(links, schema=EVENT_ARTICLE_SCHEMA, orient="row"),
            in_transaction=True,
        )
        touched_frame = pl.DataFrame({"event_id": sorted(touched)}, schema={"event_id": pl.Utf8})
        con.register("touched_events", touched_frame.to_arrow())
        try:
            events = query_frame(
                con,
                load_sql("news_event_rollup"),
                {"policy_categories": sorted(tagger.lexicon)},
            )
        finally:
            con.unregister("touched_events")
        country_frame = pl.DataFrame(
            {"event_id": list(countries), "countries": list(countries.values())},
            schema={"event_id": pl.Utf8, "countries": pl.List(pl.Utf8)},
        )
        events = events.join(country_frame, on="event_id", how="left").with_columns(
            pl.lit(now, dtype=UTC_TS).alias("updated_at")
        )
        writer.upsert("events", events, in_transaction=True)
        writer.upsert("event_instruments", instrument_rows, in_transaction=True)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _find_duplicates(writer: Store, pending: pl.DataFrame) -> dict[str, str]:
    """Pending article → the earlier article with the same normalised text (stored or pending)."""
    con = writer.con
    hashes = pending.select("text_hash").drop_nulls().unique()
    con.register("pending_hashes", hashes.to_arrow())
    try:
        stored = query_frame(con, load_sql("news_duplicate_hashes"))
    finally:
        con.unregister("pending_hashes")
    original = dict(zip(stored["text_hash"], stored["original_id"], strict=True))
    out: dict[str, str] = {}
    for article, digest in pending.select("article_id", "text_hash").iter_rows():
        if digest is None:
            continue
        if digest in original:
            out[article] = original[digest]
        else:
            original[digest] = article  # pending is in time order: the first copy is the original
    out.update(_near_duplicates(writer, pending.filter(~pl.col("article_id").is_in(list(out)))))
    return out


def _near_duplicates(writer: Store, pending: pl.DataFrame) -> dict[str, str]:
    """Pending article → the original it copies with a few words changed (MinHash/LSH)."""
    if pending.height == 0:
        return {}
    settings = NearDuplicateSettings()
    lo = pending["published_at"].min() - settings.horizon
    hi = pending["published_at"].max() + settings.horizon
    earlier = query_frame(
        writer.con, load_sql("news_near_duplicate_candidates"), {"lo": lo, "hi": hi}
    )
    columns = ["article_id", "published_at", "title", "summary"]
    return find_near_duplicates(
        pending.select(columns).iter_rows(), earlier.select(columns).iter_rows(), settings
    )


def _article_updates(
    pending: pl.DataFrame,
    duplicate_of: dict[str, str],
    tagger: PolicyTagger,
    scorer: SentimentScorer,
    now: datetime,
) -> pl.DataFrame:
    rows = []
    for article, title, summary, feed_tags in pending.select(
        "article_id", "title", "summary", "feed_tags"
    ).iter_rows():
        text = f"{title}\n{summary or ''}"
        rows.append(
            {
                "article_id": article,
                "sentiment": scorer.score(text),
                "tags": sorted(set(tagger.tag(title, summary)) | set(feed_tags or [])),
                "duplicate_of": duplicate_of.get(article),
                "enriched_at": now,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "article_id": pl.Utf8,
            "sentiment": pl.Float64,
            "tags": pl.List(pl.Utf8),
            "duplicate_of": pl.Utf8,
            "enriched_at": UTC_TS,
        },
    )


def _apply_article_updates(writer: Store, updates: pl.DataFrame) -> None:
    con = writer.con
    con.register("article_updates", updates.to_arrow())
    try:
        con.execute(
            """update articles set sentiment = u.sentiment, tags = u.tags,
                   duplicate_of = u.duplicate_of, enriched_at = u.enriched_at
               from article_updates u where articles.article_id = u.article_id"""
        )
    finally:
        con.unregister("article_updates")


def _event_entities(
    touched: set[str],
    context: pl.DataFrame,
    fresh: pl.DataFrame,
    links: list[tuple[str, str]],
    matcher: EntityMatcher,
) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """For every touched event, from all of its reports: event_instruments rows and countries."""
    texts: dict[str, tuple[str, str | None]] = {}
    members: dict[str, list[str]] = {}
    for event_id, article, title, summary in context.select(
        "event_id", "article_id", "title", "summary"
    ).iter_rows():
        if event_id in touched:
            texts[article] = (title, summary)
            members.setdefault(event_id, []).append(article)
    for article, title, summary in fresh.select("article_id", "title", "summary").iter_rows():
        texts[article] = (title, summary)
    for event_id, article in links:
        members.setdefault(event_id, []).append(article)
    finder = CountryFinder()
    rows = []
    countries: dict[str, list[str]] = {}
    for event_id, articles in members.items():
        found = combine([matcher.find(*texts[a]) for a in articles])
        for instrument, (reason, confidence) in found.items():
            rows.append((event_id, instrument, reason, confidence))
        named: set[str] = set()
        for a in articles:
            named |= finder.find(*texts[a])
        countries[event_id] = sorted(named)
    frame = pl.DataFrame(rows, schema=EVENT_INSTRUMENT_SCHEMA, orient="row")
    return frame, countries
