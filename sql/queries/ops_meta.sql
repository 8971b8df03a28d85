-- Facts about the file (dataset = 'demo' marks the synthetic demo).
with final as (
    select key, value from meta
)
select * from final;
