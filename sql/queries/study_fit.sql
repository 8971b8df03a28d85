-- Per target pair: the model fitted on its estimation window. Models ($model): 'constant'
-- (mean estimation-window return), 'market-adjusted' (α = 0, β = 1), 'market' (OLS α + β·benchmark
-- on the complete cases). Also the benchmark's own estimation-window mean and Σ(m − m̄)², which
-- Patell's prediction-error correction uses.
-- Inputs: temp tables study_paired (from study_paired.sql or the intraday fast path),
-- study_aligned and study_pairs(pair_id, bench_pair_id, is_target); binds $model, $same_grid.
with fit as (
    select pair_id,
           count(ret) as n_ret,
           avg(ret) as mean_ret,
           regr_count(ret, mret) as n_complete,
           regr_intercept(ret, mret) as alpha,
           regr_slope(ret, mret) as beta,
           -- intraday ($same_grid) the benchmark shares the target's grid, so its estimation
           -- window is exactly these rows' mret: its statistics come from the same pass
           avg(mret) as m_mean,
           sum(mret * mret) - sum(mret) * sum(mret) / nullif(count(mret), 0) as m_sxx
    from study_paired
    where role = 'estimation'
    group by pair_id
),
benchmark_window as (
    -- daily: the benchmark's own trading days, whether or not the target traded
    select p.pair_id,
           avg(m.ret) as m_mean,
           sum(m.ret * m.ret) - sum(m.ret) * sum(m.ret) / nullif(count(m.ret), 0) as m_sxx
    from study_pairs p
    join study_aligned m on m.pair_id = p.bench_pair_id
    where not $same_grid and p.is_target and m.role = 'estimation'
    group by p.pair_id
),
final as (
    select p.pair_id,
           case $model when 'constant' then f.n_ret else f.n_complete end as n_estimation,
           case $model when 'constant' then f.mean_ret when 'market' then f.alpha else 0.0 end as alpha,
           case $model when 'market' then f.beta when 'market-adjusted' then 1.0 else 0.0 end as beta,
           case when $same_grid then f.m_mean else bw.m_mean end as m_mean,
           case when $same_grid then f.m_sxx else bw.m_sxx end as m_sxx,
           $model <> 'constant' as uses_benchmark
    from study_pairs p
    left join fit f on f.pair_id = p.pair_id
    left join benchmark_window bw on bw.pair_id = p.pair_id
    where p.is_target
)
select * from final
