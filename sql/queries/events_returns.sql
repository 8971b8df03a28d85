-- Returns from the anchor P(t0) to P(t0 + h) for each horizon h, with a z-score against the
-- instrument's own per-bar volatility over the 5 days before the event (scaled by sqrt(h/bar)).
-- A price whose bar closed more than $stale_bars bars before the instant is stale -> missing.
-- An event while the instrument's market is closed (tw_in_session) is anchored at the last
-- close before it, and gets one more row, 'at reopen, Mon 00:00 UTC': the return to the first
-- bar closed after the market reopened (no z: closed hours have no per-bar volatility scale).
with calendars as (
    select i.instrument_id, coalesce(ins.calendar, '24/7') as calendar,
           not coalesce(tw_in_session(coalesce(ins.calendar, '24/7'), $t0::timestamptz), true)
               as closed_at_t0
    from (select unnest($ids) as instrument_id) i
    left join instruments ins using (instrument_id)
),
reopens as (
    select c.instrument_id,
           (select min(s.open_at) from sessions s
            where s.calendar = c.calendar and s.open_at > $t0::timestamptz) as reopen_at
    from calendars c
    where c.closed_at_t0
),
closes as (
    select instrument_id, timeframe, ts + to_seconds($tf_s) as close_at, close
    from bars
    where instrument_id in (select unnest($ids)) and timeframe = $timeframe
      and ts >= $t0::timestamptz - interval 5 day - to_seconds($tf_s)
      and ts < $t0::timestamptz + to_seconds($max_h_s) + interval 4 day  -- room for a reopen
),
bar_returns as (
    select instrument_id, close_at,
           ln(close / lag(close) over (partition by instrument_id order by close_at)) as r
    from closes
),
volatility as (
    select instrument_id, stddev_samp(r) as sigma, count(r) as n_estimation
    from bar_returns
    where close_at <= $t0::timestamptz
    group by instrument_id
),
horizons as (
    select unnest($labels) as horizon, unnest($secs) as secs
    union all
    select 'anchor', 0
),
reopen_targets as (
    -- the first bar closed after the reopen
    select r.instrument_id,
           'at reopen, ' || strftime(r.reopen_at, '%a %H:%M') || ' UTC' as horizon,
           min(c.close_at) as first_close_at
    from reopens r
    join closes c on c.instrument_id = r.instrument_id and c.close_at > r.reopen_at
    group by r.instrument_id, r.reopen_at
),
targets as (
    select i.instrument_id, $timeframe as timeframe, $tf_s as tf_s, h.horizon, h.secs,
           $t0::timestamptz + to_seconds(h.secs) as at
    from (select unnest($ids) as instrument_id) i
    cross join horizons h
    union all
    select instrument_id, $timeframe, $tf_s, horizon,
           epoch(first_close_at - $t0::timestamptz)::bigint, first_close_at
    from reopen_targets
),
priced as (
    -- P(t) by the one as-of rule (tw_prices_at); the anchor of news while the market is shut
    -- is its last close, however old
    select p.instrument_id, p.horizon, p.secs, p.at, p.close, p.close_at,
           p.fresh or (p.horizon = 'anchor' and p.market_closed) as fresh,
           p.horizon like 'at reopen%' as at_reopen
    from tw_prices_at(targets, closes, $stale_bars) p
),
anchored as (
    select p.instrument_id, p.horizon, p.secs, p.close, p.close_at, p.at_reopen,
           a.close as p0,
           -- a horizon priced by the anchor's own bar (shorter than the bar, or no bar closed
           -- since t0) measures nothing: blank, not a 0 % return
           coalesce(p.fresh and a.fresh and p.close_at > a.close_at, false) as usable
    from priced p
    join priced a on a.instrument_id = p.instrument_id and a.horizon = 'anchor'
    where p.horizon <> 'anchor'
),
final as (
    select x.instrument_id, x.horizon, x.secs,
           case when x.usable then 100 * (x.close / x.p0 - 1) end as ret_pct,
           case when x.usable and v.sigma > 0 and not x.at_reopen
                then ln(x.close / x.p0) / (v.sigma * sqrt(x.secs / $tf_s)) end as z,
           x.close_at as priced_at, v.sigma, v.n_estimation
    from anchored x
    left join volatility v using (instrument_id)
)
select * from final
order by instrument_id, secs;
