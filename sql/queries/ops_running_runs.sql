-- Runs still marked 'running', with the process that owns them (pid, host): a run whose owner
-- is gone is closed as 'interrupted' by the next writer; these are live or on another host.
select run_id, source, started_at, pid, host
from ingest_runs
where status = 'running'
order by started_at
