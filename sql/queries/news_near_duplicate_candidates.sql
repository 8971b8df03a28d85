-- Enriched originals (not themselves copies) published in [$lo, $hi]: what a pending report may copy.
with originals as (
    select article_id, published_at, title, summary
    from articles
    where enriched_at is not null
      and duplicate_of is null
      and published_at between $lo and $hi
),
final as (
    select * from originals
)
select * from final
order by published_at, article_id
