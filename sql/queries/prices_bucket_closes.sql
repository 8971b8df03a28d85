-- Last close per time bucket for several instruments (each on its own timeframe), in [$start, $end).
with frames as (
    select unnest($inst_ids) as instrument_id, unnest($inst_tfs) as timeframe
),
src as (
    select b.instrument_id, b.ts, b.close
    from bars b
    join frames f on f.instrument_id = b.instrument_id and f.timeframe = b.timeframe
    where b.ts >= $start::timestamptz and b.ts < $end::timestamptz
),
final as (
    select instrument_id,
           epoch_ms(time_bucket(to_seconds($bucket_s), ts, $start::timestamptz)) as t_ms,
           arg_max(close, ts) as close
    from src
    group by all
)
select * from final
order by instrument_id, t_ms;
