-- Trading-day grid for daily studies (estudy2 convention), the rule's statement: the engine
-- computes it as arrays (pipelines/analytics/daily_arrays.py) and a test holds it to this.
-- Each instrument's own daily bars are its trading days; the event day (offset 0) is the first
-- bar dated on or after the event's date in the instrument's exchange time zone, so a weekend
-- or holiday event maps to the next session.
-- r_k = ln close(day e+k) − ln close(day e+k−1). Windows are offsets ($dates = false) or
-- calendar dates ($dates = true: $ld1..$ld2 estimation, $td1..$td2 event).
-- Inputs: temp relation study_pairs(pair_id, instrument_id, exchange_tz, t0); binds $timeframe,
-- $k_lo, $k_hi, $dates, $l1 $l2 $t1 $t2, $ld1 $ld2 $td1 $td2.
with instrument_zones as (
    select distinct instrument_id, exchange_tz from study_pairs
),
daily_bars as (
    select b.instrument_id, b.ts, b.close,
           timezone(z.exchange_tz, b.ts)::date as day,
           row_number() over (partition by b.instrument_id order by b.ts) as day_no
    from bars b
    join instrument_zones z on z.instrument_id = b.instrument_id
    where b.timeframe = $timeframe
),
daily_returns as (
    select *, ln(close) - lag(ln(close)) over (partition by instrument_id order by day_no) as ret
    from daily_bars
),
pair_dates as (
    select pair_id, instrument_id, timezone(exchange_tz, t0)::date as event_day
    from study_pairs
),
event_day as (
    -- the first trading day on or after the event's date
    select p.pair_id, p.instrument_id, d.day_no as day0
    from pair_dates p
    asof join daily_returns d
      on d.instrument_id = p.instrument_id and d.day >= p.event_day
),
offset_grid as (
    select e.pair_id, e.instrument_id, o.k, e.day0 + o.k as day_no
    from event_day e
    cross join range($k_lo, $k_hi + 1) as o(k)
    where not $dates
),
offset_days as (
    -- offset windows: every pair's trading days day0 + k, found by an equi-join
    select g.pair_id, g.k, d.ts as grid_at, d.close, d.ret, d.day
    from offset_grid g
    join daily_returns d on d.instrument_id = g.instrument_id and d.day_no = g.day_no
),
dated_days as (
    -- date windows: the trading days inside the dates
    select e.pair_id, d.day_no - e.day0 as k, d.ts as grid_at, d.close, d.ret, d.day
    from event_day e
    join daily_returns d on d.instrument_id = e.instrument_id
    where $dates and d.day between least($ld1, $td1) and greatest($ld2, $td2)
),
pair_days as (
    select * from offset_days
    union all
    select * from dated_days
),
final as (
    select pair_id, k, grid_at,
           case when close > 0 then close end as price,
           ret,
           case
               when $dates and day between $ld1 and $ld2 then 'estimation'
               when $dates and day between $td1 and $td2 then 'event'
               when not $dates and k between $l1 and $l2 then 'estimation'
               when not $dates and k between $t1 and $t2 then 'event'
           end as role,
           -- trading days follow one another: no return bridges a closure (see the intraday rule)
           null::timestamptz as prev_at,
           null::timestamptz as reopen_at
    from pair_days
)
select * from final
