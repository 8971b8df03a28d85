-- The as-of price rule P(t) (DESIGN §4), written once: for each row of the table `targets`
-- (instrument_id, timeframe, tf_s, at, …) the close of the last bar of `closes`
-- (instrument_id, timeframe, close_at, close, … any other columns, returned too) whose close
-- time is at or before `at`.
-- fresh: that bar closed at most `stale_bars` bars before `at` (older is stale → missing).
-- market_closed: the instrument's market is shut at `at` (tw_in_session), so its last close
-- is the price a reader had — the callers decide where that exempts a price from staleness
-- (the anchor P(t0) of news that breaks while a market is shut).
-- Called as `from tw_prices_at(my_targets, my_closes, 2)` with CTE names of the calling query.
create or replace macro tw_prices_at(targets, closes, stale_bars) as table
    select t.*, c.* exclude (instrument_id, timeframe),
           coalesce(c.close_at >= t.at - to_seconds(stale_bars * t.tf_s), false) as fresh,
           not coalesce(tw_in_session(coalesce(i.calendar, '24/7'), t.at), true) as market_closed
    from query_table(targets) t
    left join instruments i on i.instrument_id = t.instrument_id
    asof left join query_table(closes) c
      on c.instrument_id = t.instrument_id and c.timeframe = t.timeframe and t.at >= c.close_at;
