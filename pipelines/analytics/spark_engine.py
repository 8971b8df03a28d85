"""The event study on Spark, over a Parquet lake: same answers as the DuckDB engine.

The driver resolves events, instruments, pairs and windows from the lake's small tables (a lake
reader, pipelines/lake.py) exactly as the DuckDB engine does; the heavy step — reading bars,
aligning every pair on its event-time grid and computing its AR — runs on Spark, one group per
target instrument: its bars plus its benchmark's bars (`groupBy(...).cogroup(...)
.applyInArrow`) with its pairs, each group aligned by the project's own code
(partition.partition_rows). The collected AR rows go back to the driver, where the same CAR
sums and cross-sectional statistics (pipelines.analytics.stats) run as for the DuckDB engine.
pyspark is optional: `pip install 'tickerwire[spark]'` (and a Java 17 runtime).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from pipelines.analytics import partition
from pipelines.analytics.spec import StudyResult, StudySpec
from pipelines.config import Config
from pipelines.errors import DataError

INSTALL_HINT = "the spark engine needs pyspark: pip install 'tickerwire[spark]' (and Java 17)"
# Bars read before a group's first grid instant: the last price before a long closure
# (a weekend plus a holiday) is still a valid as-of price on a session calendar.
PAD = timedelta(days=10)


@dataclass(frozen=True)
class SparkSettings:
    """The [spark] section: master URL and extra Spark conf (e.g. s3a storage options)."""

    master: str = "local[2]"
    conf: dict[str, str] = field(default_factory=dict)


def spark_settings(config: Config | None) -> SparkSettings:
    """Validate [spark] (`master`, `[spark.conf]`); TICKERWIRE_SPARK_MASTER overrides master."""
    master = os.environ.get("TICKERWIRE_SPARK_MASTER")
    if config is None or "spark" not in config.raw:
        return SparkSettings(master=master or "local[2]")
    sec = config.section("spark")
    sec.check_keys(("master", "conf"))
    conf = sec.sub("conf")
    values = {}
    for key, value in conf.data.items():
        if not isinstance(value, str | int | float | bool):
            raise conf.fail(key, "must be a string, number or boolean")
        values[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return SparkSettings(master=master or sec.get("master", str, "local[2]"), conf=values)


def spark_session(settings: SparkSettings) -> Any:
    """The SparkSession (created once per process): UTC, Arrow on, partition ids kept as text."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise DataError(INSTALL_HINT) from exc
    builder = (
        SparkSession.builder.appName("tickerwire-study")
        .master(settings.master)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # no bars in the middle of CLI output
    )
    if settings.master.startswith("local"):
        # local workers run this interpreter (the venv with tickerwire), not the first python3
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # a few tasks per core, not Spark's 200 mostly empty shuffle tasks on one machine
        builder = builder.config("spark.sql.shuffle.partitions", "4")
        # local mode runs the executor inside the driver's JVM: its default 1 GB heap ran out
        # collecting the AR rows of a 30M-bar study (bench/bench_scale.py)
        builder = builder.config("spark.driver.memory", "6g")
    for key, value in settings.conf.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # Java missing or the master unreachable: one line for the user
        raise DataError(
            f"cannot start Spark ({settings.master}): {str(exc).splitlines()[0]}"
        ) from exc


def run_spark_study(
    spark: Any, lake: str, spec: StudySpec, config: Config | None = None
) -> StudyResult:
    """Run the study on Spark over the lake at `lake` (a folder or a URL Spark and DuckDB read)."""
    from pipelines import store
    from pipelines.analytics.study import run_study

    with store.reader(lake) as con:
        return run_study(con, spec, config, aligner=SparkAligner(spark, lake))


