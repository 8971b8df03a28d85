-- Events stored after $after (events.stored_at, insertion time), newest first: the live pages'
-- "new event" notice. An event clustered now from older reports (event_at in the past) still
-- counts as new; $after = null gives the newest rows, whose stored_at is the page's mark.
with final as (
    select stored_at, event_id, title, event_at, category
    from events
    where $after is null or stored_at > $after
)
select * from final
order by stored_at desc, event_id
limit $limit;
