-- Generated from pipelines/calendars.py (session_macro_sql); tests check they agree.
-- Minutes since Monday 00:00 in zone tz (isodow: Monday = 1, as Polars' weekday()).
create or replace macro tw_minute_of_week(ts, tz) as
    (isodow(timezone(tz, ts)) - 1) * 1440 + hour(timezone(tz, ts)) * 60 + minute(timezone(tz, ts));
-- Is the market of `calendar` open at instant ts? (weekly hours, no holidays)
create or replace macro tw_in_session(calendar, ts) as
    case calendar
        when '24/7' then true
        when 'cme_globex' then tw_minute_of_week(ts, 'America/Chicago') between 0 and 959 or tw_minute_of_week(ts, 'America/Chicago') between 1020 and 2399 or tw_minute_of_week(ts, 'America/Chicago') between 2460 and 3839 or tw_minute_of_week(ts, 'America/Chicago') between 3900 and 5279 or tw_minute_of_week(ts, 'America/Chicago') between 5340 and 6719 or tw_minute_of_week(ts, 'America/Chicago') between 9660 and 10079
        when 'ice_futures' then tw_minute_of_week(ts, 'Europe/London') between 60 and 1379 or tw_minute_of_week(ts, 'Europe/London') between 1500 and 2819 or tw_minute_of_week(ts, 'Europe/London') between 2940 and 4259 or tw_minute_of_week(ts, 'Europe/London') between 4380 and 5699 or tw_minute_of_week(ts, 'Europe/London') between 5820 and 7139
        when 'nyse' then tw_minute_of_week(ts, 'America/New_York') between 570 and 959 or tw_minute_of_week(ts, 'America/New_York') between 2010 and 2399 or tw_minute_of_week(ts, 'America/New_York') between 3450 and 3839 or tw_minute_of_week(ts, 'America/New_York') between 4890 and 5279 or tw_minute_of_week(ts, 'America/New_York') between 6330 and 6719
        when 'xetra' then tw_minute_of_week(ts, 'Europe/Berlin') between 540 and 1049 or tw_minute_of_week(ts, 'Europe/Berlin') between 1980 and 2489 or tw_minute_of_week(ts, 'Europe/Berlin') between 3420 and 3929 or tw_minute_of_week(ts, 'Europe/Berlin') between 4860 and 5369 or tw_minute_of_week(ts, 'Europe/Berlin') between 6300 and 6809
        when 'hkex' then tw_minute_of_week(ts, 'Asia/Hong_Kong') between 570 and 959 or tw_minute_of_week(ts, 'Asia/Hong_Kong') between 2010 and 2399 or tw_minute_of_week(ts, 'Asia/Hong_Kong') between 3450 and 3839 or tw_minute_of_week(ts, 'Asia/Hong_Kong') between 4890 and 5279 or tw_minute_of_week(ts, 'Asia/Hong_Kong') between 6330 and 6719
        when 'lse' then tw_minute_of_week(ts, 'Europe/London') between 480 and 989 or tw_minute_of_week(ts, 'Europe/London') between 1920 and 2429 or tw_minute_of_week(ts, 'Europe/London') between 3360 and 3869 or tw_minute_of_week(ts, 'Europe/London') between 4800 and 5309 or tw_minute_of_week(ts, 'Europe/London') between 6240 and 6749
        when 'fx_24/5' then tw_minute_of_week(ts, 'America/New_York') between 0 and 6779 or tw_minute_of_week(ts, 'America/New_York') between 9660 and 10079
        else null end;
