-- The bars of a strip's symbols with their close time (open + timeframe), to date an undated
-- strip from them ($ids: instrument ids; $tfs/$tf_secs: timeframe names and their seconds).
with sizes as (
    select unnest($tfs) as timeframe, unnest($tf_secs) as secs
),
final as (
    select b.instrument_id, b.ts + to_seconds(s.secs) as close_at, b.close
    from bars b
    join sizes s on s.timeframe = b.timeframe
    where list_contains($ids, b.instrument_id)
)
select * from final
order by instrument_id, close_at
