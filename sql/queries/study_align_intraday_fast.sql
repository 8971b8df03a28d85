-- Intraday fast path (DESIGN §4): study_paired rows (each target pair's estimation and event
-- window rows with the benchmark's return at the same grid point) for the target pairs whose
-- own series and benchmark series both have a bar in every slot of the grid and trade 24/7.
--
-- Why it is exact: the bar that prices grid point k (grid_at = t0 + k·Δ; the last bar whose
-- close ts + Δ is ≤ grid_at) is the one opening in slot s0 + k − 1, where slot = open time // Δ
-- and s0 = t0 // Δ. When each slot of [s0 + $k_lo − 1, s0 + $k_hi − 1] holds exactly one
-- on-grid bar, nothing is stale or missing and an ASOF lookup would find the same bars. Every
-- other target pair (gaps, closed sessions, bars off the Δ grid, no data) is left to
-- study_align_intraday.sql, the full rule, and then study_paired.sql.
-- Why it is fast: each series' slot range is cut into blocks of 256 slots and the bars meet
-- their series through a hash join on (instrument, block) whose table has a few rows per pair,
-- so the bars are scanned once and never hashed. A target's series and its benchmark's are
-- then ordered together by (k, is_bench) in one window: per k the target row comes right
-- after the benchmark's row of k − 1, so r_k = ln P_k − (2 rows back) and the benchmark's
-- return is (1 row ahead) − (1 row back); no join pairs them afterwards.
-- Inputs: temp relation study_pairs(pair_id, instrument_id, calendar, t0, bench_pair_id,
-- is_target);
-- binds $timeframe, $step_us, $k_lo, $k_hi and the window bounds $l1 $l2 $t1 $t2.
with targets as (
    select t.pair_id, t.instrument_id, b.instrument_id as bench_instrument_id, t.t0,
           epoch_us(t.t0) // $step_us as s0
    from study_pairs t
    left join study_pairs b on b.pair_id = t.bench_pair_id
    where t.is_target
      -- a session calendar's price is missing at closed instants even with a bar in every
      -- slot: only 24/7 series are complete by counting bars
      and t.calendar = '24/7' and coalesce(b.calendar, '24/7') = '24/7'
),
series as (
    select pair_id, instrument_id, false as is_bench, s0 from targets
    union all
    select pair_id, bench_instrument_id, true, s0 from targets
    where bench_instrument_id is not null
),
series_blocks as (
    select pair_id, instrument_id, is_bench, s0,
           s0 + $k_lo - 1 as slot_lo, s0 + $k_hi - 1 as slot_hi,
           unnest(range((s0 + $k_lo - 1) // 256, (s0 + $k_hi - 1) // 256 + 1)) as block
    from series
),
block_bars as (
    select instrument_id, ts, close, epoch_us(ts) // ($step_us::bigint * 256) as block
    from bars
    where timeframe = $timeframe
),
slot_bars as (
    select s.pair_id, s.is_bench, epoch_us(b.ts) // $step_us - s.s0 + 1 as k,
           case when b.close > 0 then b.close end as price,
           epoch_us(b.ts) % $step_us = 0 as on_grid
    from block_bars b
    join series_blocks s on s.instrument_id = b.instrument_id and s.block = b.block
    where epoch_us(b.ts) // $step_us between s.slot_lo and s.slot_hi
),
series_counts as (
    select pair_id, bool_and(on_grid) as on_grid,
           count(*) filter (where not is_bench) as n_target,
           count(*) filter (where is_bench) as n_bench
    from slot_bars
    group by pair_id
),
complete_pairs as (
    -- one on-grid bar per slot in the target's series and, if it has one, the benchmark's
    select t.pair_id
    from targets t
    join series_counts c on c.pair_id = t.pair_id
    where c.on_grid
      and c.n_target = $k_hi - $k_lo + 1
      and c.n_bench = case when t.bench_instrument_id is null then 0 else $k_hi - $k_lo + 1 end
),
ordered as (
    -- o = 2k + is_bench orders a pair's rows as target k, benchmark k, target k + 1, …
    -- (one integer sort key; only the columns the window needs)
    select s.pair_id, s.k * 2 + s.is_bench::int as o, s.price, ln(s.price) as lnp
    from slot_bars s
    semi join complete_pairs c on c.pair_id = s.pair_id
),
windowed as (
    select pair_id, o, price,
           lnp - lag(lnp, 1) over w as back_1,
           lnp - lag(lnp, 2) over w as back_2,
           lead(lnp, 1) over w - lag(lnp, 1) over w as around
    from ordered
    window w as (partition by pair_id order by o)
),
final as (
    -- with a benchmark the target's previous row is 2 back and the benchmark's return at k is
    -- its row ahead minus its row behind; without one the previous row is 1 back
    select w.pair_id, w.o // 2 as k, t.t0 + to_microseconds((w.o // 2) * $step_us) as grid_at,
           case
               when w.o // 2 between $l1 and $l2 then 'estimation'
               when w.o // 2 between $t1 and $t2 then 'event'
           end as role,
           w.price,
           case when t.bench_instrument_id is not null then w.back_2 else w.back_1 end as ret,
           case when t.bench_instrument_id is not null then w.around end as mret,
           null::timestamptz as reopen_at  -- a complete 24/7 series never reopens
    from windowed w
    join targets t on t.pair_id = w.pair_id
    where w.o % 2 = 0 and (w.o // 2 between $l1 and $l2 or w.o // 2 between $t1 and $t2)
)
select * from final
