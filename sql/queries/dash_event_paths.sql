-- Price paths of instruments around $t0 in event time (minutes), rebased to 0 % at the anchor:
-- the close of the last bar whose close time is at or before $t0 (DESIGN §4).
with closes as (
    select instrument_id, ts + to_seconds($tf_s) as close_at, close
    from bars
    where instrument_id in (select unnest($ids)) and timeframe = $timeframe
      and ts >= $t0::timestamptz - to_seconds($before_s + $anchor_s)
      and ts < $t0::timestamptz + to_seconds($after_s)
),
anchor as (
    select instrument_id, arg_max(close, close_at) as p0, max(close_at) as p0_at
    from closes
    where close_at <= $t0::timestamptz
    group by instrument_id
),
final as (
    select c.instrument_id, (epoch(c.close_at) - epoch($t0::timestamptz)) / 60.0 as minutes,
           epoch_ms(c.close_at) as t_ms, c.close, 100 * (c.close / a.p0 - 1) as ret_pct,
           a.p0, a.p0_at
    from closes c
    join anchor a using (instrument_id)
    where c.close_at >= $t0::timestamptz - to_seconds($before_s)
)
select * from final
order by instrument_id, minutes;
