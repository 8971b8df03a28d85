-- Alerts fired, newest first. $rule: one rule's name or null for all; $limit: how many.
with chosen as (
    select fired_at, rule, kind, title, status, attempts, error, is_test, event_id,
           instrument_id, source, move_pct, z, delivered_at, message, alert_id
    from alerts
    where $rule::varchar is null or rule = $rule::varchar
),
final as (
    select * from chosen
    order by fired_at desc, alert_id desc
    limit $limit
)
select * from final;
