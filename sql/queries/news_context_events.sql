-- Reports of the clustered (not manual) events whose first report falls in [$lo, $hi]:
-- the history a new report may join.
with window_events as (
    select event_id
    from events
    where not is_manual
      and event_at between $lo and $hi
),
final as (
    select ea.event_id, a.article_id, a.title, a.summary, a.published_at
    from event_articles ea
    join window_events w on w.event_id = ea.event_id
    join articles a on a.article_id = ea.article_id
)
select * from final
order by event_id, published_at
