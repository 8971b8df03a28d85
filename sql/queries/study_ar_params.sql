-- Per target pair: the fitted model's parameters and the estimation-window AR volatility.
-- Input: temp table study_ar_rows (from study_ar).
with final as (
    select pair_id,
           any_value(n_estimation) as n_estimation,
           any_value(alpha) as alpha,
           any_value(beta) as beta,
           any_value(m_mean) as m_mean,
           any_value(m_sxx) as m_sxx,
           stddev_samp(ar) filter (where role = 'estimation') as sigma
    from study_ar_rows
    group by pair_id
)
select * from final
