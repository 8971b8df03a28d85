-- The newest quote per instrument (any source), with the instrument's display fields.
create or replace view latest_quotes as
with ranked as (
    select q.*, row_number() over (partition by q.instrument_id order by q.ts desc, q.source) as rn
    from quotes q
),
final as (
    select r.instrument_id, r.ts, r.source, r.price, r.change_pct, r.captured_from
    from ranked r
    where r.rn = 1
)
select * from final;
