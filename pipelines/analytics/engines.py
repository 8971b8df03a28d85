"""Which engine runs a study: DuckDB on the file or a lake (default), or Spark on a lake."""

from __future__ import annotations

from pathlib import Path

from pipelines.analytics.spec import StudyResult, StudySpec
from pipelines.config import Config
from pipelines.errors import DataError

ENGINES = ("duckdb", "spark")


def run_on(
    engine: str, source: str | Path, spec: StudySpec, config: Config | None = None
) -> StudyResult:
    """Run `spec` with `engine` on `source` (a database file or a lake; Spark needs a lake)."""
    from pipelines import lake, store

    if engine not in ENGINES:
        raise DataError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "duckdb":
        from pipelines.analytics.study import run_study

        with store.reader(source) as con:
            return run_study(con, spec, config)
    if not lake.is_lake(source):
        raise DataError(
            f"the spark engine reads a Parquet lake, and {source} is not one; give --lake DIR "
            "(write one with `tickerwire export --to DIR`)"
        )
    from pipelines.analytics import spark_engine

    spark = spark_engine.spark_session(spark_engine.spark_settings(config))
    return spark_engine.run_spark_study(spark, str(source), spec, config)
