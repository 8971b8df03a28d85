-- Event categories with how many events each holds.
with final as (
    select coalesce(category, 'uncategorised') as category, count(*) as n_events
    from events
    group by 1
)
select * from final
order by n_events desc, category;
