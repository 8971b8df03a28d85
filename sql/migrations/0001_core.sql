-- The data model of DESIGN §3. All instants are TIMESTAMPTZ in UTC.

create table instruments (
    instrument_id      varchar primary key,
    display_name       varchar,
    asset_class        varchar not null default 'other',   -- crypto/commodity/equity/index/fx/other
    source             varchar not null default 'file',    -- ccxt/yahoo/file/strip/demo/...
    venue              varchar,
    market_symbol      varchar,
    quote_currency     varchar default 'USD',
    calendar           varchar not null default '24/7',    -- '24/7' or a session name
    exchange_tz        varchar not null default 'UTC',
    available          boolean not null default true,
    unavailable_reason varchar
);

create table bars (
    instrument_id varchar not null,
    timeframe     varchar not null,       -- 1m 5m 15m 30m 1h 4h 1d
    ts            timestamptz not null,   -- bar OPEN time; close time = ts + timeframe
    open          double,
    high          double,
    low           double,
    close         double not null,
    volume        double,
    source        varchar,
    ingested_at   timestamptz default current_timestamp,
    primary key (instrument_id, timeframe, ts)
);

create table quotes (
    instrument_id varchar not null,
    ts            timestamptz not null,
    source        varchar not null,       -- 'ccxt:binance', 'strip:<outlet>', ...
    price         double not null,
    change_pct    double,                 -- 24 h change in percent: 4.64 means +4.64 %
    captured_from varchar,
    primary key (instrument_id, ts, source)
);

create table articles (
    article_id          varchar primary key,   -- hash of canonical URL, else of outlet+title+time
    outlet              varchar,
    url                 varchar,
    title               varchar not null,
    summary             varchar,
    published_at        timestamptz,
    published_precision varchar not null default 'second',  -- second/minute/day/unknown/unknown-zone
    fetched_at          timestamptz default current_timestamp,
    feed                varchar,
    language            varchar,
    sentiment           double
);

create table events (
    event_id       varchar primary key,
    title          varchar not null,
    event_at       timestamptz not null,   -- best estimate of when the news broke
    event_at_lower timestamptz,
    event_at_upper timestamptz,
    category       varchar,                -- policy, macro, regulation, corporate, ...
    countries      varchar[],
    n_articles     integer not null default 0,
    n_outlets      integer not null default 0,
    first_outlet   varchar,
    is_manual      boolean not null default false
);

create table event_articles (
    event_id   varchar not null,
    article_id varchar not null,
    primary key (event_id, article_id)
);

create table event_instruments (
    event_id      varchar not null,
    instrument_id varchar not null,
    reason        varchar,                 -- entity match, rule, manual
    confidence    double,
    primary key (event_id, instrument_id)
);

create sequence ingest_run_seq start 1;

create table ingest_runs (
    run_id      bigint primary key default nextval('ingest_run_seq'),
    source      varchar not null,          -- 'import:bars', 'ccxt', 'rss', 'demo', ...
    started_at  timestamptz not null,
    finished_at timestamptz,
    status      varchar not null,          -- running/ok/partial/failed
    n_read      bigint default 0,
    n_stored    bigint default 0,          -- new or changed rows written
    n_present   bigint default 0,          -- rows already present unchanged
    n_rejected  bigint default 0,
    errors      varchar,
    details     json
);

create table ingest_state (
    source     varchar not null,           -- e.g. 'ccxt:binance'
    key        varchar not null,           -- e.g. 'BTC/1m' or a feed URL
    cursor_ts  timestamptz,                -- incremental cursor (last complete bar, newest item)
    value      json,                       -- anything else (etag, last_modified, ...)
    updated_at timestamptz default current_timestamp,
    primary key (source, key)
);

create table rejects (
    source      varchar not null,
    received_at timestamptz not null,
    n           integer not null,          -- position of the rejected item in its batch
    reason      varchar not null,
    raw         varchar,
    primary key (source, received_at, n)
);

-- Facts about the file itself, e.g. dataset = 'demo' for the synthetic offline demo.
create table meta (
    key   varchar primary key,
    value varchar
);
