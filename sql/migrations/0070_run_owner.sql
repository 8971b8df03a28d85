-- Who owns a run: a run left 'running' whose process is gone (same host, pid not alive) was
-- interrupted, and any writer closes it (pipelines/store.py close_stale_runs).
alter table ingest_runs add column pid integer;
alter table ingest_runs add column host varchar;
