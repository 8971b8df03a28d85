"""Times into UTC instants — the one place that reads them.

`parse_times` reads a column of a file (vectorised, a reason for each refused row);
`parse_published` reads one printed time (a feed's, an outlet's) with its precision, and
`parse_iso_option` a user's command-line instant. Zones follow one set of rules (`zones`).
"""

from pipelines.timeparse.columns import ParsedTimes, parse_times
from pipelines.timeparse.printed import ParsedTime, parse_iso_option, parse_published
from pipelines.timeparse.zones import resolve_zone

__all__ = [
    "ParsedTime",
    "ParsedTimes",
    "parse_iso_option",
    "parse_published",
    "parse_times",
    "resolve_zone",
]
