-- Missing bar ranges since $since (the tw_bar_gaps rule: open-market slots with no bar).
-- Params: $since (timestamptz), $tfs (timeframe names) and $tf_secs (their lengths in seconds).
select * from tw_bar_gaps($since::timestamptz, $tfs, $tf_secs)
order by instrument_id, timeframe, gap_from;
