-- Alerts: one row per delivery of a rule that became true (pipelines/alerts.py).
-- `dedupe_key` names what the alert is about (rule + event, or rule + instrument/source): a key
-- already sent is not sent again within the rule's cooldown (an event's key: never again).
create sequence alert_seq start 1;

create table alerts (
    alert_id      bigint primary key default nextval('alert_seq'),
    rule          varchar not null,
    kind          varchar not null,        -- event, price, health
    dedupe_key    varchar not null,
    fired_at      timestamptz not null,    -- when the rule was found true
    title         varchar not null,
    message       varchar not null,
    event_id      varchar,
    instrument_id varchar,
    source        varchar,                 -- health rules: the source concerned
    move_pct      double,                  -- the move that made the rule true, in percent
    z             double,
    status        varchar not null,        -- sent, failed, no-target
    attempts      integer not null default 0,
    error         varchar,                 -- why delivery failed (last attempt), else null
    delivered_at  timestamptz,
    is_test       boolean not null default false  -- sent by `tickerwire alerts test`
);

create index alerts_key on alerts (dedupe_key, fired_at);
