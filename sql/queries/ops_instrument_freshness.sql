-- Per watched instrument: its newest data (bar close or quote) and how many minutes the market
-- was open since then (tw_in_session), capped at $lookback_min minutes.
-- $ids, $calendars, $max_open_min: the watchlist, as parallel lists; $tfs/$tf_secs: timeframes
-- and their lengths in seconds (bar close = ts + length); $now: the instant "now".
with watched as (
    select unnest($ids) as instrument_id, unnest($calendars) as calendar,
           unnest($max_open_min) as max_open_minutes
),
timeframes as (
    select unnest($tfs) as timeframe, unnest($tf_secs) as tf_s
),
bar_ends as (
    select b.instrument_id, b.timeframe, max(b.ts) as last_ts
    from bars b
    where b.instrument_id in (select instrument_id from watched)
    group by b.instrument_id, b.timeframe
),
last_bar as (
    select e.instrument_id, max(e.last_ts + to_seconds(t.tf_s)) as last_bar_close
    from bar_ends e
    join timeframes t using (timeframe)
    group by e.instrument_id
),
last_quote as (
    select instrument_id, max(ts) as last_quote_at
    from quotes
    where instrument_id in (select instrument_id from watched)
    group by instrument_id
),
newest as (
    select w.instrument_id, w.calendar, w.max_open_minutes, lb.last_bar_close, lq.last_quote_at,
           greatest(lb.last_bar_close, lq.last_quote_at) as last_at,
           i.available, i.unavailable_reason
    from watched w
    left join last_bar lb using (instrument_id)
    left join last_quote lq using (instrument_id)
    left join instruments i using (instrument_id)
),
spans as (
    select instrument_id, calendar,
           greatest(coalesce(last_at, $now - to_minutes($lookback_min)), $now - to_minutes($lookback_min)) as since
    from newest
),
grid as (
    select instrument_id, calendar,
           unnest(generate_series(date_trunc('minute', since), $now - interval 1 minute, interval 1 minute)) as minute_at
    from spans
    where since < $now
),
open_minutes as (
    select instrument_id, count(*) filter (where tw_in_session(calendar, minute_at)) as n
    from grid
    group by instrument_id
),
final as (
    select n.instrument_id, n.calendar, n.last_bar_close, n.last_quote_at, n.last_at,
           round(epoch($now - n.last_at) / 60, 1) as age_minutes,
           coalesce(o.n, 0) as open_minutes,
           n.max_open_minutes,
           tw_in_session(n.calendar, $now) as market_open,
           coalesce(n.available, true) as available,
           n.unavailable_reason
    from newest n
    left join open_minutes o using (instrument_id)
)
select * from final
order by instrument_id;
