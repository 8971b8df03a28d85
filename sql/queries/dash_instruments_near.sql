-- Instruments with at least one bar within [$lo, $hi] (which series can show an event at all).
with final as (
    select distinct instrument_id
    from bars
    where ts between $lo and $hi
)
select * from final
order by instrument_id;
