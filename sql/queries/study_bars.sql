-- One instrument's bars on one timeframe between two instants (bar open times, inclusive):
-- a bar range an intraday study needs around its events. Bars are stored in time order, so
-- DuckDB's zone maps on ts skip the row groups outside the range; the equality on
-- instrument_id is a scan filter (a list test is evaluated row by row: ~1.5× the read).
-- Binds $instrument_id, $timeframe, $lo, $hi (timestamptz).
with final as (
    select epoch_us(ts) as ts_us, close
    from bars
    where instrument_id = $instrument_id and timeframe = $timeframe
      and ts between $lo and $hi
)
select * from final
