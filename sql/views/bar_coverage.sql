-- Per instrument and timeframe: how many bars and the span they cover.
create or replace view bar_coverage as
with final as (
    select instrument_id, timeframe, count(*) as n_bars, min(ts) as first_ts, max(ts) as last_ts
    from bars
    group by instrument_id, timeframe
)
select * from final;
