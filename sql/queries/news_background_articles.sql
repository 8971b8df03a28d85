-- The most recent enriched reports: a background sample for word frequencies.
with recent as (
    select title, summary
    from articles
    where enriched_at is not null
      and duplicate_of is null
    order by published_at desc
    limit $n
),
final as (
    select * from recent
)
select * from final
