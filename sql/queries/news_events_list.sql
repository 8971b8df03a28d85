-- The event registry, newest first, with its instruments, filtered by time and category.
with chosen as (
    select *
    from events
    where ($since is null or event_at >= $since)
      and ($until is null or event_at < $until)
      and ($category is null or category = $category or list_contains(tags, $category))
),
instruments as (
    select event_id, string_agg(instrument_id, ',' order by instrument_id) as instruments
    from event_instruments
    group by event_id
),
final as (
    select c.event_id, c.event_at, c.category, c.n_articles, c.n_outlets, c.first_outlet,
           i.instruments, array_to_string(c.countries, ',') as countries, c.sentiment,
           array_to_string(c.tags, ',') as tags, c.is_manual, c.title
    from chosen c
    left join instruments i on i.event_id = c.event_id
)
select * from final
order by event_at desc, event_id
limit $limit
