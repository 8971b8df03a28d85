"""Run an event study: SQL does alignment, returns, windows, AR and CAR; numpy the statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from pipelines.analytics.spec import StudyResult, StudySpec
from pipelines.config import Config


@dataclass(frozen=True)
class StudySettings:
    """The [study] config section: default benchmark per asset class, staleness limit in bars."""

    benchmarks: dict[str, str] = field(default_factory=dict)
    stale_bars: int = 2
    min_estimation: int = 30


def study_settings(config: Config | None) -> StudySettings:
    """Validate and return the [study] section (defaults when there is no config)."""
    raise NotImplementedError("study_settings: being written (issue 5)")


def run_study(
    con: duckdb.DuckDBPyConnection, spec: StudySpec, config: Config | None = None
) -> StudyResult:
    """Run the event study described by `spec` on the store behind `con`."""
    raise NotImplementedError("run_study: being written (issue 5)")
