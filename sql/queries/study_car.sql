-- CAR per (pair, sub-window): sum of abnormal returns over offsets [car_from, car_to] of the
-- event window, with the number of valid (non-missing) abnormal returns.
-- Inputs: temp view study_ar_rows (from study_ar) and temp table study_car_windows(car_from, car_to).
with event_rows as (
    select pair_id, k, ar from study_ar_rows where role = 'event'
),
final as (
    select e.pair_id, w.car_from, w.car_to,
           sum(e.ar) as car,
           count(e.ar)::integer as n_valid,
           (w.car_to - w.car_from + 1)::integer as n_window
    from study_car_windows w
    join event_rows e on e.k between w.car_from and w.car_to
    group by e.pair_id, w.car_from, w.car_to
)
select * from final
