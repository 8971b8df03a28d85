-- Strip prices from bars for instruments without a quote: the close of the newest bar ($last_ts
-- per instrument, from coverage) and its change against the last close at least 24 h earlier.
with wanted as (
    select unnest($ids) as instrument_id, unnest($timeframes) as timeframe,
           unnest($last_ts)::timestamptz as last_ts
),
recent as (
    select b.instrument_id, b.ts, b.close, w.last_ts
    from bars b
    join wanted w on w.instrument_id = b.instrument_id and w.timeframe = b.timeframe
    where b.ts >= $since::timestamptz
      and b.ts >= w.last_ts - interval 2 day
),
final as (
    select instrument_id,
           max(ts) as priced_at,
           arg_max(close, ts) as price,
           100 * (arg_max(close, ts) / arg_max(close, ts) filter (where ts <= last_ts - interval 1 day) - 1)
               as change_pct
    from recent
    group by instrument_id
)
select * from final;
