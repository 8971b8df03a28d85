-- Tags a feed declares in [[feeds]].tags, kept apart from the enrichment's policy tags so
-- that re-fetching a feed never resets what enrichment wrote.
alter table articles add column feed_tags varchar[];
