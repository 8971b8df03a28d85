"""Lake mode: read a Hive-partitioned Parquet lake (written by `tickerwire export`) in place.

A lake reader is an in-memory DuckDB connection whose tables are views over the lake's Parquet
files (pipelines/export.py: `load_statements`) plus the project's own views and macros
(sql/views), so every reader — `study`, `sql`, `status`, the dashboard — runs unchanged on it.
The lake is a local folder or an object-storage URL that DuckDB's httpfs extension reads
(s3://, gs://, az://, https://); `[store.storage]` settings are applied to the connection.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.config import Config
from pipelines.errors import ConfigError, StoreError
from pipelines.paths import view_files

MANIFEST = "_manifest.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Layout:
    """How one table is written: the time column that sets year/month, and leading partition keys."""

    time_column: str | None  # None: not partitioned (one file)
    keys: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    # The column whose newest value changes on every write, for the cheap change check of a
    # partition (bars: billions of rows, no hash pass); None: a hash of the partition's rows.
    stamp: str | None = None

    @property
    def partition_by(self) -> tuple[str, ...]:
        """The Hive partition columns, outermost first (empty: one file)."""
        return (*self.keys, "year", "month") if self.time_column else ()


LAYOUTS: dict[str, Layout] = {
    "instruments": Layout(None, order=("instrument_id",)),
    "bars": Layout("ts", ("instrument_id",), ("timeframe", "ts"), stamp="ingested_at"),
    "quotes": Layout("ts", ("instrument_id",), ("ts", "source")),
    "articles": Layout("published_at", (), ("published_at", "article_id")),
    "events": Layout("event_at", (), ("event_at", "event_id")),
    "event_articles": Layout(None, order=("event_id", "article_id")),
    "event_instruments": Layout(None, order=("event_id", "instrument_id")),
    # what the study's session rule and `status` read (sql/views, study_align_intraday.sql)
    "sessions": Layout(None, order=("calendar", "open_at")),
    "session_days": Layout(None, order=("calendar", "day", "open_at")),
    "ingest_runs": Layout(None, order=("run_id",)),
    "rejects": Layout(None, order=("source", "received_at", "n")),
    "calendar_coverage": Layout(None, order=("calendar",)),
    "alerts": Layout(None),
    "meta": Layout(None, order=("key",)),  # the dashboard's demo/sample labels
    # the file's migration log: a lake reader checks the lake's schema against it (views.py)
    "_migrations": Layout(None, order=("name",)),
}
PARTITION_TYPES = {"instrument_id": "VARCHAR", "year": "INTEGER", "month": "INTEGER"}


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_sql(dest: str | Path, table: str, columns: list[str]) -> str:
    """The DuckDB query that reads an exported table back with its original columns and types.

    `dest` is a local folder or an object-storage URL (s3://bucket/lake) that DuckDB reads."""
    layout = LAYOUTS[table]
    root = str(dest).rstrip("/") if "://" in str(dest) else str(Path(dest).resolve())
    pattern = f"{root}/{table}/" + ("**/*.parquet" if layout.time_column else "*.parquet")
    cols = ", ".join(quote_ident(c) for c in columns)
    if not layout.time_column:
        return f"select {cols} from read_parquet({_literal(pattern)})"
    types = ", ".join(f"'{k}': '{PARTITION_TYPES[k]}'" for k in layout.partition_by)
    return (
        f"select {cols} from read_parquet({_literal(pattern)}, hive_partitioning = true, "
        f"hive_types = {{{types}}})"
    )


def load_statements(dest: str | Path, tables: dict[str, list[str]]) -> list[str]:
    """The statements that make a DuckDB connection read the lake: one view per exported table,
    then the project's own views and macros (sql/views), so queries see what the file offers."""
    out = [
        f"create or replace view {t} as {read_sql(dest, t, cols)};" for t, cols in tables.items()
    ]
    out.extend(p.read_text(encoding="utf-8").strip() for p in view_files())
    return out


REMOTE_SCHEMES = (
    "s3://",
    "s3a://",
    "gs://",
    "gcs://",
    "az://",
    "abfss://",
    "r2://",
    "https://",
    "http://",
)
# Credentials come from the environment only (never the config file): env name → DuckDB setting.
STORAGE_SECRETS_ENV = {
    "TICKERWIRE_S3_ACCESS_KEY_ID": "s3_access_key_id",
    "TICKERWIRE_S3_SECRET_ACCESS_KEY": "s3_secret_access_key",
    "TICKERWIRE_S3_SESSION_TOKEN": "s3_session_token",
}


@dataclass(frozen=True)
class LakeSettings:
    """The [store] section: where the lake is and the DuckDB settings that reach its storage."""

    lake: str | None = None
    storage: dict[str, str] = field(default_factory=dict)


def lake_settings(config: Config | None) -> LakeSettings:
    """Validate and return [store] (`lake`, `[store.storage]`); TICKERWIRE_LAKE overrides lake."""
    lake = os.environ.get("TICKERWIRE_LAKE") or None
    if config is None or "store" not in config.raw:
        return LakeSettings(lake=lake)
    sec = config.section("store")
    sec.check_keys(("lake", "storage"))
    storage = sec.sub("storage")
    values = {}
    for key, value in storage.data.items():
        if not key.replace("_", "").isalnum():
            raise storage.fail(key, "is not a DuckDB setting name")
        if not isinstance(value, str | int | float | bool):
            raise storage.fail(key, "must be a string, number or boolean (a DuckDB setting)")
        values[key] = str(value)
    return LakeSettings(lake=lake or sec.get("lake", str, None), storage=values)


def is_remote(location: str | Path) -> bool:
    """True for an object-storage or HTTP URL (read through DuckDB's httpfs extension)."""
    return str(location).lower().startswith(REMOTE_SCHEMES)


def is_lake(location: str | Path) -> bool:
    """True when `location` is a lake: a URL, or a folder holding an export's _manifest.json."""
    return is_remote(location) or (Path(location) / MANIFEST).is_file()


def open_reader(
    location: str | Path, storage: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose tables, views and macros read the lake at `location`."""
    con = duckdb.connect(":memory:", config={"asof_loop_join_threshold": 0})
    try:
        con.execute("set enable_progress_bar = false")
        if is_remote(location):
            if storage is None:  # the configured [store.storage] settings
                from pipelines.config import load_config

                storage = lake_settings(load_config(check_all=False)).storage
            _reach_storage(con, str(location), storage)
        create_views(con, location)
    except BaseException:
        con.close()
        raise
    return con


def create_views(con: duckdb.DuckDBPyConnection, location: str | Path) -> None:
    """Create the lake's tables (views over its Parquet) and sql/views on `con`."""
    manifest = _manifest(con, location)
    tables = {t: info["columns"] for t, info in manifest["tables"].items() if info.get("columns")}
    if "bars" not in tables:
        raise StoreError(
            f"lake {location}: its _manifest.json lists no bars; re-run `tickerwire export --to {location}`"
        )
    for statement in load_statements(location, tables):
        con.execute(statement)


def _manifest(con: duckdb.DuckDBPyConnection, location: str | Path) -> dict:
    """The lake's _manifest.json (the tables and their columns)."""
    where = f"{str(location).rstrip('/')}/{MANIFEST}"
    try:
        if is_remote(location):
            text = con.execute("select content from read_text(?)", [where]).fetchall()[0][0]
        else:
            text = Path(where).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError, duckdb.Error) as exc:
        raise StoreError(
            f"no lake at {location} (cannot read {MANIFEST}: {str(exc).splitlines()[0]}); "
            f"write one with `tickerwire export --to {location}`"
        ) from exc


def _reach_storage(con: duckdb.DuckDBPyConnection, location: str, storage: dict[str, str]) -> None:
    """Load httpfs and apply the storage settings and credentials (from the environment)."""
    try:
        con.execute("load httpfs")
    except duckdb.Error as exc:
        raise StoreError(
            f"reading {location} needs DuckDB's httpfs extension, which is not installed "
            f"(`duckdb -c 'install httpfs'` with internet access): {str(exc).splitlines()[0]}"
        ) from exc
    settings = dict(storage)
    settings.update({s: os.environ[e] for e, s in STORAGE_SECRETS_ENV.items() if os.environ.get(e)})
    for key, value in settings.items():
        try:
            con.execute(f"set {key} = {_literal(value)}")
        except duckdb.Error as exc:
            raise ConfigError(f"[store.storage] {key}: {str(exc).splitlines()[0]}") from exc