@dataclass
class SparkAligner:
    """study.abnormal_rows' signature, run on Spark: one group per target instrument."""

    spark: Any
    lake: str
    stats: dict[str, int] = field(default_factory=dict)  # groups and rows of the last run

    def __call__(
        self,
        con: duckdb.DuckDBPyConnection,
        pairs: pl.DataFrame,
        geometry: Any,
        model: str,
        stale: int,
    ) -> Any:
        """Align and compute AR for every pair on Spark; the driver gets them back as Rows."""
        grouped = _grouped_pairs(pairs)
        routes = _routes(grouped, pairs, geometry)
        sessions, session_days = _sessions(con, pairs)
        bars = self._bars(routes, geometry)
        spark_pairs = self.spark.createDataFrame(_arrow(grouped))
        fn = _partition_fn(sessions, session_days, geometry, model, stale)
        out = (
            bars.groupBy("group_id")
            .cogroup(spark_pairs.groupBy("group_id"))
            .applyInArrow(fn, schema=_spark_schema())
        )
        table = out.toArrow()
        self.stats = {"groups": grouped["group_id"].n_unique(), "rows": table.num_rows}
        return partition.split_rows(table)

    def _bars(self, routes: pl.DataFrame, geometry: Any) -> Any:
        """The bars each group needs (its instrument's and its benchmarks'), from the lake."""
        from pyspark.sql import functions as F

        path = f"{self.lake.rstrip('/')}/bars"
        wanted = routes["instrument_id"].unique().to_list()
        bars = (
            self.spark.read.option("basePath", path)
            .parquet(path)
            .where((F.col("timeframe") == geometry.timeframe) & F.col("instrument_id").isin(wanted))
            .select("instrument_id", "timeframe", "ts", "close")
        )
        route_df = self.spark.createDataFrame(_arrow(routes))
        joined = bars.join(F.broadcast(route_df), on="instrument_id")
        if not geometry.daily:  # daily numbering counts every trading day: whole series
            joined = joined.where((F.col("ts") >= F.col("lo")) & (F.col("ts") <= F.col("hi")))
        return joined.select("group_id", "instrument_id", "timeframe", "ts", "close")


def _grouped_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """Each target pair in its instrument's group, each benchmark pair in every group using it."""
    targets = pairs.filter(pl.col("is_target")).with_columns(
        pl.col("instrument_id").alias("group_id")
    )
    used = (
        targets.select("group_id", pl.col("bench_pair_id").alias("pair_id")).drop_nulls().unique()
    )
    benches = pairs.filter(~pl.col("is_target")).join(used, on="pair_id")
    return pl.concat([targets, benches.select(targets.columns)])


def _routes(grouped: pl.DataFrame, pairs: pl.DataFrame, geometry: Any) -> pl.DataFrame:
    """(group_id, instrument_id, lo, hi): which instrument's bars a group reads, over which span."""
    step = timedelta(microseconds=geometry.step_us)
    return (
        grouped.group_by("group_id", "instrument_id")
        .agg(pl.col("t0").min().alias("first"), pl.col("t0").max().alias("last"))
        .select(
            "group_id",
            "instrument_id",
            (pl.col("first") + step * geometry.k_lo - step * 2 - PAD).alias("lo"),
            (pl.col("last") + step * (geometry.k_hi + 1) + PAD).alias("hi"),
        )
    )


def _sessions(con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame) -> tuple[pa.Table, pa.Table]:
    """The sessions and session_days of the pairs' calendars (small: shipped to every task)."""
    calendars = pairs["calendar"].unique().to_list()
    tables = []
    for name in ("sessions", "session_days"):
        rel = con.execute(
            f"select * from {name} where list_contains($c, calendar)", {"c": calendars}
        )
        tables.append(rel.to_arrow_table())
    return tables[0], tables[1]


def _partition_fn(
    sessions: pa.Table, session_days: pa.Table, geometry: Any, model: str, stale: int
):
    """The function each cogroup runs: (bars, pairs) → ROW_SCHEMA rows, via partition_rows."""

    def run(bars: pa.Table, pairs: pa.Table) -> pa.Table:
        if pairs.num_rows == 0 or not any(pairs.column("is_target").to_pylist()):
            return partition.ROW_SCHEMA.empty_table()
        bars = bars.drop_columns(["group_id"]).cast(
            pa.schema([("instrument_id", pa.string()), ("timeframe", pa.string()),
                       ("ts", pa.timestamp("us", tz="UTC")), ("close", pa.float64())])
        )  # fmt: skip
        pairs = pairs.drop_columns(["group_id"])
        pairs = pairs.set_column(
            pairs.schema.get_field_index("t0"),
            "t0",
            pairs.column("t0").cast(pa.timestamp("us", tz="UTC")),
        )
        return partition.partition_rows(bars, pairs, sessions, session_days, geometry, model, stale)

    return run


def _spark_schema() -> Any:
    """ROW_SCHEMA as a Spark schema."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(partition.ROW_SCHEMA)


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """A frame as Arrow with plain strings (what Spark's createDataFrame takes)."""
    table = frame.to_arrow()
    fields = [
        pa.field(f.name, pa.string())
        if pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))
