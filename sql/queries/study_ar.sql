-- Abnormal returns per (pair, offset) of the estimation and event windows, from the fitted
-- model (temp table study_fit): expected = α for the constant-mean model (α = mean return),
-- α + β·benchmark return otherwise (market-adjusted: α = 0, β = 1). The benchmark is matched on
-- the same instant (intraday grid point, or the same trading date for daily studies).
-- Inputs: temp tables study_aligned, study_pairs, study_fit; bind $model.
with target_rows as (
    select a.pair_id, p.bench_pair_id, a.k, a.grid_at, a.price, a.ret, a.role
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and p.is_target
    where a.role is not null
),
benchmark_rows as (
    select a.pair_id, a.grid_at, a.ret
    from study_aligned a
    join study_pairs p on p.pair_id = a.pair_id and not p.is_target
),
with_benchmark as (
    select t.*, m.ret as mret
    from target_rows t
    left join benchmark_rows m on m.pair_id = t.bench_pair_id and m.grid_at = t.grid_at
),
final as (
    select w.pair_id, w.k, w.grid_at, w.role, w.price, w.ret, w.mret,
           case when $model = 'constant' then f.alpha else f.alpha + f.beta * w.mret end as expected,
           w.ret - (case when $model = 'constant' then f.alpha else f.alpha + f.beta * w.mret end) as ar
    from with_benchmark w
    join study_fit f on f.pair_id = w.pair_id
)
select * from final
