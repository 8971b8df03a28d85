"""How a price or event file is to be read (the options `tickerwire import` and the Python
facade take), in one light module: the readers themselves load pyarrow only when a file is read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BarReading:
    """How to read a price file: the zone of times written without one, the name stored as the
    bars' source, the time column (None: detected) and the order of numeric dates."""

    tz: str = "UTC"
    source: str = "file"
    time_column: str | None = None
    dayfirst: bool | None = None


@dataclass(frozen=True)
class EventReading:
    """How to read an event file: the zone of times written without one, the time and title
    columns (None: detected), the outlet and category of every row, the order of numeric dates."""

    tz: str = "UTC"
    time_column: str | None = None
    title_column: str | None = None
    outlet: str | None = None
    category: str | None = None
    dayfirst: bool | None = None


def naive_note(n: int, tz: str) -> str:
    """The note that `n` times without a zone were read in `tz` (price and event files)."""
    return f"{n} times had no zone and were taken as {tz} (set --tz to change)"
