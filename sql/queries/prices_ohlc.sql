-- One instrument's bars in [$start, $end), re-bucketed to $bucket_s seconds (first/max/min/last).
-- Times come back as epoch milliseconds so the chart ships numbers, not strings.
with src as (
    select ts, coalesce(open, close) as open, coalesce(high, close) as high,
           coalesce(low, close) as low, close, volume
    from bars
    where instrument_id = $instrument and timeframe = $timeframe
      and ts >= $start and ts < $end
),
bucketed as (
    select time_bucket(to_seconds($bucket_s), ts, $start::timestamptz) as bucket,
           arg_min(open, ts) as open, max(high) as high, min(low) as low,
           arg_max(close, ts) as close, sum(volume) as volume, count(*) as n_bars
    from src
    group by 1
),
final as (
    select epoch_ms(bucket) as t_ms, open, high, low, close, volume, n_bars
    from bucketed
)
select * from final
order by t_ms;
