-- Several instruments' bars on one timeframe in one short window (bar open times, inclusive):
-- a study whose events all fall close together (the dashboard's one event) reads them in one
-- query instead of one per instrument. `i` is the instrument's 1-based position in
-- $instrument_ids (cheaper to hand over than its name on every row).
-- Binds $instrument_ids (varchar[]), $timeframe, $lo, $hi (timestamptz).
with final as (
    select list_position($instrument_ids, instrument_id)::integer as i,
           epoch_us(ts) as ts_us, close
    from bars
    where list_contains($instrument_ids, instrument_id) and timeframe = $timeframe
      and ts between $lo and $hi
)
select * from final
