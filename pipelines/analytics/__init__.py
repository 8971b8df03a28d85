"""Event studies: abnormal returns, CAR and significance tests over the DuckDB store.

Public API (stable; the dashboard codes against it):

    run_study(con, spec, config=None) -> StudyResult
        con: a DuckDB connection (read-only is enough); spec: a StudySpec.
        result.ar / .car / .summary / .confounders / .placebo are Polars frames whose column
        names are listed in AR_COLUMNS, CAR_COLUMNS, SUMMARY_COLUMNS, CONFOUNDER_COLUMNS,
        PLACEBO_COLUMNS.
    study_settings(config) -> StudySettings
        the validated [study] section of tickerwire.toml (benchmarks per asset class, staleness).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.analytics.spec import (
    AR_COLUMNS,
    CAR_COLUMNS,
    CONFOUNDER_COLUMNS,
    LEVELS,
    MODELS,
    PLACEBO_COLUMNS,
    PLACEBO_DRAW_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_STATS,
    StudyResult,
    StudySpec,
)

if TYPE_CHECKING:
    from pipelines.analytics.study import StudySettings, run_study, study_settings

# The engine (numpy, scipy.stats: ~0.5 s) loads on first use, so `tickerwire --help` and the
# commands that only need the spec's names start quickly.
_ENGINE = ("StudySettings", "run_study", "study_settings")


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from pipelines.analytics import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AR_COLUMNS",
    "CAR_COLUMNS",
    "CONFOUNDER_COLUMNS",
    "LEVELS",
    "MODELS",
    "PLACEBO_COLUMNS",
    "PLACEBO_DRAW_COLUMNS",
    "SUMMARY_COLUMNS",
    "SUMMARY_STATS",
    "StudyResult",
    "StudySettings",
    "StudySpec",
    "run_study",
    "study_settings",
]
