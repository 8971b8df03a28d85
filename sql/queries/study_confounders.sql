-- Other events that fall inside each studied event's estimation or event window (the registry
-- in `events` plus the studied events themselves).
-- Inputs: temp table study_events(event_id, title, event_at); binds $step_us (Δ in
-- microseconds) and the window bounds $l1 $l2 $t1 $t2 (offsets in bars).
with event_pool as (
    select event_id, title, event_at from events
    union
    select event_id, title, event_at from study_events
),
spans as (
    select event_id, event_at,
           event_at + to_microseconds(least($l1, $t1)::bigint * $step_us) as span_from,
           event_at + to_microseconds(greatest($l2, $t2)::bigint * $step_us) as span_to
    from study_events
),
others as (
    select s.event_id, o.event_id as other_event_id, o.title as other_title,
           o.event_at as other_event_at,
           floor((epoch_us(o.event_at) - epoch_us(s.event_at)) / $step_us)::bigint as k
    from spans s
    join event_pool o
      on o.event_at between s.span_from and s.span_to
     and o.event_id <> s.event_id
),
final as (
    select event_id, other_event_id, other_title, other_event_at,
           case
               when k between $l1 and $l2 then 'estimation'
               when k between $t1 and $t2 then 'event'
               else 'gap'
           end as "window",
           k as "offset"
    from others
)
select * from final order by event_id, other_event_at, other_event_id
