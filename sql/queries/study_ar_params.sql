-- Per target pair: the fitted model (study_fit) and the estimation-window AR volatility.
-- Inputs: temp table study_fit and temp view study_ar_rows (from study_ar).
with ar_volatility as (
    select pair_id, stddev_samp(ar) as sigma
    from study_ar_rows
    where role = 'estimation'
    group by pair_id
),
final as (
    select f.pair_id, f.n_estimation, f.alpha, f.beta, f.m_mean, f.m_sxx, v.sigma
    from study_fit f
    left join ar_volatility v on v.pair_id = f.pair_id
)
select * from final
