-- Per target pair: the model fitted on its estimation window. Models ($model): 'constant'
-- (mean estimation-window return), 'market-adjusted' (α = 0, β = 1), 'market' (OLS α + β·benchmark
-- on the complete cases). Also the benchmark's own estimation-window mean and Σ(m − m̄)², which
-- Patell's prediction-error correction uses.
-- Inputs: temp tables study_aligned(pair_id, k, grid_at, price, ret, role) and
-- study_pairs(pair_id, bench_pair_id, is_target).
with target_rows as (
    select a.pair_id, p.bench_pair_id, a.grid_at, a.ret
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and p.is_target
    where a.role = 'estimation'
),
benchmark_rows as (
    select a.pair_id, a.grid_at, a.ret
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and not p.is_target
    where a.role = 'estimation'
),
with_benchmark as (
    select t.pair_id, t.ret, m.ret as mret
    from target_rows t
    left join benchmark_rows m on m.pair_id = t.bench_pair_id and m.grid_at = t.grid_at
),
fit as (
    select pair_id,
           count(ret) as n_ret,
           avg(ret) as mean_ret,
           regr_count(ret, mret) as n_complete,
           regr_intercept(ret, mret) as alpha,
           regr_slope(ret, mret) as beta
    from with_benchmark
    group by pair_id
),
benchmark_window as (
    select p.pair_id,
           avg(m.ret) as m_mean,
           sum(m.ret * m.ret) - sum(m.ret) * sum(m.ret) / nullif(count(m.ret), 0) as m_sxx
    from study_pairs p
    join benchmark_rows m on m.pair_id = p.bench_pair_id
    where p.is_target
    group by p.pair_id
),
final as (
    select p.pair_id,
           case $model when 'constant' then f.n_ret else f.n_complete end as n_estimation,
           case $model when 'constant' then f.mean_ret when 'market' then f.alpha else 0.0 end as alpha,
           case $model when 'market' then f.beta when 'market-adjusted' then 1.0 else 0.0 end as beta,
           bw.m_mean, bw.m_sxx
    from study_pairs p
    left join fit f on f.pair_id = p.pair_id
    left join benchmark_window bw on bw.pair_id = p.pair_id
    where p.is_target
)
select * from final
