-- News ingestion and enrichment columns (issue 4).
-- articles: identity and near-duplicate keys written by the sources; enrichment results.
alter table articles add column canonical_url varchar;      -- URL without tracking params, AMP, fragment
alter table articles add column guid varchar;               -- the feed's item id, if any
alter table articles add column text_hash varchar;          -- hash of normalised title + text start
alter table articles add column tags varchar[];             -- policy categories (tariffs, sanctions, ...)
alter table articles add column duplicate_of varchar;       -- article_id this one near-duplicates
alter table articles add column enriched_at timestamptz;    -- null until enrichment has seen it

-- events: lexicon sentiment (mean of its reports), policy tags, when enrichment last touched it.
alter table events add column sentiment double;
alter table events add column tags varchar[];
alter table events add column updated_at timestamptz;
