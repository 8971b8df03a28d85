-- Abnormal returns per (pair, offset) for the estimation and event windows.
-- Models ($model): 'constant' (mean estimation-window return), 'market-adjusted' (benchmark
-- return), 'market' (OLS α + β·benchmark on the estimation window's complete cases).
-- Inputs: temp tables study_aligned(pair_id, k, grid_at, price, ret, role) and
-- study_pairs(pair_id, bench_pair_id, is_target). The benchmark is matched on the same instant
-- (intraday grid point, or the same trading date for daily studies).
with target_rows as (
    select a.pair_id, p.bench_pair_id, a.k, a.grid_at, a.price, a.ret, a.role
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and p.is_target
    where a.role is not null
),
with_benchmark as (
    select t.*, m.ret as mret
    from target_rows t
    left join study_aligned m on m.pair_id = t.bench_pair_id and m.grid_at = t.grid_at
),
fit as (
    -- one row per target pair: the model's parameters from its estimation window
    select pair_id,
           count(ret) as n_ret,
           avg(ret) as mean_ret,
           regr_count(ret, mret) as n_complete,
           regr_intercept(ret, mret) as alpha,
           regr_slope(ret, mret) as beta
    from with_benchmark
    where role = 'estimation'
    group by pair_id
),
benchmark_window as (
    -- the benchmark's own estimation-window returns (all of them, as Patell's correction uses)
    select p.pair_id,
           avg(m.ret) as m_mean,
           sum(m.ret * m.ret) - sum(m.ret) * sum(m.ret) / nullif(count(m.ret), 0) as m_sxx
    from study_pairs p
    join study_aligned m on m.pair_id = p.bench_pair_id and m.role = 'estimation'
    where p.is_target
    group by p.pair_id
),
expected as (
    select w.*,
           f.n_ret, f.n_complete, f.alpha, f.beta, f.mean_ret,
           bw.m_mean, bw.m_sxx,
           case $model
               when 'constant' then f.mean_ret
               when 'market-adjusted' then w.mret
               when 'market' then f.alpha + f.beta * w.mret
           end as expected
    from with_benchmark w
    left join fit f using (pair_id)
    left join benchmark_window bw using (pair_id)
),
final as (
    select pair_id, k, grid_at, role, price, ret, mret, expected,
           ret - expected as ar,
           case $model when 'constant' then n_ret else n_complete end as n_estimation,
           case $model when 'constant' then mean_ret when 'market' then alpha else 0.0 end as alpha,
           case $model when 'market' then beta when 'market-adjusted' then 1.0 else 0.0 end as beta,
           m_mean, m_sxx
    from expected
)
select * from final
