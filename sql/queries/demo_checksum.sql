-- A content checksum of the demo database: md5 per table over its rows in key order
-- (tw_rows_digest, sql/views), then md5 of those. Wall-clock columns (ingested_at, fetched_at, started_at, finished_at, details) are left
-- out so that two builds of the same demo agree. Run with TimeZone = 'UTC'.
with instruments_digest as (
    select 'instruments' as tbl,
           tw_rows_digest(row(instrument_id, display_name, asset_class, source,
               venue, market_symbol, quote_currency, calendar, exchange_tz, available,
               unavailable_reason)) as digest
    from instruments
),
bars_per_series as (
    -- one digest per series first: the groups hash in parallel, far faster than one long string
    select instrument_id, timeframe,
           tw_rows_digest(row(ts, open, high, low, close, volume, source)) as digest
    from bars
    group by instrument_id, timeframe
),
bars_digest as (
    select 'bars' as tbl,
           tw_rows_digest(row(instrument_id, timeframe, digest)) as digest
    from bars_per_series
),
quotes_digest as (
    select 'quotes' as tbl,
           tw_rows_digest(row(instrument_id, ts, source, price, change_pct,
               captured_from)) as digest
    from quotes
),
articles_digest as (
    select 'articles' as tbl,
           tw_rows_digest(row(article_id, outlet, url, title, summary,
               published_at, published_precision, feed, language, sentiment)) as digest
    from articles
),
events_digest as (
    select 'events' as tbl,
           tw_rows_digest(row(event_id, title, event_at, event_at_lower,
               event_at_upper, category, countries, n_articles, n_outlets, first_outlet,
               is_manual)) as digest
    from events
),
event_articles_digest as (
    select 'event_articles' as tbl,
           tw_rows_digest(row(event_id, article_id)) as digest
    from event_articles
),
event_instruments_digest as (
    select 'event_instruments' as tbl,
           tw_rows_digest(row(event_id, instrument_id, reason, confidence)) as digest
    from event_instruments
),
meta_digest as (
    select 'meta' as tbl,
           tw_rows_digest(row(key, value)) as digest
    from meta
),
runs_digest as (
    select 'ingest_runs' as tbl,
           tw_rows_digest(row(source, status, n_read, n_stored, n_present,
               n_rejected, errors)) as digest
    from ingest_runs
),
digests as (
    select * from instruments_digest
    union all select * from bars_digest
    union all select * from quotes_digest
    union all select * from articles_digest
    union all select * from events_digest
    union all select * from event_articles_digest
    union all select * from event_instruments_digest
    union all select * from meta_digest
    union all select * from runs_digest
),
final as (
    select md5(string_agg(tbl || '=' || digest, ';' order by tbl)) as checksum
    from digests
)
select * from final;
