-- Articles matching words (title or summary), an outlet, a sentiment range, an instrument
-- (through the events they belong to) and a span; with the event each belongs to.
with matched as (
    select a.*
    from articles a
    where coalesce(a.published_at, a.fetched_at) >= $start::timestamptz
      and coalesce(a.published_at, a.fetched_at) < $end::timestamptz
      and ($outlet is null or a.outlet = $outlet)
      and ($min_sentiment is null or a.sentiment >= $min_sentiment)
      and ($max_sentiment is null or a.sentiment <= $max_sentiment)
      and len(list_filter($words, lambda w:
              coalesce(a.title, '') || ' ' || coalesce(a.summary, '') not ilike '%' || w || '%')) = 0
      and ($instrument is null or exists (
          select 1 from event_articles ea
          join event_instruments ei using (event_id)
          where ea.article_id = a.article_id and ei.instrument_id = $instrument))
),
with_event as (
    select m.*, ea.event_id, e.category
    from matched m
    left join event_articles ea using (article_id)
    left join events e using (event_id)
    qualify row_number() over (partition by m.article_id order by e.event_at desc nulls last) = 1
),
final as (
    select article_id, published_at, outlet, title, url, sentiment, published_precision,
           event_id, category, count(*) over () as n_matched
    from with_event
    where ($category is null or category = $category)
)
select * from final
order by published_at desc nulls last, article_id
limit $limit;
