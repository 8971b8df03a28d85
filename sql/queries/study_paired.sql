-- Each target pair's rows of the estimation and event windows, with the benchmark's return at
-- the same instant (intraday grid point, or the same trading date for daily studies) as mret.
-- A return that bridges a market closure (reopen_at set: from the last price before the
-- closure to the first after it) is paired with the benchmark's return over the same span.
-- The statement of the pairing rule: the engine pairs as arrays (abnormal.benchmark_returns,
-- daily_arrays.benchmark_returns) and the tests hold those to this (tests/sql_oracle.py).
-- Inputs: temp tables study_aligned(pair_id, k, grid_at, price, ret, role, prev_at, reopen_at)
-- and study_pairs(pair_id, bench_pair_id, is_target).
with target_rows as (
    select a.pair_id, p.bench_pair_id, a.k, a.grid_at, a.price, a.ret, a.role, a.prev_at,
           a.reopen_at
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and p.is_target
    where a.role is not null
),
benchmark_rows as (
    select a.pair_id, a.grid_at, a.price, a.ret
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and not p.is_target
    -- no role filter: on another calendar the benchmark may index the same date differently
),
final as (
    select t.pair_id, t.k, t.grid_at, t.role, t.price, t.ret,
           case
               when t.reopen_at is null then m.ret
               else ln(m.price) - ln(m_from.price)
           end as mret,
           t.reopen_at
    from target_rows t
    left join benchmark_rows m on m.pair_id = t.bench_pair_id and m.grid_at = t.grid_at
    left join benchmark_rows m_from
        on t.reopen_at is not null and m_from.pair_id = t.bench_pair_id and m_from.grid_at = t.prev_at
)
select * from final
