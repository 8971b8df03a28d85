-- Per instrument and timeframe: bar count and span (drives timeframe choice and ranges).
with coverage as (
    select instrument_id, timeframe, count(*) as n_bars, min(ts) as first_ts, max(ts) as last_ts
    from bars
    group by instrument_id, timeframe
),
final as (
    select c.instrument_id, c.timeframe, c.n_bars, c.first_ts, c.last_ts,
           i.display_name, i.asset_class, i.calendar, coalesce(i.available, true) as available
    from coverage c
    left join instruments i using (instrument_id)
)
select * from final
order by instrument_id, timeframe;
