-- Per instrument and timeframe: rows, first/last bar, and the newest run that wrote bars.
with coverage as (
    select instrument_id, timeframe, count(*) as n_bars, min(ts) as first_ts, max(ts) as last_ts,
           max(ingested_at) as last_ingested_at
    from bars
    group by instrument_id, timeframe
),
final as (
    select i.instrument_id, coalesce(c.timeframe, '') as timeframe, coalesce(c.n_bars, 0) as n_bars,
           c.first_ts, c.last_ts, c.last_ingested_at, i.source, i.available, i.unavailable_reason
    from instruments i
    left join coverage c using (instrument_id)
    union all
    select c.instrument_id, c.timeframe, c.n_bars, c.first_ts, c.last_ts, c.last_ingested_at,
           null, null, null
    from coverage c
    where c.instrument_id not in (select instrument_id from instruments)
)
select * from final
order by instrument_id, timeframe;
