"""Settings of the live loop, read without importing what they configure (ccxt, streamlit).

`load_config` checks every section present in the file, so these readers must stay light: the
CLI starts without ccxt (tests/test_startup.py).

    [stream]                 # streamed crypto quotes (pipelines/sources/ccxt_stream.py)
    enabled = false          # true: `tickerwire schedule` streams without --stream
    venues = []              # only these venues (default: every venue the watchlist resolves to)
    flush_seconds = 1.0      # one commit per this many seconds at most (≥ 1)
    max_batch = 20000        # quote updates per commit; the rest wait for the next commit
    backoff_seconds = 1.0    # first reconnect delay, doubled per failure …
    backoff_max_seconds = 30.0   # … up to this
    [stream.urls]            # websocket URL per venue: a testnet, a proxy, a local replay server

    [dashboard]
    refresh = "10s"          # the strip, Overview and Data health re-read the database this
                             # often (5s, 30s, 1m); "off" updates them only on a click
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pipelines.cadence import parse_interval
from pipelines.config import Config

DEFAULT_REFRESH = "10s"
MIN_REFRESH = timedelta(seconds=1)


@dataclass(frozen=True)
class StreamSettings:
    """The validated `[stream]` section."""

    enabled: bool = False
    venues: tuple[str, ...] = ()
    flush_seconds: float = 1.0
    max_batch: int = 20_000
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> StreamSettings:
        """Read `[stream]`; errors name the file, the key and what is allowed."""
        sec = config.section("stream")
        sec.check_keys(
            (
                "enabled",
                "venues",
                "flush_seconds",
                "max_batch",
                "backoff_seconds",
                "backoff_max_seconds",
                "urls",
            )  # fmt: skip
        )
        flush = sec.get("flush_seconds", float, 1.0)
        if flush < 1.0:
            raise sec.fail("flush_seconds", f"{flush} is below 1 (one commit per second at most)")
        max_batch = sec.get("max_batch", int, 20_000)
        if max_batch < 1:
            raise sec.fail("max_batch", "must be at least 1")
        base = sec.get("backoff_seconds", float, 1.0)
        cap = sec.get("backoff_max_seconds", float, 30.0)
        if base <= 0 or cap < base:
            raise sec.fail("backoff_seconds", "must be > 0 and at most backoff_max_seconds")
        urls = sec.sub("urls")
        for venue in urls.data:
            url = urls.get(venue, str)
            if not url.startswith(("ws://", "wss://")):
                raise urls.fail(venue, f"{url!r} is not a ws:// or wss:// URL")
        return cls(
            enabled=sec.get("enabled", bool, False),
            venues=tuple(sec.str_list("venues")),
            flush_seconds=flush,
            max_batch=max_batch,
            backoff_seconds=base,
            backoff_max_seconds=cap,
            urls=dict(urls.data),
        )


@dataclass(frozen=True)
class DashboardSettings:
    """The validated `[dashboard]` section."""

    refresh: timedelta | None = timedelta(seconds=10)  # None: no timer

    @classmethod
    def from_config(cls, config: Config) -> DashboardSettings:
        """Read `[dashboard]`; errors name the file, the key and what is allowed."""
        sec = config.section("dashboard")
        sec.check_keys(("refresh",))
        text = sec.get("refresh", str, DEFAULT_REFRESH)
        if text.strip().lower() in ("off", "never", "0", "0s"):
            return cls(refresh=None)
        every = parse_interval(text)
        if every is None:
            raise sec.fail("refresh", f"{text!r} is not an interval (5s, 30s, 1m) or 'off'")
        if every < MIN_REFRESH:
            raise sec.fail("refresh", f"{text!r} is shorter than 1 s")
        return cls(refresh=every)
