-- The (instrument, timeframe) series with at least one bar within [$lo, $hi]: which series can
-- show an event at all (an instrument may have 5-minute bars one year and hourly the next).
with final as (
    select distinct instrument_id, timeframe
    from bars
    where ts between $lo and $hi
)
select * from final
order by instrument_id, timeframe;
