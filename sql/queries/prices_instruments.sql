-- Every known instrument with its display fields.
with final as (
    select instrument_id, display_name, asset_class, source, venue, market_symbol, quote_currency,
           calendar, exchange_tz, available, unavailable_reason
    from instruments
)
select * from final
order by instrument_id;
