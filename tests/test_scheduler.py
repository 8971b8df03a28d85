"""The scheduler: cron parsing (golden cases + properties), cadences, config, and the loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import store
from pipelines.cadence import Cron, CronError, Schedule, parse_cadence, parse_interval
from pipelines.config import parse_config
from pipelines.errors import ConfigError
from pipelines.gate import RefreshLock
from pipelines.scheduler import due_work, run_schedule
from pipelines.sources.http import HttpClient
from pipelines.sources.synthetic_source import SyntheticSource
from tests.ops_server import MarketServer

T = datetime(2026, 3, 6, 10, 7, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("*/5 * * * *", T, datetime(2026, 3, 6, 10, 10, tzinfo=UTC)),
        ("* * * * *", T, datetime(2026, 3, 6, 10, 8, tzinfo=UTC)),
        ("0 9 * * mon-fri", T, datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),  # Friday 10:07 → Monday
        ("30 3 1 * *", T, datetime(2026, 4, 1, 3, 30, tzinfo=UTC)),
        ("0 0 29 2 *", T, datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),  # next leap day
        ("15,45 8-10/2 * jan,mar *", T, datetime(2026, 3, 6, 10, 15, tzinfo=UTC)),
        ("0 12 * * 7", T, datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),  # 7 = Sunday
        # Both day fields restricted: either matches (the 13th OR a Friday) — today is Friday.
        ("0 18 13 * fri", T, datetime(2026, 3, 6, 18, 0, tzinfo=UTC)),
        ("0 0 13 * fri", datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 13, 0, 0, tzinfo=UTC)),
    ],
)
def test_cron_next_after_golden(expr, after, expected):
    assert Cron.parse(expr).next_after(after) == expected


def test_cron_in_a_time_zone_follows_daylight_saving():
    cron = Cron.parse("0 9 * * *")
    ny = ZoneInfo("America/New_York")
    # 9:00 New York is 14:00 UTC in winter and 13:00 UTC after the 8 March 2026 switch.
    assert cron.next_after(datetime(2026, 3, 6, 15, tzinfo=UTC), ny) == datetime(
        2026, 3, 7, 14, tzinfo=UTC
    )
    assert cron.next_after(datetime(2026, 3, 8, 15, tzinfo=UTC), ny) == datetime(
        2026, 3, 9, 13, tzinfo=UTC
    )


def _fires(expr: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Every firing instant (UTC) in [start, end)."""
    cron, zone, out = Cron.parse(expr), ZoneInfo(tz), []
    t = cron.next_after(start - timedelta(seconds=1), zone)
    while t < end:
        out.append(t)
        t = cron.next_after(t, zone)
    return out


# 2026 changes: New York springs forward on 8 March (02:00 EST → 03:00 EDT, 07:00 UTC) and falls
# back on 1 November (02:00 EDT → 01:00 EST, 06:00 UTC); London on 29 March (01:00 GMT → 02:00
# BST, 01:00 UTC) and 25 October (02:00 BST → 01:00 GMT, 01:00 UTC).
@pytest.mark.parametrize(
    ("tz", "start"),
    [
        ("America/New_York", datetime(2026, 11, 1, 5, tzinfo=UTC)),  # fall back
        ("America/New_York", datetime(2026, 3, 8, 6, tzinfo=UTC)),  # spring forward
        ("Europe/London", datetime(2026, 10, 25, 0, tzinfo=UTC)),
        ("Europe/London", datetime(2026, 3, 29, 0, tzinfo=UTC)),
    ],
)
def test_every_five_minutes_keeps_firing_every_five_real_minutes_across_a_change(tz, start):
    # Three real hours around the change: 36 firings, 5 minutes apart (the hand-written parser
    # fired 24 in New York on 1 November, leaving a 65-minute hole).
    fires = _fires("*/5 * * * *", tz, start, start + timedelta(hours=3))
    assert len(fires) == 36
    assert {b - a for a, b in zip(fires, fires[1:], strict=False)} == {timedelta(minutes=5)}


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        # 02:30 does not exist on spring-forward day: it runs once, at the jump (03:00 EDT),
        # not at 03:30 as before.
        ("America/New_York", datetime(2026, 3, 8), [datetime(2026, 3, 8, 7, 0, tzinfo=UTC)]),
        # London skips 01:00–02:00: 01:30 runs at the jump, 02:00 BST = 01:00 UTC.
        ("Europe/London", datetime(2026, 3, 29), [datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]),
    ],
)
def test_a_time_skipped_at_spring_forward_runs_once_at_the_jump(tz, day, expected):
    expr = "30 2 * * *" if tz == "America/New_York" else "30 1 * * *"
    start = day.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert _fires(expr, tz, start, start + timedelta(hours=23)) == expected


