-- Per target pair: the model fitted on its estimation window. Models ($model): 'constant'
-- (mean estimation-window return), 'market-adjusted' (α = 0, β = 1), 'market' (OLS α + β·benchmark
-- on the complete cases). Also the benchmark's own estimation-window mean and Σ(m − m̄)², which
-- Patell's prediction-error correction uses.
-- Inputs: temp tables study_paired (from study_paired.sql), study_aligned and
-- study_pairs(pair_id, bench_pair_id, is_target).
with fit as (
    select pair_id,
           count(ret) as n_ret,
           avg(ret) as mean_ret,
           regr_count(ret, mret) as n_complete,
           regr_intercept(ret, mret) as alpha,
           regr_slope(ret, mret) as beta
    from study_paired
    where role = 'estimation'
    group by pair_id
),
benchmark_window as (
    -- over the benchmark's whole estimation window, whether or not the target traded
    select p.pair_id,
           avg(m.ret) as m_mean,
           sum(m.ret * m.ret) - sum(m.ret) * sum(m.ret) / nullif(count(m.ret), 0) as m_sxx
    from study_pairs p
    join study_aligned m on m.pair_id = p.bench_pair_id
    where p.is_target and m.role = 'estimation'
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
