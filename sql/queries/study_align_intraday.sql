-- Event-time grid for intraday studies (DESIGN §4): for every study pair (event × instrument)
-- and offset k in [$k_lo, $k_hi], the instant grid_at = t0 + k·Δ, the as-of price P(grid_at) = close of
-- the last bar whose close time (ts + Δ) ≤ grid_at, and r_k = ln P(grid_at_k) − ln P(grid_at_{k−1}).
-- A price is missing when stale: more than $stale bar slots that should have closed are absent
-- (for session calendars only in-session slots count), or, away from the anchor (k ≠ 0), when
-- the market of a session calendar is closed at grid_at.
-- Inputs: temp relation study_pairs(pair_id, instrument_id, calendar, t0); binds $timeframe,
-- $step_us (Δ in microseconds), $k_lo, $k_hi, $stale, and the window bounds $l1 $l2 $t1 $t2.
with grid as (
    select p.pair_id, p.instrument_id, p.calendar, o.k,
           p.t0 + to_microseconds(o.k::bigint * $step_us) as grid_at
    from study_pairs p
    cross join range($k_lo, $k_hi + 1) as o(k)
),
grid_probe as (
    -- a bar whose close time is ≤ grid_at has its open ts ≤ grid_at − Δ
    select *, grid_at - to_microseconds($step_us) as latest_open
    from grid
),
priced as (
    select g.pair_id, g.calendar, g.k, g.grid_at, b.ts as bar_ts, b.close,
           (epoch_us(g.latest_open) - epoch_us(b.ts)) // $step_us as n_missing
    from grid_probe g
    asof left join (
        select instrument_id, ts, close from bars where timeframe = $timeframe
    ) b on b.instrument_id = g.instrument_id and b.ts <= g.latest_open
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
    from priced
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
