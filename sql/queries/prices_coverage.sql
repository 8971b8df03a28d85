-- Per instrument and timeframe: bar count and span (the bar_coverage view) with display fields
-- (drives timeframe choice and ranges).
with final as (
    select c.instrument_id, c.timeframe, c.n_bars, c.first_ts, c.last_ts,
           i.display_name, i.asset_class, i.calendar, coalesce(i.available, true) as available
    from bar_coverage c
    left join instruments i using (instrument_id)
)
select * from final
order by instrument_id, timeframe;
