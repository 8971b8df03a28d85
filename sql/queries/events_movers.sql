-- For each event in $event_ids: the instrument that moved most (absolute %) from P(t0) to
-- P(t0 + $horizon_s). Linked instruments (event_instruments) that have bars here when the event
-- has any, else every instrument in $inst_ids (a story linked only to a stock the file has no
-- bars for still gets a mover). Each instrument is read on its own timeframe ($inst_tfs, $inst_tf_s).
with ev as (
    select event_id, event_at
    from events
    where event_id in (select unnest($event_ids))
),
frames as (
    select unnest($inst_ids) as instrument_id, unnest($inst_tfs) as timeframe,
           unnest($inst_tf_s) as tf_s
),
linked as (
    select ev.event_id, ei.instrument_id
    from ev
    join event_instruments ei using (event_id)
    where ei.instrument_id in (select instrument_id from frames)
),
pairs as (
    select event_id, instrument_id from linked
    union all
    select ev.event_id, f.instrument_id
    from ev
    cross join frames f
    where ev.event_id not in (select event_id from linked)
),
targets as (
    select p.event_id, p.instrument_id, f.timeframe, f.tf_s, leg.name as leg,
           ev.event_at + to_seconds(leg.secs) as at
    from pairs p
    join ev using (event_id)
    join frames f using (instrument_id)
    cross join (select 'p0' as name, 0 as secs union all select 'p1', $horizon_s) leg
),
closes as (
    select b.instrument_id, b.timeframe, b.ts + to_seconds(f.tf_s) as close_at, b.close
    from bars b
    join frames f on f.instrument_id = b.instrument_id and f.timeframe = b.timeframe
    where b.ts >= $lo::timestamptz and b.ts <= $hi::timestamptz
),
priced as (
    -- P(t) by the one as-of rule (tw_prices_at): a stale price is missing
    select event_id, instrument_id, leg, case when fresh then close end as price
    from tw_prices_at(targets, closes, $stale_bars)
),
moves as (
    select event_id, instrument_id,
           100 * (max(price) filter (where leg = 'p1') / max(price) filter (where leg = 'p0') - 1) as ret_pct
    from priced
    group by event_id, instrument_id
),
final as (
    select event_id, arg_max(instrument_id, abs(ret_pct)) as top_instrument,
           arg_max(ret_pct, abs(ret_pct)) as top_ret_pct, count(ret_pct) as n_priced
    from moves
    where ret_pct is not null
    group by event_id
)
select * from final;
