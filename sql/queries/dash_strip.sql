-- The ticker strip: newest quote per instrument, else the newest bar close and its 24 h change.
-- $order: instrument ids in watchlist order (instruments outside it follow, alphabetically).
-- $source: only quotes of this source (e.g. one strip snapshot); null = the newest of any source.
with quote as (
    select instrument_id, ts, source, price, change_pct
    from quotes
    where $source is null or source = $source
    qualify row_number() over (partition by instrument_id order by ts desc, source) = 1
),
last_bar as (
    select instrument_id, max(ts) as ts
    from bars
    group by instrument_id
),
bar_now as (
    select b.instrument_id, b.ts, b.close
    from bars b
    join last_bar l on l.instrument_id = b.instrument_id and l.ts = b.ts
    qualify row_number() over (partition by b.instrument_id order by b.timeframe) = 1
),
bar_day_ago as (
    select n.instrument_id, arg_max(b.close, b.ts) as close
    from bar_now n
    join bars b on b.instrument_id = n.instrument_id
        and b.ts <= n.ts - interval 1 day and b.ts > n.ts - interval 2 day
    group by n.instrument_id
),
from_bars as (
    select n.instrument_id, n.ts, n.close as price,
           100 * (n.close / d.close - 1) as change_pct
    from bar_now n
    left join bar_day_ago d using (instrument_id)
),
final as (
    select i.instrument_id, i.display_name, i.available, i.unavailable_reason,
           coalesce(q.price, f.price) as price,
           case when q.price is not null then q.change_pct else f.change_pct end as change_pct,
           coalesce(q.ts, f.ts) as priced_at,
           case when q.price is not null then q.source when f.price is not null then 'bars' end as priced_from,
           coalesce(list_position($order, i.instrument_id), 100000) as pos
    from instruments i
    left join quote q using (instrument_id)
    left join from_bars f on f.instrument_id = i.instrument_id and $source is null
)
select * exclude (pos) from final
order by pos, instrument_id;
