-- Per instrument of one timeframe: the move from the close $window_s seconds before its newest
-- close to that newest close, for newest closes at or after $since (fresh data only).
-- $ids, $timeframe, $tf_s, $window_s, $since.
with closes as (
    select instrument_id, ts + to_seconds($tf_s) as close_at, close
    from bars
    where instrument_id in (select unnest($ids)) and timeframe = $timeframe
      and close > 0
),
newest as (
    select instrument_id, max(close_at) as last_at
    from closes
    group by instrument_id
),
last_close as (
    select c.instrument_id, c.close_at as last_at, c.close as last_close
    from closes c
    join newest n on c.instrument_id = n.instrument_id and c.close_at = n.last_at
    where n.last_at >= $since::timestamptz
),
base as (
    -- the last close at or before (newest − window): the price the move is measured from
    select l.instrument_id, max(c.close_at) as base_at
    from last_close l
    join closes c on c.instrument_id = l.instrument_id
     and c.close_at <= l.last_at - to_seconds($window_s)
    group by l.instrument_id
),
final as (
    select l.instrument_id, l.last_at, l.last_close, b.base_at, c.close as base_close,
           100 * (l.last_close / c.close - 1) as move_pct
    from last_close l
    join base b using (instrument_id)
    join closes c on c.instrument_id = b.instrument_id and c.close_at = b.base_at
)
select * from final
order by instrument_id;
