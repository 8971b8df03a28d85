-- Events stored after row $after, newest first: the live pages' "new event" notice.
-- rowid follows insertion order, so an event clustered now from older reports (event_at in
-- the past) still counts as new; $after = -1 gives the newest row, whose stored_n is the mark.
with final as (
    select rowid as stored_n, event_id, title, event_at, category
    from events
    where rowid > $after
)
select * from final
order by stored_n desc
limit $limit;
