-- Per source: its newest run, its newest successful run, failures since then, the last 24 h.
-- $now: the instant "now" (so tests and the dashboard agree on one clock).
-- The newest run comes from the latest_runs view.
with latest as (
    select source, run_id, started_at, finished_at, status, n_stored, errors, details
    from latest_runs
),
last_good as (
    select source, max(run_id) as run_id, max(finished_at) as finished_at
    from ingest_runs
    where status in ('ok', 'partial')
    group by source
),
failure_streak as (
    select r.source, count(*) as n
    from ingest_runs r
    left join last_good g using (source)
    where r.status in ('failed', 'interrupted') and r.run_id > coalesce(g.run_id, 0)
    group by r.source
),
last_day as (
    select source, count(*) as runs_24h,
           count(*) filter (where status = 'failed') as failed_24h,
           coalesce(sum(n_stored), 0) as stored_24h
    from ingest_runs
    where started_at >= $now - interval 1 day
    group by source
),
final as (
    select l.source,
           l.status as last_status,
           l.started_at as last_started_at,
           l.finished_at as last_finished_at,
           g.finished_at as last_ok_at,
           coalesce(s.n, 0) as failures_in_a_row,
           coalesce(d.runs_24h, 0) as runs_24h,
           coalesce(d.failed_24h, 0) as failed_24h,
           coalesce(d.stored_24h, 0) as stored_24h,
           l.errors as last_errors,
           l.details ->> '$.kinds' as kinds
    from latest l
    left join last_good g using (source)
    left join failure_streak s using (source)
    left join last_day d using (source)
)
select * from final
order by source;
