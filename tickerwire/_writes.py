"""Writes from the library: the functions the CLI's import commands call, so rules and counts match.

This module is the one place the facade writes. `import_bars_file` / `import_events_file`
(pipelines/commands/imports.py) open the database through the project's single writer entry
point (`store.writing`) and return what they did; the CLI prints the same objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.commands import AppState
from pipelines.store import Reject, UpsertResult


@dataclass(frozen=True)
class ImportReport:
    """What an import did, with the counts `tickerwire import …` prints.

    read: rows in the file; stored = inserted + updated; present: rows already stored unchanged
    (or repeated within the file); rejected: rows refused, each kept in the `rejects` table.
    """

    read: int
    stored: int
    inserted: int
    updated: int
    present: int
    rejected: int
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        """Rejected rows per kind of reason ("unparseable time", "non-positive price", …)."""
        return dict(Counter(r.reason.split(": ", 1)[0] for r in self.rejects).most_common())

    def __str__(self) -> str:
        return (
            f"read {self.read} rows: stored {self.stored} ({self.inserted} new, "
            f"{self.updated} changed), {self.present} already present, {self.rejected} rejected"
        )


def _report(
    n_read: int,
    result: UpsertResult,
    rejects: list[Reject],
    columns: dict[str, str],
    notes: list[str],
) -> ImportReport:
    return ImportReport(
        read=n_read,
        stored=result.stored,
        inserted=result.inserted,
        updated=result.updated,
        present=result.unchanged + result.duplicates_in_batch,
        rejected=len(rejects),
        columns=dict(columns),
        notes=list(notes),
        rejects=list(rejects),
    )


def import_bars(
    state: AppState, path: Path, instrument: str, timeframe: str, **options: Any
) -> ImportReport:
    """Store a price file's bars as `tickerwire import bars` does."""
    from pipelines.file_imports import import_bars_file
    from pipelines.sources.file_reading import BarReading

    reading = BarReading(**options)
    done = import_bars_file(state.config, state.db_path, path, instrument, timeframe, reading)
    notes = [*done.notes, *([f"created instrument {instrument}"] if done.created else [])]
    return _report(done.n_read, done.result, done.rejects, done.columns_used, notes)


def import_events(state: AppState, path: Path, **options: Any) -> ImportReport:
    """Store an event file's events, reports and links as `tickerwire import events` does."""
    from pipelines.file_imports import import_events_file
    from pipelines.sources.file_reading import EventReading

    done = import_events_file(state.config, state.db_path, path, EventReading(**options))
    parsed = done.parsed
    return _report(
        parsed.n_read, done.results["events"], parsed.rejects, parsed.columns_used, parsed.notes
    )
