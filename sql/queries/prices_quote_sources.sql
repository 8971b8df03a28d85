-- Quote sources (strip snapshots, exchanges) with their newest capture time.
with final as (
    select source, max(ts) as last_ts, count(distinct instrument_id) as n_instruments
    from quotes
    group by source
)
select * from final
order by last_ts desc, source;
