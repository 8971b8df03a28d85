-- Price paths of instruments around $t0 in event time (minutes), rebased to 0 % at the anchor
-- P(t0): the as-of rule of DESIGN §4 (tw_prices_at) with the same staleness limit as the Event
-- page's returns ($stale_bars bars; the last close when the market is shut at $t0). An
-- instrument whose anchor is stale has no path: there is no price to rebase it on.
with closes as (
    select instrument_id, timeframe, ts + to_seconds($tf_s) as close_at, close
    from bars
    where instrument_id in (select unnest($ids)) and timeframe = $timeframe
      and ts >= $t0::timestamptz - to_seconds($before_s + $anchor_s)
      and ts < $t0::timestamptz + to_seconds($after_s)
),
anchor_targets as (
    select unnest($ids) as instrument_id, $timeframe as timeframe, $tf_s as tf_s,
           $t0::timestamptz as at
),
anchor as (
    select instrument_id, close as p0, close_at as p0_at
    from tw_prices_at(anchor_targets, closes, $stale_bars)
    where fresh or market_closed
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
