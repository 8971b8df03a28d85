-- The newest run of each source: when, how it ended, what it stored.
with ranked as (
    select *, row_number() over (partition by source order by started_at desc) as rn
    from ingest_runs
),
final as (
    select source, run_id, started_at, finished_at, status, n_read, n_stored, n_present, n_rejected,
           errors
    from ranked
    where rn = 1
)
select * from final
order by source;
