-- The newest run of each source (the latest_runs view): when, how it ended, what it stored.
with final as (
    select source, run_id, started_at, finished_at, status, n_read, n_stored, n_present, n_rejected,
           errors
    from latest_runs
)
select * from final
order by source;
