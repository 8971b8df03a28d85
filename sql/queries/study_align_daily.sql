-- Trading-day grid for daily studies (estudy2 convention): each instrument's own daily bars are
-- its trading days; the event day (offset 0) is the first bar dated on or after the event's date
-- in the instrument's exchange time zone, so a weekend or holiday event maps to the next session.
-- r_k = ln close(day e+k) − ln close(day e+k−1). Windows are offsets ($dates = false) or
-- calendar dates ($dates = true: $ld1..$ld2 estimation, $td1..$td2 event).
-- Inputs: temp relation study_pairs(pair_id, instrument_id, exchange_tz, t0); binds $timeframe,
-- $k_lo, $k_hi, $dates, $l1 $l2 $t1 $t2, $ld1 $ld2 $td1 $td2.
with daily_bars as (
    select b.instrument_id, b.ts, b.close,
           row_number() over (partition by b.instrument_id order by b.ts) as day_no
    from bars b
    where b.timeframe = $timeframe
      and b.instrument_id in (select instrument_id from study_pairs)
),
daily_returns as (
    select *, ln(close) - lag(ln(close)) over (partition by instrument_id order by day_no) as ret
    from daily_bars
),
event_day as (
    select p.pair_id, p.instrument_id, p.exchange_tz, min(d.day_no) as day0
    from study_pairs p
    join daily_returns d
      on d.instrument_id = p.instrument_id
     and timezone(p.exchange_tz, d.ts)::date >= timezone(p.exchange_tz, p.t0)::date
    group by all
),
pair_days as (
    select e.pair_id, d.day_no - e.day0 as k, d.ts as grid_at, d.close, d.ret,
           timezone(e.exchange_tz, d.ts)::date as day
    from event_day e
    join daily_returns d on d.instrument_id = e.instrument_id
    where $dates or d.day_no - e.day0 between $k_lo and $k_hi
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
           end as role
    from pair_days
)
select * from final
