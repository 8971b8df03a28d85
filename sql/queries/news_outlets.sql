-- Outlets with how many articles each published.
with final as (
    select outlet, count(*) as n_articles
    from articles
    where outlet is not null
    group by outlet
)
select * from final
order by n_articles desc, outlet;
