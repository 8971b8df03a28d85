-- One instrument's bars of one timeframe in [$start, $end), oldest first (ts = bar open time).
with chosen as (
    select instrument_id, timeframe, ts, open, high, low, close, volume, source
    from bars
    where instrument_id = $instrument and timeframe = $timeframe
      and ts >= $start and ts < $end
),
final as (
    select * from chosen
)
select * from final
order by ts;
