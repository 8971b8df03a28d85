-- Some instruments' bars on one timeframe between two instants (bar open times, inclusive):
-- the bar range an intraday study needs around its events. Bars are stored in time order, so
-- DuckDB's zone maps on ts skip the row groups outside the range. `i` is the instrument's
-- 1-based position in $instrument_ids (cheaper to hand over than its name on every row).
-- Binds $instrument_ids (varchar[]), $timeframe, $lo, $hi (timestamptz).
with final as (
    select list_position($instrument_ids, instrument_id)::integer as i,
           epoch_us(ts) as ts_us, close
    from bars
    where list_contains($instrument_ids, instrument_id) and timeframe = $timeframe
      and ts between $lo and $hi
)
select * from final
