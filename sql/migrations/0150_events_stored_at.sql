-- events.stored_at: when the row was first stored (insertion time, never changed by an update).
-- The live pages' "new since you opened this page" notice reads it (events_since.sql); unlike
-- DuckDB's rowid it is a column, so the lake export keeps it and a lake reader sees it too.
-- Every insert path fills it through the default (the upsert leaves it out of its updates);
-- rows stored before this migration take the time of the migration.
alter table events add column stored_at timestamptz default current_timestamp;
