-- The ticker strip: the newest quote per instrument, in watchlist order.
-- $order: instrument ids in watchlist order (instruments outside it follow, alphabetically).
-- $source: only quotes of this source (e.g. one strip snapshot); null = the newest of any source.
-- Instruments without a quote get their price from bars afterwards (prices_strip_bars).
with quote as (
    select instrument_id, ts, source, price, change_pct
    from quotes
    where $source is null or source = $source
    qualify row_number() over (partition by instrument_id order by ts desc, source) = 1
),
final as (
    select i.instrument_id, i.display_name, i.available, i.unavailable_reason,
           q.price, q.change_pct, q.ts as priced_at, q.source as priced_from,
           coalesce(list_position($order, i.instrument_id), 100000) as pos
    from instruments i
    left join quote q using (instrument_id)
)
select * exclude (pos) from final
order by pos, instrument_id;
