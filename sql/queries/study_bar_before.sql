-- The last bar of one instrument and timeframe opening before an instant: on a session
-- calendar a price carried across a closure may be days old and still fresh, so the bar that
-- prices a range's first grid points can lie before any fixed look-back.
-- Binds $instrument_id, $timeframe, $before (timestamptz).
with final as (
    select epoch_us(ts) as ts_us, close
    from bars
    where instrument_id = $instrument_id and timeframe = $timeframe and ts < $before
    order by ts desc
    limit 1
)
select * from final
