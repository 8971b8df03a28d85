-- Refused input per source and reason.
with final as (
    select source, reason, count(*) as n, max(received_at) as last_at
    from rejects
    group by source, reason
)
select * from final
order by last_at desc, source, reason
limit 200;
