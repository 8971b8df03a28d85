-- Intraday prices, full rule (DESIGN §4), for the pairs the fast path
-- (study_align_intraday_fast.sql) left: for every such pair and offset k in [$k_lo, $k_hi], the
-- instant grid_at = t0 + k·Δ, the as-of price P(grid_at) = close of the last bar whose close
-- time (ts + Δ) ≤ grid_at, and r_k = ln P(grid_at_k) − ln P(grid_at_{k−1}).
-- A price is missing when stale: more than $stale bar slots that should have closed are absent
-- (for session calendars only in-session slots count), or, away from the anchor (k ≠ 0), when
-- the market of a session calendar is closed at grid_at.
-- The as-of lookup is done in two steps with the same result: bars on the Δ grid are found by
-- an equi-join on their slot number (fast); grid points without such a bar, and instruments
-- with bars off the Δ grid, go through an ASOF join.
-- Inputs: temp relation study_slow_pairs(pair_id, instrument_id, calendar, t0); binds
-- $timeframe, $step_us (Δ in microseconds), $k_lo, $k_hi, $stale, and the window bounds
-- $l1 $l2 $t1 $t2.
with grid as (
    select p.pair_id, p.instrument_id, p.calendar, o.k,
           p.t0 + to_microseconds(o.k::bigint * $step_us) as grid_at
    from study_slow_pairs p
    cross join range($k_lo, $k_hi + 1) as o(k)
),
grid_slots as (
    -- a bar whose close time is ≤ grid_at has its open ts ≤ grid_at − Δ (latest_open)
    select *, grid_at - to_microseconds($step_us) as latest_open,
           (epoch_us(grid_at) - $step_us) // $step_us as slot
    from grid
),
aligned_bars as (
    select instrument_id, ts, close, epoch_us(ts) // $step_us as slot
    from bars
    where timeframe = $timeframe and epoch_us(ts) % $step_us = 0
      and instrument_id in (select instrument_id from study_slow_pairs)
),
off_grid_instruments as (
    select distinct instrument_id
    from bars
    where timeframe = $timeframe and epoch_us(ts) % $step_us <> 0
      and instrument_id in (select instrument_id from study_slow_pairs)
),
slot_hits as (
    select g.*, b.ts as bar_ts, b.close
    from grid_slots g
    left join aligned_bars b on b.instrument_id = g.instrument_id and b.slot = g.slot
),
misses as (
    select pair_id, instrument_id, calendar, k, grid_at, latest_open
    from slot_hits
    where bar_ts is null or instrument_id in (select instrument_id from off_grid_instruments)
),
priced as (
    select pair_id, calendar, k, grid_at, latest_open, bar_ts, close
    from slot_hits
    where bar_ts is not null and instrument_id not in (select instrument_id from off_grid_instruments)
    union all
    select m.pair_id, m.calendar, m.k, m.grid_at, m.latest_open, b.ts as bar_ts, b.close
    from misses m
    asof left join (
        select instrument_id, ts, close from bars
        where timeframe = $timeframe and instrument_id in (select instrument_id from misses)
    ) b on b.instrument_id = m.instrument_id and b.ts <= m.latest_open
),
aged as (
    select *, (epoch_us(latest_open) - epoch_us(bar_ts)) // $step_us as n_missing
    from priced
),
fresh as (
    select pair_id, k, grid_at, close,
           case
               when bar_ts is null or close is null or close <= 0 then false
               when n_missing = 0 then true
               when calendar = '24/7' then n_missing <= $stale
               else (k = 0 or tw_in_session(calendar, bar_ts + to_microseconds(n_missing * $step_us)))
                    and not (
                        n_missing > $stale
                        and list_bool_and(list_transform(
                            range(0, $stale + 1),
                            lambda j: tw_in_session(calendar, bar_ts + to_microseconds((n_missing - j) * $step_us))
                        ))
                    )
           end as is_fresh
    from aged
),
final as (
    select pair_id, k, grid_at,
           case when is_fresh then close end as price,
           case when is_fresh then ln(close) end
               - lag(case when is_fresh then ln(close) end) over (partition by pair_id order by k) as ret,
           case
               when k between $l1 and $l2 then 'estimation'
               when k between $t1 and $t2 then 'event'
           end as role
    from fresh
)
select * from final
