-- Is the market of calendar `cal_name` open at `instant`? Reads the generated `sessions` table
-- (pipelines/calendars.py: holidays, early closes, lunch breaks). '24/7' is always open; an
-- unknown calendar, or an instant outside the days generated for it (calendar_coverage), is
-- NULL: unknown, never a guess.
create or replace macro tw_in_session(cal_name, instant) as
    case
        when cal_name = '24/7' then true
        when not exists (
            select 1 from calendar_coverage c
            where c.calendar = cal_name
              and instant >= c.first_day::timestamp at time zone 'UTC'
              and instant < (c.last_day + 1)::timestamp at time zone 'UTC'
        ) then null
        else exists (
            select 1 from sessions s
            where s.calendar = cal_name and s.open_at <= instant and instant < s.close_at
        )
    end;
