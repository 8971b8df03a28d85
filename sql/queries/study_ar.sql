-- Abnormal returns per (pair, offset) of the estimation and event windows, from the fitted
-- model (temp table study_fit): expected = α for the constant-mean model (α = mean return),
-- α + β·benchmark return otherwise (market-adjusted: α = 0, β = 1).
-- Inputs: temp tables study_paired (from study_paired.sql) and study_fit; bind $model.
with final as (
    select w.pair_id, w.k, w.grid_at, w.role, w.price, w.ret, w.mret,
           case when $model = 'constant' then f.alpha else f.alpha + f.beta * w.mret end as expected,
           w.ret - (case when $model = 'constant' then f.alpha else f.alpha + f.beta * w.mret end) as ar
    from study_paired w
    join study_fit f on f.pair_id = w.pair_id
)
select * from final
