"""The `[dashboard]` section: how often the live parts of the pages update themselves.

[dashboard]
refresh = "10s"     # the ticker strip, Overview and Data health re-read the database this
                    # often (an interval: 5s, 30s, 1m); "off" updates them only on a click
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pipelines.config import Config
from pipelines.scheduler import parse_interval

DEFAULT_REFRESH = "10s"
MIN_REFRESH = timedelta(seconds=1)


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
