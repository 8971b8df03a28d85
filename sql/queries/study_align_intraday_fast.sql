-- Intraday prices, fast path (DESIGN §4): the pairs whose every grid point has its own bar.
-- The bar that prices grid point k (grid_at = t0 + k·Δ; the last bar whose close ts + Δ is
-- ≤ grid_at) is the one opening in slot s0 + k − 1, where slot = open time // Δ and
-- s0 = t0 // Δ. A pair whose slot range [s0 + $k_lo − 1, s0 + $k_hi − 1] holds exactly one
-- on-grid bar per slot is priced from those bars directly: nothing is stale or missing, and an
-- ASOF lookup would find the same bars. Every other pair (gaps, closed sessions, bars off the
-- Δ grid, no data) is left to study_align_intraday.sql, which applies the full rule.
-- Why blocks: each pair's slot range is cut into blocks of 256 slots, and bars meet their
-- pairs through a hash join on (instrument, block) whose table has a few rows per pair, so the
-- bars are scanned once and never hashed.
-- Inputs: temp relation study_pairs(pair_id, instrument_id, t0); binds $timeframe, $step_us,
-- $k_lo, $k_hi and the window bounds $l1 $l2 $t1 $t2. Output: study_aligned's columns
-- (pair_id, k, grid_at, price, ret, role) for the complete pairs only.
with pair_slots as (
    select pair_id, instrument_id, t0,
           epoch_us(t0) // $step_us as s0,
           epoch_us(t0) // $step_us + $k_lo - 1 as slot_lo,
           epoch_us(t0) // $step_us + $k_hi - 1 as slot_hi
    from study_pairs
),
pair_blocks as (
    select pair_id, instrument_id, s0, slot_lo, slot_hi,
           unnest(range(slot_lo // 256, slot_hi // 256 + 1)) as block
    from pair_slots
),
block_bars as (
    select instrument_id, ts, close, epoch_us(ts) // ($step_us::bigint * 256) as block
    from bars
    where timeframe = $timeframe
),
slot_bars as (
    select p.pair_id, epoch_us(b.ts) // $step_us - p.s0 + 1 as k, b.close,
           epoch_us(b.ts) % $step_us = 0 as on_grid
    from block_bars b
    join pair_blocks p on p.instrument_id = b.instrument_id and p.block = b.block
    where epoch_us(b.ts) // $step_us between p.slot_lo and p.slot_hi
),
complete_pairs as (
    select pair_id
    from slot_bars
    group by pair_id
    having count(*) = $k_hi - $k_lo + 1 and bool_and(on_grid)
),
priced as (
    select s.pair_id, s.k, p.t0 + to_microseconds(s.k * $step_us) as grid_at,
           case when s.close > 0 then s.close end as price
    from slot_bars s
    join complete_pairs c on c.pair_id = s.pair_id
    join pair_slots p on p.pair_id = s.pair_id
),
final as (
    select pair_id, k, grid_at, price,
           ln(price) - lag(ln(price)) over (partition by pair_id order by k) as ret,
           case
               when k between $l1 and $l2 then 'estimation'
               when k between $t1 and $t2 then 'event'
           end as role
    from priced
)
select * from final
