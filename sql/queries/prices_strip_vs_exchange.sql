-- Each ticker-strip quote since $since against the exchange price at the same instant: the close
-- of the last bar closed by then (DESIGN §4 as-of rule), on the finest timeframe that is fresh
-- (closed at most two bars before the quote), else the newest close of any timeframe, flagged stale.
-- Params: $since (timestamptz), $tfs (timeframe names), $tf_secs (their lengths in seconds) and
-- $stale_bars (the staleness limit in bars).
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
targets as (
    select q.instrument_id, q.ts, q.ts as at, q.source, q.price, f.timeframe, f.tf_s
    from strip_quotes q
    cross join frames f
),
candidates as (
    -- P(t) by the one as-of rule (tw_prices_at), on every timeframe
    select instrument_id, ts, source, price, timeframe, tf_s, close_at, close, fresh, bar_source
    from tw_prices_at(targets, bar_closes, $stale_bars)
    where close_at is not null
),
ranked as (
    select *,
           row_number() over (
               partition by instrument_id, ts, source
               order by fresh desc, tf_s, close_at desc) as rn
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
