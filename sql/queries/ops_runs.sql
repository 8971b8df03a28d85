-- Per source: the newest run (status, counts, errors) and how the last 7 days of runs went.
-- The newest run comes from the latest_runs view.
with recent as (
    select source, count(*) as runs_7d,
           count(*) filter (where status = 'failed') as failed_7d,
           count(*) filter (where status = 'partial') as partial_7d
    from ingest_runs
    where started_at >= (select max(started_at) from ingest_runs) - interval 7 day
    group by source
),
final as (
    select r.source, r.run_id, r.started_at, r.finished_at, r.status, r.n_read, r.n_stored,
           r.n_present, r.n_rejected, r.errors, c.runs_7d, c.failed_7d, c.partial_7d
    from latest_runs r
    left join recent c using (source)
)
select * from final
order by source;
