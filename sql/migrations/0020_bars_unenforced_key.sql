-- bars keeps its key (instrument_id, timeframe, ts) but no longer enforces it with an index.
-- Why: DuckDB maintains a PRIMARY KEY as an ART index on every append, which halved ingest
-- speed (bench/bench_ingest.py: 300k → ~650k rows/s). Uniqueness is kept by the only writer
-- path, Store.upsert (in-batch dedupe + anti-join against the stored key range), which reads
-- the key from store.UNENFORCED_KEYS; `tickerwire health --keys` reports any duplicate a hand-made
-- INSERT could still create. Rows are copied in key order so zone maps stay tight.
create table bars_unenforced (
    instrument_id varchar not null,
    timeframe     varchar not null,       -- 1m 5m 15m 30m 1h 4h 1d
    ts            timestamptz not null,   -- bar OPEN time; close time = ts + timeframe
    open          double,
    high          double,
    low           double,
    close         double not null,
    volume        double,
    source        varchar,
    ingested_at   timestamptz default current_timestamp
);
insert into bars_unenforced
select instrument_id, timeframe, ts, open, high, low, close, volume, source, ingested_at
from bars
order by instrument_id, timeframe, ts;
drop table bars;
alter table bars_unenforced rename to bars;
