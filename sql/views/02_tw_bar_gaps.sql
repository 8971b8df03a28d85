-- Missing bars since `since`, written once (the gaps command and the Data health page): runs of
-- consecutive bar slots with no bar while the instrument's market was open (tw_in_session), so
-- a closed session is never a gap. `tfs` / `tf_secs`: the timeframe names and their lengths.
-- One row per gap: instrument_id, timeframe, gap_from (open of the first missing bar),
-- gap_to (close of the last missing bar), missing_bars.
create or replace macro tw_bar_gaps(since, tfs, tf_secs) as table
with frames as (
    select unnest(tfs) as timeframe, unnest(tf_secs) as tf_s
),
steps as (
    select b.instrument_id, b.timeframe, f.tf_s, b.ts,
           lag(b.ts) over (partition by b.instrument_id, b.timeframe order by b.ts) as prev_ts
    from bars b
    join frames f using (timeframe)
    where b.ts >= since::timestamptz
),
holes as (
    select s.instrument_id, s.timeframe, s.tf_s, s.prev_ts, s.ts,
           coalesce(i.calendar, '24/7') as calendar
    from steps s
    left join instruments i using (instrument_id)
    where s.prev_ts is not null and epoch(s.ts - s.prev_ts) > s.tf_s
),
missing_slots as (
    select h.instrument_id, h.timeframe, h.tf_s, h.calendar,
           unnest(generate_series(h.prev_ts + to_seconds(h.tf_s), h.ts - to_seconds(h.tf_s),
                                  to_seconds(h.tf_s))) as slot
    from holes h
),
open_slots as (
    select m.*,
           -- consecutive open slots share this value (islands of slot - n·tf)
           epoch(m.slot) - m.tf_s * row_number() over (
               partition by m.instrument_id, m.timeframe order by m.slot) as island
    from missing_slots m
    where coalesce(tw_in_session(m.calendar, m.slot), true)
),
final as (
    select instrument_id, timeframe,
           min(slot) as gap_from,
           max(slot) + to_seconds(any_value(tf_s)) as gap_to,
           count(*) as missing_bars
    from open_slots
    group by instrument_id, timeframe, island
)
select * from final;
