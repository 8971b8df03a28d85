-- Intraday prices, full rule (DESIGN §4), in SQL: the statement of the rule that the engine's
-- array alignment (pipelines/analytics/alignment.py) implements, kept for SQL readers of the
-- store and as the reference the equivalence tests hold the engine to (tests/test_study_align.py,
-- tests/test_study_sessions_props.py). For every pair and offset k in [$k_lo, $k_hi], the
-- instant grid_at = t0 + k·Δ, the as-of price P(grid_at) = close of the last bar whose close
-- time (ts + Δ) ≤ grid_at, and r_k = ln P(grid_at_k) − ln P(grid_at_{k−1}).
-- Staleness: the bars that should have closed by grid_at after the priced one are those of the
-- Δ grid opening at or after its close and at or before grid_at − Δ; a price is stale when
-- more than $stale of them are absent. On a session calendar only bars opening while the
-- market is open count (the `sessions` table: holidays, early closes and breaks included), so
-- a closed day or night is not "missing" and a gap inside open hours is.
-- Away from the anchor (k ≠ 0) a session calendar's price is missing while its market is
-- closed at grid_at itself. The anchor P(t0) is the last price known before the news, open or
-- not. In the event window, the first price after a closure takes its return from the last
-- price before it (at most back to k = $t1 − 1, with nothing but closed grid points between):
-- the reaction "at reopen", flagged by reopen_at (the instant the market reopened). Grid points
-- of the event window after the reopen but before the session's first bar has closed count as
-- closed, so that reaction is the first price made after the reopen.
-- The as-of lookup is done in two steps with the same result: bars on the Δ grid are found by
-- an equi-join on their slot number (fast); grid points without such a bar, and instruments
-- with bars off the Δ grid, go through an ASOF join.
-- Inputs: temp relation study_slow_pairs(pair_id, instrument_id, calendar, t0); table sessions;
-- binds $timeframe, $step_us (Δ in microseconds), $k_lo, $k_hi, $stale, and the window bounds
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
session_slots as (
    -- per session of a studied calendar: the Δ-grid slots opening inside it [first, end) and
    -- how many open slots came before it, so that open slots up to any slot cost one lookup
    select calendar, open_at, close_at, first_slot, end_slot,
           sum(end_slot - first_slot) over (
               partition by calendar order by open_at rows between unbounded preceding and 1 preceding
           ) as open_before
    from (
        select calendar, open_at, close_at,
               (epoch_us(open_at) + $step_us - 1) // $step_us as first_slot,
               (epoch_us(close_at) + $step_us - 1) // $step_us as end_slot
        from sessions
        where calendar in (select calendar from study_slow_pairs)
    )
    where end_slot > first_slot
),
slot_span as (
    -- the slots whose bars should have closed by grid_at after the priced bar: [lo, hi]
    select *,
           (epoch_us(bar_ts) + 2 * $step_us - 1) // $step_us as lo_slot,
           epoch_us(latest_open) // $step_us as hi_slot
    from priced
),
open_upto_hi as (
    select p.pair_id, p.k,
           coalesce(o.open_before, 0) + least(p.hi_slot + 1, o.end_slot) - o.first_slot as n
    from slot_span p
    asof join session_slots o on o.calendar = p.calendar and o.first_slot <= p.hi_slot
    where p.calendar <> '24/7' and p.bar_ts is not null
),
open_before_lo as (
    select p.pair_id, p.k,
           coalesce(o.open_before, 0) + least(p.lo_slot, o.end_slot) - o.first_slot as n
    from slot_span p
    asof join session_slots o on o.calendar = p.calendar and o.first_slot <= p.lo_slot - 1
    where p.calendar <> '24/7' and p.bar_ts is not null
),
grid_sessions as (
    -- the session open at grid_at (none while the market is closed)
    select g.pair_id, g.k, s.open_at as session_open
    from grid g
    asof join sessions s on s.calendar = g.calendar and s.open_at <= g.grid_at
    where g.calendar <> '24/7' and g.grid_at < s.close_at
),
aged as (
    select p.*,
           case
               when p.calendar = '24/7' then (epoch_us(p.latest_open) - epoch_us(p.bar_ts)) // $step_us
               when p.hi_slot < p.lo_slot then 0
               else coalesce(h.n, 0) - coalesce(l.n, 0)
           end as n_missing,
           p.calendar = '24/7' or gs.session_open is not null as market_open,
           gs.session_open
    from slot_span p
    left join open_upto_hi h on h.pair_id = p.pair_id and h.k = p.k
    left join open_before_lo l on l.pair_id = p.pair_id and l.k = p.k
    left join grid_sessions gs on gs.pair_id = p.pair_id and gs.k = p.k
),
roles as (
    select *,
           case
               when k between $l1 and $l2 then 'estimation'
               when k between $t1 and $t2 then 'event'
           end as role,
           -- in the event window, an open market whose newest bar closed before this session
           -- opened has not reacted yet: the reaction is measured at its first bar after it
           role = 'event' and k <> 0 and session_open is not null
               and bar_ts + to_microseconds($step_us) <= session_open as waiting
    from aged
),
fresh as (
    select pair_id, k, grid_at, close, role, market_open and not coalesce(waiting, false) as has_traded,
           session_open,
           bar_ts is not null and close is not null and close > 0 and n_missing <= $stale
           and (k = 0 or market_open) and not coalesce(waiting, false) as is_fresh
    from roles
),
lagged as (
    select *, case when is_fresh then ln(close) end as lnp,
           -- the last priced grid point before this one, and the last one missing while the
           -- market was open (stale or no data): a return may only bridge closed grid points
           max(case when is_fresh then k end) over back as last_priced_k,
           max(case when not is_fresh and (k = 0 or has_traded) then k end) over back as last_gap_k,
           last_value(case when is_fresh then ln(close) end ignore nulls) over back as last_lnp,
           last_value(case when is_fresh then grid_at end ignore nulls) over back as last_priced_at,
           lag(case when is_fresh then ln(close) end) over (partition by pair_id order by k) as prev_lnp
    from fresh
    window back as (partition by pair_id order by k rows between unbounded preceding and 1 preceding)
),
final as (
    select pair_id, k, grid_at,
           case when is_fresh then close end as price,
           case
               when reopens then lnp - last_lnp
               else lnp - prev_lnp
           end as ret,
           role,
           case when reopens then last_priced_at else grid_at - to_microseconds($step_us) end as prev_at,
           case when reopens then session_open end as reopen_at
    from (
        select *,
               role = 'event' and is_fresh and prev_lnp is null
               and last_priced_k is not null and last_priced_k >= $t1 - 1
               and last_priced_k < k - 1
               and (last_gap_k is null or last_gap_k < last_priced_k) as reopens
        from lagged
    )
)
select * from final
