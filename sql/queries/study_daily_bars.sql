-- Every bar of some instruments on one timeframe, by instrument then time: a daily study numbers
-- each instrument's trading days over its whole series, so it reads the series whole (daily
-- series are short). `i` is the instrument's 1-based position in $instrument_ids.
-- Binds $instrument_ids (varchar[]), $timeframe.
with final as (
    select list_position($instrument_ids, instrument_id)::integer as i,
           epoch_us(ts) as ts_us, close
    from bars
    where list_contains($instrument_ids, instrument_id) and timeframe = $timeframe
)
select * from final
order by i, ts_us
