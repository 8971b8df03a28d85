-- Trading sessions per calendar (pipelines/calendars.py generates them with
-- pandas_market_calendars when this migration is applied and on `tickerwire calendars refresh`):
-- one row per open interval [open_at, close_at), so holidays, early closes and lunch breaks are
-- in the data. calendar_coverage says which days each calendar was generated for; outside them
-- tw_in_session() is NULL (unknown).
create table sessions (
    calendar varchar not null,
    open_at timestamptz not null,
    close_at timestamptz not null
);
-- The same intervals under each UTC day they touch, and every generated day without one as a
-- row with NULL times, so that tw_in_session() reads an instant's sessions by an equality
-- lookup on (calendar, day) and tells "closed" from "not generated".
create table session_days (
    calendar varchar not null,
    day date not null,
    open_at timestamptz,
    close_at timestamptz
);
create table calendar_coverage (
    calendar varchar primary key,
    first_day date not null,
    last_day date not null,
    generator varchar not null,
    generated_at timestamptz not null
);
