-- The newest run of each source (newest start; on a tie the higher run id), written once for
-- the status command, the ops health report and the Data health page.
create or replace view latest_runs as
with final as (
    select *
    from ingest_runs
    qualify row_number() over (partition by source order by started_at desc, run_id desc) = 1
)
select * from final;
