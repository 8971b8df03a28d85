"""Price files: CSV or Parquet OHLCV (or close-only `Date,Price`) → a validated bars frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.errors import DataError
from pipelines.schemas import BAR_SCHEMA, TIMEFRAMES, conform, validate_bars
from pipelines.store import Reject
from pipelines.timeparse import parse_times

READABLE = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}

# Column names we recognise, most specific first (compared case-insensitively, spaces → _).
TIME_NAMES = (
    "ts", "timestamp", "datetime", "date_time", "time", "date", "open_time", "opentime",
    "gmt_time", "local_time", "time_utc", "bar_time",
)  # fmt: skip
PRICE_NAMES = {
    "open": ("open", "o", "open_price", "opening_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price", "price", "last", "adj_close", "value", "settle"),
    "volume": ("volume", "vol", "v", "base_volume", "quantity"),
}


@dataclass
class BarFile:
    """A price file read and checked: the rows to store, the refused ones, and what was assumed."""

    bars: pl.DataFrame
    rejects: list[Reject]
    n_read: int
    columns_used: dict[str, str]
    notes: list[str] = field(default_factory=list)


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV (all columns as text, so bad cells can be reported) or a Parquet file."""
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a file")
    kind = READABLE.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"unknown format {path.suffix or '(no extension)'!r} for {path}; use CSV or Parquet"
        )
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        return pl.read_csv(
            path, infer_schema_length=0, separator=separator, truncate_ragged_lines=True
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"cannot read {path} as {kind}: {str(exc).splitlines()[0]}") from exc


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def detect_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose normalised name is one of the candidates (in candidate order)."""
    by_norm = {_norm(c): c for c in columns}
    return next((by_norm[c] for c in candidates if c in by_norm), None)


def read_bar_file(
    path: Path,
    instrument_id: str,
    timeframe: str,
    *,
    tz: str = "UTC",
    source: str = "file",
    time_column: str | None = None,
) -> BarFile:
    """Read a price file into bars (ts = bar open, UTC); refuse bad rows with their reasons."""
    if timeframe not in TIMEFRAMES:
        raise DataError(f"unknown timeframe {timeframe!r}; allowed: {', '.join(TIMEFRAMES)}")
    table = read_table(path)
    if table.height == 0:
        raise DataError(f"{path} has no rows")
    columns = table.columns
    time_col = time_column or detect_column(columns, TIME_NAMES)
    if time_col is None or time_col not in columns:
        raise DataError(
            f"{path}: no time column found (columns: {', '.join(columns)}); name it with --time-column"
        )
    used = {"ts": time_col}
    for target, names in PRICE_NAMES.items():
        col = detect_column([c for c in columns if c != time_col], names)
        if col is not None:
            used[target] = col
    if "close" not in used:
        raise DataError(f"{path}: no price/close column found (columns: {', '.join(columns)})")

    times = parse_times(table[time_col], tz)
    frame = pl.DataFrame({"ts": times.ts})
    problems = times.problems
    for target in ("open", "high", "low", "close", "volume"):
        if target not in used:
            continue
        raw = table[used[target]]
        values = raw.cast(pl.Float64, strict=False) if raw.dtype != pl.Float64 else raw
        if raw.dtype == pl.Utf8:
            bad = raw.str.strip_chars().str.len_chars().gt(0) & values.is_null()
            problems = pl.select(
                pl.when(pl.lit(problems).is_null() & pl.lit(bad))
                .then(pl.lit(f"not a number in {used[target]}: ") + pl.lit(raw))
                .otherwise(pl.lit(problems))
            ).to_series()
        frame = frame.with_columns(values.alias(target))
    frame = frame.with_columns(
        pl.lit(instrument_id).alias("instrument_id"),
        pl.lit(timeframe).alias("timeframe"),
        pl.lit(source).alias("source"),
        problems.alias("_parse_problem"),
    )
    parse_bad = frame.filter(pl.col("_parse_problem").is_not_null())
    rejects = [
        Reject(reason=row["_parse_problem"], raw=_raw_row(table, i))
        for i, row in zip(
            frame.with_row_index("_i")
            .filter(pl.col("_parse_problem").is_not_null())["_i"]
            .to_list(),
            parse_bad.iter_rows(named=True),
            strict=True,
        )
    ]
    frame = frame.filter(pl.col("_parse_problem").is_null()).drop("_parse_problem")
    good, invalid = validate_bars(conform(frame, BAR_SCHEMA))
    notes = []
    if times.naive_rows:
        notes.append(
            f"{times.naive_rows} times had no zone and were taken as {tz} (set --tz to change)"
        )
    else:
        notes.append("times carried their own zone (or epoch); converted to UTC")
    return BarFile(good, rejects + invalid, table.height, used, notes)


def _raw_row(table: pl.DataFrame, index: int) -> str:
    return ",".join("" if v is None else str(v) for v in table.row(index))
