-- Articles enrichment has not seen yet, oldest first.
with pending as (
    select article_id, outlet, title, summary, published_at, published_precision, text_hash, feed_tags
    from articles
    where enriched_at is null
      and published_at is not null
),
final as (
    select * from pending
)
select * from final
order by published_at, article_id
