-- Recompute the summary columns of the events in `touched_events` from their reports
-- ($policy_categories: the tags that make an event a 'policy' event).
-- Each report gives an interval [lo, hi] for its publication instant by precision; the event
-- broke no later than the earliest hi, and event_at is the earliest report of the most precise
-- kind present, clamped to that bound.
with members as (
    select
        ea.event_id,
        a.article_id,
        a.outlet,
        a.title,
        a.published_at,
        a.sentiment,
        a.tags,
        case a.published_precision
            when 'second' then 0 when 'minute' then 0 when 'day' then 1
            when 'unknown-zone' then 2 else 3 end as rank,
        case a.published_precision
            when 'unknown-zone' then a.published_at - interval 14 hour
            when 'unknown' then a.published_at - interval 1 day
            else a.published_at end as lo,
        case a.published_precision
            when 'minute' then a.published_at + interval 1 minute
            when 'day' then a.published_at + interval 1 day
            when 'unknown-zone' then a.published_at + interval 12 hour
            else a.published_at end as hi
    from event_articles ea
    join touched_events t on t.event_id = ea.event_id
    join articles a on a.article_id = ea.article_id
),
best_rank as (
    select event_id, min(rank) as rank
    from members
    group by event_id
),
first_reports as (
    select m.event_id,
           arg_min(m.published_at, (m.published_at, m.article_id)) as first_at,
           arg_min(m.outlet, (m.published_at, m.article_id)) as first_outlet,
           arg_min(m.title, (m.published_at, m.article_id)) as first_title
    from members m
    join best_rank b on b.event_id = m.event_id and b.rank = m.rank
    group by m.event_id
),
spans as (
    select event_id,
           min(lo) as lower_bound,
           min(hi) as upper_bound,
           count(*) as n_articles,
           count(distinct outlet) as n_outlets,
           avg(sentiment) as sentiment
    from members
    group by event_id
),
tag_lists as (
    select event_id, list_sort(list_distinct(flatten(list(coalesce(tags, []))))) as tags
    from members
    group by event_id
),
final as (
    select
        s.event_id,
        f.first_title as title,
        least(f.first_at, s.upper_bound) as event_at,
        s.lower_bound as event_at_lower,
        s.upper_bound as event_at_upper,
        case when len(list_intersect(t.tags, $policy_categories)) > 0 then 'policy' else 'news' end as category,
        s.n_articles::integer as n_articles,
        s.n_outlets::integer as n_outlets,
        f.first_outlet,
        false as is_manual,
        round(s.sentiment, 4) as sentiment,
        t.tags
    from spans s
    join first_reports f on f.event_id = s.event_id
    join tag_lists t on t.event_id = s.event_id
)
select * from final
order by event_id
