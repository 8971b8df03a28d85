-- Events matching words (all must appear in the title), a category, a span and an instrument.
with matched as (
    select e.*
    from events e
    where e.event_at >= $start and e.event_at < $end
      and ($category is null or e.category = $category)
      and len(list_filter($words, lambda w: e.title not ilike '%' || w || '%')) = 0
      and ($instrument is null or exists (
          select 1 from event_instruments ei
          where ei.event_id = e.event_id and ei.instrument_id = $instrument))
),
final as (
    select event_id, title, event_at, epoch_ms(event_at) as t_ms, category, n_articles,
           n_outlets, first_outlet, is_manual, count(*) over () as n_matched
    from matched
)
select * from final
order by event_at desc, event_id
limit $limit;
