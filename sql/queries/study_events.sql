-- The events a study is about: by id, category and/or time range (all filters optional).
-- Binds $ids (varchar[], empty = any), $category, $since, $until (null = no bound).
with chosen as (
    select event_id, title, event_at, category
    from events
    where (len($ids) = 0 or list_contains($ids, event_id))
      and ($category is null or category = $category)
      and ($since is null or event_at >= $since)
      and ($until is null or event_at <= $until)
),
final as (
    select * from chosen order by event_at, event_id
)
select * from final
