-- Abnormal returns per (pair, offset) of the estimation and event windows, from the fitted
-- model (temp table study_fit): expected = α for the constant-mean model (α = mean return),
-- α + β·benchmark return otherwise (market-adjusted: α = 0, β = 1).
-- Created as a temp view (no binds): the fetches, the volatility and the CAR sums each read it
-- once, which costs less than writing 1.7M rows to a table first.
-- Inputs: temp tables study_paired (from study_paired.sql or the intraday fast path) and
-- study_fit.
with final as (
    select w.pair_id, w.k, w.grid_at, w.role, w.price, w.ret, w.mret, w.reopen_at,
           case when f.uses_benchmark then f.alpha + f.beta * w.mret else f.alpha end as expected,
           w.ret - (case when f.uses_benchmark then f.alpha + f.beta * w.mret else f.alpha end) as ar
    from study_paired w
    join study_fit f on f.pair_id = w.pair_id
)
select * from final
