-- One event with its linked instruments.
with linked as (
    select event_id,
           list(instrument_id order by coalesce(confidence, 0) desc, instrument_id) as instruments,
           list(coalesce(confidence, 0) order by coalesce(confidence, 0) desc, instrument_id) as confidences
    from event_instruments
    where event_id = $event_id
    group by event_id
),
final as (
    select e.*, coalesce(l.instruments, []) as instruments,
           coalesce(l.confidences, []) as confidences
    from events e
    left join linked l using (event_id)
    where e.event_id = $event_id
)
select * from final;
