-- Intraday returns and windows (DESIGN §4): r_k = ln P(grid_at_k) − ln P(grid_at_{k−1}) within
-- each pair, from the prices of both alignment paths; role = the window offset k falls in.
-- Inputs: temp tables study_fast_prices and study_slow_prices (pair_id, k, grid_at, price);
-- binds the window bounds $l1 $l2 $t1 $t2.
with prices as (
    select pair_id, k, grid_at, price from study_fast_prices
    union all
    select pair_id, k, grid_at, price from study_slow_prices
),
final as (
    select pair_id, k, grid_at, price,
           ln(price) - lag(ln(price)) over (partition by pair_id order by k) as ret,
           case
               when k between $l1 and $l2 then 'estimation'
               when k between $t1 and $t2 then 'event'
           end as role
    from prices
)
select * from final
