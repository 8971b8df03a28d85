-- Other events inside [$t0 - $before_s, $t0 + $after_s]: they may explain part of the move.
with final as (
    select event_id, title, event_at, category, n_articles,
           (epoch(event_at) - epoch($t0::timestamptz)) / 60.0 as minutes_from_event
    from events
    where event_id <> $event_id
      and event_at >= $t0::timestamptz - to_seconds($before_s)
      and event_at <= $t0::timestamptz + to_seconds($after_s)
)
select * from final
order by event_at;
