-- What a retention pass would change: fine bars older than $cutoff, the coarse buckets they
-- make, and how many of those buckets already hold a native coarse bar (kept as they are).
with old as (
    select instrument_id, to_timestamp(floor(epoch(ts) / $to_s) * $to_s) as bucket
    from bars
    where timeframe = $from_tf and ts < $cutoff
),
buckets as (
    select instrument_id, bucket, count(*) as n
    from old
    group by instrument_id, bucket
),
existing as (
    select b.instrument_id, b.bucket
    from buckets b
    join bars c on c.instrument_id = b.instrument_id and c.timeframe = $to_tf and c.ts = b.bucket
),
final as (
    select coalesce((select sum(n) from buckets), 0) as fine_bars,
           (select count(*) from buckets) - (select count(*) from existing) as buckets_to_write,
           (select count(*) from existing) as buckets_kept
)
select * from final;
