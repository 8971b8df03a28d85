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
           regr_slope(ret, mret) as beta
    from study_paired
    where role = 'estimation'
    group by pair_id
),
benchmark_window as (
    select pair_id,
           avg(m) as m_mean,
           sum(m * m) - sum(m) * sum(m) / nullif(count(m), 0) as m_sxx
    from (
        -- intraday ($same_grid): the benchmark shares the target's grid, so its estimation
        -- window is exactly the paired rows' mret
        select pair_id, mret as m
        from study_paired
        where $same_grid and role = 'estimation'
        union all
        -- daily: the benchmark's own trading days, whether or not the target traded
        select p.pair_id, m.ret as m
        from study_pairs p
        join study_aligned m on m.pair_id = p.bench_pair_id
        where not $same_grid and p.is_target and m.role = 'estimation'
    )
    group by pair_id
),
final as (
    select p.pair_id,
           case $model when 'constant' then f.n_ret else f.n_complete end as n_estimation,
           case $model when 'constant' then f.mean_ret when 'market' then f.alpha else 0.0 end as alpha,
           case $model when 'market' then f.beta when 'market-adjusted' then 1.0 else 0.0 end as beta,
           bw.m_mean, bw.m_sxx,
           $model <> 'constant' as uses_benchmark
    from study_pairs p
    left join fit f on f.pair_id = p.pair_id
    left join benchmark_window bw on bw.pair_id = p.pair_id
    where p.is_target
)
select * from final
