-- Gaps in each instrument's bars since $since: a step longer than one bar counts when the
-- instrument's market was open just after the earlier bar closed (session closures are not gaps).
with frames as (
    select unnest($tfs) as timeframe, unnest($tf_secs) as tf_s
),
steps as (
    select b.instrument_id, b.timeframe, f.tf_s, b.ts,
           lag(b.ts) over (partition by b.instrument_id, b.timeframe order by b.ts) as prev_ts
    from bars b
    join frames f using (timeframe)
    where b.ts >= $since::timestamptz
),
gaps as (
    select s.instrument_id, s.timeframe, s.ts, s.prev_ts,
           epoch(s.ts - s.prev_ts) / s.tf_s - 1 as missing_bars
    from steps s
    left join instruments i using (instrument_id)
    where s.prev_ts is not null
      and epoch(s.ts - s.prev_ts) > s.tf_s
      and coalesce(tw_in_session(coalesce(i.calendar, '24/7'), s.prev_ts + to_seconds(s.tf_s)), true)
),
final as (
    select instrument_id, timeframe, count(*) as n_gaps, sum(missing_bars)::bigint as missing_bars,
           max(missing_bars)::bigint as longest_gap_bars, arg_max(prev_ts, missing_bars) as longest_gap_after
    from gaps
    group by instrument_id, timeframe
)
select * from final
order by instrument_id, timeframe;
