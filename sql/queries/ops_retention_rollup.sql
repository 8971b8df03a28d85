-- Roll fine bars ($from_tf) opening before $cutoff into $to_s-second bars ($to_tf):
-- first open, highest high, lowest low, last close, summed volume. Buckets that already hold
-- a native coarse bar are left alone. $cutoff is aligned to a bucket, so buckets are whole.
insert into bars (instrument_id, timeframe, ts, open, high, low, close, volume, source, ingested_at)
with old as (
    select instrument_id, ts, coalesce(open, close) as open, coalesce(high, close) as high,
           coalesce(low, close) as low, close, volume, source,
           to_timestamp(floor(epoch(ts) / $to_s) * $to_s) as bucket
    from bars
    where timeframe = $from_tf and ts < $cutoff
),
rolled as (
    select instrument_id, bucket as ts, arg_min(open, ts) as open, max(high) as high,
           min(low) as low, arg_max(close, ts) as close, sum(volume) as volume,
           arg_max(source, ts) as source
    from old
    group by instrument_id, bucket
),
final as (
    select r.instrument_id, $to_tf as timeframe, r.ts, r.open, r.high, r.low, r.close, r.volume,
           r.source, current_timestamp as ingested_at
    from rolled r
    where not exists (
        select 1 from bars c
        where c.instrument_id = r.instrument_id and c.timeframe = $to_tf and c.ts = r.ts
    )
)
select * from final;
