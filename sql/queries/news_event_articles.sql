-- The reports that make up an event, first report first.
with final as (
    select a.article_id, a.published_at, epoch_ms(a.published_at) as t_ms, a.outlet, a.title,
           a.url, a.published_precision, a.sentiment, a.summary
    from event_articles ea
    join articles a using (article_id)
    where ea.event_id = $event_id
)
select * from final
order by published_at nulls last, outlet;
