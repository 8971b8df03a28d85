-- Each ticker-strip quote since $since against the exchange price at the same instant: the close
-- of the last bar closed by then (DESIGN §4 as-of rule), on the finest timeframe that is fresh
-- (closed at most two bars before the quote), else the newest close of any timeframe, flagged stale.
-- Params: $since (timestamptz), $tfs (timeframe names) and $tf_secs (their lengths in seconds).
with frames as (
    select unnest($tfs) as timeframe, unnest($tf_secs) as tf_s
),
strip_quotes as (
    select instrument_id, ts, source, price
    from quotes
    where source like 'strip:%' and ts >= $since::timestamptz
),
bar_closes as (
    select b.instrument_id, b.timeframe, b.ts + to_seconds(f.tf_s) as close_at, b.close,
           b.source as bar_source
    from bars b
    join frames f using (timeframe)
),
candidates as (
    select q.instrument_id, q.ts, q.source, q.price, q.timeframe, q.tf_s,
           c.close_at, c.close, c.bar_source
    from (select * from strip_quotes cross join frames) q
    asof join bar_closes c
      on c.instrument_id = q.instrument_id and c.timeframe = q.timeframe and c.close_at <= q.ts
),
ranked as (
    select *,
           epoch(ts - close_at) <= 2 * tf_s as fresh,
           row_number() over (
               partition by instrument_id, ts, source
               order by epoch(ts - close_at) <= 2 * tf_s desc, tf_s, close_at desc) as rn
    from candidates
),
final as (
    select q.instrument_id, q.ts as quote_ts, q.source as quote_source, q.price as strip_price,
           r.timeframe, r.close_at as bar_close_at, r.close as exchange_price, r.bar_source,
           round(100 * (q.price - r.close) / r.close, 3) as diff_pct,
           (epoch(q.ts - r.close_at) / 60)::bigint as age_minutes,
           coalesce(r.fresh, false) as fresh
    from strip_quotes q
    left join ranked r
      on r.instrument_id = q.instrument_id and r.ts = q.ts and r.source = q.source and r.rn = 1
)
select * from final
order by quote_ts desc, instrument_id, quote_source;