@pytest.mark.parametrize(
    ("tz", "day", "expected"),
    [
        # 01:30 happens twice on fall-back day; a daily job runs once, at the first (EDT/BST).
        ("America/New_York", datetime(2026, 11, 1), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("Europe/London", datetime(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_time_repeated_at_fall_back_runs_once(tz, day, expected):
    start = day.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert _fires("30 1 * * *", tz, start, start + timedelta(hours=25)) == [expected]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * * *", "wrong number of fields"),
        ("60 * * * *", "bad minute"),
        ("*/0 * * * *", "bad minute"),
        ("* 25 * * *", "bad hour"),
        ("* * * foo *", "bad month"),
        ("0 0 30 2 *", "bad day-of-month"),  # never fires
    ],
)
def test_cron_errors_name_the_field(expr, message):
    with pytest.raises(CronError, match=message):
        Cron.parse(expr).next_after(T)


def _field_values(text: str, low: int, high: int) -> set[int]:
    """The values a simple cron field (*, n, a-b, */s, lists) allows — the test's own reading."""
    values: set[int] = set()
    for part in text.split(","):
        if part == "*":
            values |= set(range(low, high + 1))
        elif part.startswith("*/"):
            values |= set(range(low, high + 1, int(part[2:])))
        elif "-" in part:
            a, b = map(int, part.split("-"))
            values |= set(range(a, b + 1))
        else:
            values.add(int(part))
    return values


def _field(low: int, high: int):
    single = st.integers(low, high).map(str)
    ranged = st.tuples(st.integers(low, high), st.integers(low, high)).map(
        lambda ab: f"{min(ab)}-{max(ab)}"
    )
    stepped = st.integers(1, 20).map(lambda s: f"*/{s}")
    item = st.one_of(st.just("*"), single, ranged, stepped)
    return st.lists(item, min_size=1, max_size=3).map(",".join)


@settings(max_examples=60, deadline=None)
@given(
    minute=_field(0, 59),
    hour=_field(0, 23),
    dow=st.one_of(st.just("*"), _field(0, 6)),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),
)
def test_cron_next_after_is_the_first_matching_minute(minute, hour, dow, start):
    minutes, hours = _field_values(minute, 0, 59), _field_values(hour, 0, 23)
    days = _field_values(dow, 0, 6)

    def matches(t: datetime) -> bool:
        return t.minute in minutes and t.hour in hours and t.isoweekday() % 7 in days

    after = start.replace(tzinfo=UTC)
    nxt = Cron.parse(f"{minute} {hour} * * {dow}").next_after(after)
    assert nxt > after and nxt.second == 0 and matches(nxt)
    # Brute force: no earlier minute after `after` fires (within a week, enough for these fields).
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < nxt:
        assert not matches(t), t
        t += timedelta(minutes=1)


@given(
    st.integers(1, 86_400 * 3),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_interval_cadence_is_aligned_to_the_clock(seconds, start):
    cadence = parse_cadence(f"{seconds}s")
    after = start.replace(tzinfo=UTC)
    nxt = cadence.next_after(after)
    assert after < nxt <= after + timedelta(seconds=seconds)
    assert nxt.timestamp() % seconds == 0


def test_parse_interval_and_cadence_text():
    assert parse_interval("5m") == timedelta(minutes=5)
    assert parse_interval("every 2h") == timedelta(hours=2)
    assert parse_interval("90s") == timedelta(seconds=90)
    assert parse_interval("0m") is None and parse_interval("5 minutes") is None
    assert parse_cadence("*/15 * * * *").typical == timedelta(minutes=15)
    assert parse_cadence("0 9 * * mon-fri").typical == timedelta(days=1)
    with pytest.raises(CronError, match="neither an interval"):
        parse_cadence("hourly")


def _config(schedule: dict):
    return parse_config({"schedule": schedule}, Path("test.toml"))


def test_schedule_defaults_and_overrides():
    default = Schedule.from_config(_config({}))
    assert {k: c.text for k, c in default.kinds.items()} == {
        "quotes": "1m",
        "prices": "5m",
        "news": "2m",
    }
    custom = Schedule.from_config(_config({"prices": "*/10 * * * *", "sources": {"gdelt": "15m"}}))
    assert custom.cadence_of("ccxt", ["prices", "quotes"]).text == "1m"  # its most frequent kind
    assert custom.cadence_of("gdelt", ["news"]).text == "15m"
    assert custom.kinds["prices"].typical == timedelta(minutes=10)


def test_schedule_config_errors_name_file_and_key():
    with pytest.raises(
        ConfigError, match=r"test.toml: schedule.prices: '61 \* \* \* \*': bad minute"
    ):
        Schedule.from_config(_config({"prices": "61 * * * *"}))
    with pytest.raises(
        ConfigError, match=r"schedule.bars: unknown key; allowed: prices, quotes, news"
    ):
        Schedule.from_config(_config({"bars": "5m"}))
    with pytest.raises(ConfigError, match=r"schedule.timezone: 'Mars/Base' is not an IANA"):
        Schedule.from_config(_config({"timezone": "Mars/Base"}))


class _Kinds:
    def __init__(self, *kinds):
        self.kinds = kinds


def test_due_work_groups_sources_by_their_due_kinds():
    schedule = Schedule.from_config(_config({"sources": {"gdelt": "15m"}}))
    sources = {"ccxt": _Kinds("prices", "quotes"), "rss": _Kinds("news"), "gdelt": _Kinds("news")}
    assert due_work(schedule, sources, {("kind", "quotes")}) == {frozenset({"quotes"}): ["ccxt"]}
    both = due_work(schedule, sources, {("kind", "quotes"), ("kind", "prices"), ("kind", "news")})
    assert both == {frozenset({"prices", "quotes"}): ["ccxt"], frozenset({"news"}): ["rss"]}
    assert due_work(schedule, sources, {("source", "gdelt")}) == {frozenset({"news"}): ["gdelt"]}


def test_run_schedule_refreshes_each_round_and_skips_while_locked(tmp_path):
    db = tmp_path / "s.duckdb"
    config = _config({"prices": "1s", "quotes": "1s", "news": "1d"})
    lines: list[str] = []
    with MarketServer(n_bars=30, bars_per_second=5) as srv:
        src = SyntheticSource(srv.url, ["BTC"], client=HttpClient(timeout=2, retries=1))
        rounds = run_schedule(
            db,
            config,
            stop=threading.Event(),
            sources={"synthetic": src},
            report=lines.append,
            max_rounds=3,
        )
        with RefreshLock(db, "refresh"):
            run_schedule(
                db,
                config,
                stop=threading.Event(),
                sources={"synthetic": src},
                report=lines.append,
                max_rounds=1,
            )
    assert rounds == 3
    with store.reader(db) as con:
        runs = con.execute("select status, n_stored from ingest_runs order by run_id").fetchall()
    assert [r[0] for r in runs] == ["ok", "ok", "ok"]
    assert runs[0][1] >= 31 and all(r[1] >= 1 for r in runs[1:])  # new bars arrived every round
    assert any("skipped prices,quotes: another refresh is running" in line for line in lines)


def test_stop_event_ends_the_loop_promptly(tmp_path):
    stop = threading.Event()
    stop.set()
    config = _config({"prices": "1d", "quotes": "1d", "news": "1d", "run_at_start": False})
    assert (
        run_schedule(tmp_path / "x.duckdb", config, stop=stop, sources={}, report=lambda _m: None)
        == 0
    )
