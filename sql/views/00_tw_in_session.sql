-- Is the market of calendar `cal_name` open at `instant`? Reads session_days (the generated
-- sessions keyed by UTC day, pipelines/calendars.py: holidays, early closes, lunch breaks; a
-- covered day without a session has one row with NULL times). '24/7' is always open; an
-- unknown calendar, or a day outside the generated years, is NULL: unknown, never a guess.
-- One equality lookup on (calendar, day): a range join over all sessions was 5-10x slower.
create or replace macro tw_in_session(cal_name, instant) as
    case
        when cal_name = '24/7' then true
        else (
            select case
                       when count(*) = 0 then null
                       else coalesce(bool_or(s.open_at <= instant and instant < s.close_at), false)
                   end
            from session_days s
            where s.calendar = cal_name and s.day = (instant at time zone 'UTC')::date
        )
    end;
