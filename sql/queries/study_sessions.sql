-- One trading calendar's sessions [open_at, close_at) in µs since the epoch, by open time.
-- Binds $calendar.
with final as (
    select epoch_us(open_at) as open_us, epoch_us(close_at) as close_us
    from sessions
    where calendar = $calendar
    order by open_at
)
select * from final
