-- Gaps per instrument and timeframe since $since, summed from the tw_bar_gaps rule (missing
-- bars while the market was open): how many, how many bars in all, the longest and where.
with gaps as (
    select * from tw_bar_gaps($since::timestamptz, $tfs, $tf_secs)
),
final as (
    select instrument_id, timeframe, count(*) as n_gaps, sum(missing_bars)::bigint as missing_bars,
           max(missing_bars)::bigint as longest_gap_bars,
           -- the last bar before the longest gap opened one bar before its first missing slot
           arg_max(gap_from - (gap_to - gap_from) / missing_bars, missing_bars) as longest_gap_after
    from gaps
    group by instrument_id, timeframe
)
select * from final
order by instrument_id, timeframe;
