"""Price files: CSV, Parquet or Arrow IPC/Feather OHLCV (or close-only `Date,Price`) → bars.

Files are read in chunks of at most CHUNK_ROWS rows, so memory stays bounded whatever the
file's size; `iter_bar_file` yields one checked chunk at a time and `read_bar_file` collects
them for callers that want the whole file.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pa_parquet

from pipelines.errors import DataError, first_line
from pipelines.schemas import BAR_SCHEMA, TIMEFRAMES, bar_problems, conform
from pipelines.sources.file_reading import BarReading, naive_note
from pipelines.store import Reject
from pipelines.timeparse import parse_times

READABLE = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "arrow",  # freqtrade's default data format
    ".arrow": "arrow",
    ".ipc": "arrow",
}
CHUNK_ROWS = 200_000

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
VALUE_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass
class BarFile:
    """A price file (or one chunk of it) read and checked: rows to store, refused ones, notes."""

    bars: pl.DataFrame
    rejects: list[Reject]
    n_read: int
    columns_used: dict[str, str]
    notes: list[str] = field(default_factory=list)


def _check_path(path: Path) -> str:
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a file")
    kind = READABLE.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"unknown format {path.suffix or '(no extension)'!r} for {path}; "
            "use CSV, Parquet or Arrow IPC/Feather"
        )
    return kind


def iter_table(
    path: Path, chunk_rows: int = CHUNK_ROWS, bad_lines: list[Reject] | None = None
) -> Iterator[pl.DataFrame]:
    """Read a file in chunks: CSV with every column as text (bad cells can be reported), else typed.

    CSV lines with the wrong number of fields are appended to `bad_lines` (when given) as
    rejects instead of failing the file.
    """
    kind = _check_path(path)
    try:
        if kind == "parquet":
            for batch in pa_parquet.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield pl.from_arrow(pa.Table.from_batches([batch]))
        elif kind == "arrow":
            yield from _iter_arrow(path, chunk_rows)
        else:
            yield from _iter_csv(path, chunk_rows, bad_lines)
    except (pa.ArrowException, pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} as {kind}: {first_line(exc)}") from exc


def _iter_arrow(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    source = pa.memory_map(str(path))
    try:
        reader = pa_ipc.open_file(source)
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        source.seek(0)
        batches = iter(pa_ipc.open_stream(source))
    for batch in batches:
        for start in range(0, max(batch.num_rows, 1), chunk_rows):
            piece = batch.slice(start, chunk_rows)
            if piece.num_rows:
                yield pl.from_arrow(pa.Table.from_batches([piece]))


def _iter_csv(
    path: Path, chunk_rows: int, bad_lines: list[Reject] | None
) -> Iterator[pl.DataFrame]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise DataError(f"{path} has no rows")

    def on_bad_line(row: pa_csv.InvalidRow) -> str:
        if bad_lines is not None:
            bad_lines.append(
                Reject(
                    f"wrong number of fields ({row.actual_columns}, header has {row.expected_columns})",
                    f"line {row.number}: {row.text[:1900]}" if row.number else row.text[:1900],
                )
            )
        return "skip"

    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=1 << 22, use_threads=False),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_bad_line),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in reader:
            while batch.num_rows:
                piece = batch.slice(0, chunk_rows - rows)
                batch = batch.slice(piece.num_rows)
                pending.append(piece)
                rows += piece.num_rows
                if rows == chunk_rows:
                    yield pl.from_arrow(pa.Table.from_batches(pending))
                    pending, rows = [], 0
        if pending:
            yield pl.from_arrow(pa.Table.from_batches(pending))
    finally:
        # A reader holding our Python row handler must not outlive the interpreter: left to
        # the shutdown it aborts the process ("terminate called without an active exception").
        reader.close()
        # The reader and our row handler sit in a reference cycle; left to the interpreter's
        # exit, freeing them aborts the process ("terminate called without an active
        # exception"), so the cycle is collected here.
        del reader, on_bad_line
        gc.collect()


def read_table(path: Path, bad_lines: list[Reject] | None = None) -> pl.DataFrame:
    """Read a whole CSV (all columns as text), Parquet or Arrow IPC file into one frame.

    CSV lines with the wrong number of fields go to `bad_lines` (pass a list to keep them).
    """
    chunks = list(iter_table(path, bad_lines=bad_lines))
    if not chunks:
        raise DataError(f"{path} has no rows")
    return pl.concat(chunks, how="vertical_relaxed")


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def detect_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose normalised name is one of the candidates (in candidate order)."""
    by_norm = {_norm(c): c for c in columns}
    return next((by_norm[c] for c in candidates if c in by_norm), None)


def _columns_used(path: Path, columns: list[str], time_column: str | None) -> dict[str, str]:
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
    return used


@dataclass
class _StreamState:
    """What one chunk tells the next: the epoch unit, the bar grid, the last rows seen."""

    epoch_unit: str | None = None
    phase_us: int | None = None  # bar opens sit at phase + k·timeframe (µs since the epoch)
    rows_before: int = 0
    # key → (row number, values) of the previous chunk, so a duplicate across the chunk
    # boundary of a time-ordered file is still compared with its first occurrence
    previous: pl.DataFrame | None = None
    naive_rows: int = 0


def iter_bar_file(
    path: Path,
    instrument_id: str,
    timeframe: str,
    reading: BarReading = BarReading(),
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[BarFile]:
    """Read a price file chunk by chunk into bars (ts = bar open, UTC), refusing bad rows.

    Refused, with the row number: unreadable times, epochs in another unit than the column's,
    NaN/inf/zero/negative prices, OHLC that contradict each other (open or close outside
    low…high), times off the file's grid of `timeframe`, and a second row for a time already
    seen with other values. A file whose rows are mostly further apart than `timeframe` is
    refused as a whole (a wrong --timeframe), before anything is stored.
    """
    if timeframe not in TIMEFRAMES:
        raise DataError(f"unknown timeframe {timeframe!r}; allowed: {', '.join(TIMEFRAMES)}")
    step_us = int(TIMEFRAMES[timeframe].total_seconds() * 1_000_000)
    bad_lines: list[Reject] = []
    state = _StreamState()
    used: dict[str, str] | None = None
    any_rows = False
    # closing(): an error here must close the reader now, not whenever the traceback dies
    with closing(iter_table(path, chunk_rows, bad_lines)) as tables:
        for table in tables:
            if table.height == 0:
                continue
            if used is None:
                used = _columns_used(path, table.columns, reading.time_column)
            chunk = _check_chunk(
                path, table, used, instrument_id, timeframe, reading, step_us, state
            )
            chunk.rejects[:0] = bad_lines
            chunk.n_read += len(
                bad_lines
            )  # a ragged line was read too: read = stored + … + rejected
            bad_lines.clear()
            chunk.notes = [_zone_note(state, reading.tz)]  # so far: the last chunk covers the file
            any_rows = True
            yield chunk
    if not any_rows:
        raise DataError(f"{path} has no rows")
    if bad_lines:  # ragged lines after the last full chunk
        yield BarFile(
            pl.DataFrame(schema=BAR_SCHEMA),
            list(bad_lines),
            len(bad_lines),
            used or {},
            [_zone_note(state, reading.tz)],
        )


def _zone_note(state: _StreamState, tz: str) -> str:
    if state.naive_rows:
        return naive_note(state.naive_rows, tz)
    if state.epoch_unit:
        return f"times are epoch {state.epoch_unit} (UTC)"
    return "times carried their own zone; converted to UTC"


def _check_chunk(
    path: Path,
    table: pl.DataFrame,
    used: dict[str, str],
    instrument_id: str,
    timeframe: str,
    reading: BarReading,
    step_us: int,
    state: _StreamState,
) -> BarFile:
    """Parse and check one chunk; the stream state carries the unit, grid and last rows on."""
    times = parse_times(
        table[used["ts"]], reading.tz, epoch_unit=state.epoch_unit, dayfirst=reading.dayfirst
    )
    state.epoch_unit = state.epoch_unit or times.epoch_unit
    state.naive_rows += times.naive_rows
    frame = pl.DataFrame({"ts": times.ts})
    problems = times.problems
    for target in VALUE_COLUMNS:
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
    frame = conform(
        frame.with_columns(
            pl.lit(instrument_id).alias("instrument_id"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit(reading.source).alias("source"),
        ),
        BAR_SCHEMA,
    ).with_columns(
        pl.int_range(state.rows_before + 1, state.rows_before + table.height + 1).alias("_row"),
        pl.coalesce(pl.lit(problems), bar_problems()).alias("_problem"),
    )
    frame = _check_grid(path, frame, timeframe, step_us, state)
    frame = _check_duplicates(frame, state)
    first_row = state.rows_before + 1
    state.rows_before += table.height
    bad = frame.filter(pl.col("_problem").is_not_null())
    rejects = [
        Reject(reason=reason, raw=f"row {row}: {_raw_row(table, row - first_row)}")
        for reason, row in zip(bad["_problem"].to_list(), bad["_row"].to_list(), strict=True)
    ]
    good = frame.filter(pl.col("_problem").is_null())
    return BarFile(good.drop("_row", "_problem"), rejects, table.height, used)


def _check_grid(
    path: Path, frame: pl.DataFrame, timeframe: str, step_us: int, state: _StreamState
) -> pl.DataFrame:
    """Refuse rows off the file's bar grid; refuse the file when its rows are wider than a bar.

    The grid's phase comes from the first good row (a zone with a half-hour offset puts hourly
    opens at :30 UTC). Daily and 4-hour bars are left unchecked: their opens follow a local
    midnight or session that moves with daylight saving.
    """
    micros = pl.col("ts").dt.epoch("us")
    ok = frame.filter(pl.col("_problem").is_null())
    if state.phase_us is None and ok.height:
        steps = ok.select(micros.sort().diff())["ts"].drop_nulls()
        steps = steps.filter(steps > 0)
        if steps.len() >= 3:
            typical = int(steps.median())
            if typical >= 2 * step_us and (steps == step_us).sum() == 0:
                raise DataError(
                    f"{path}: rows are mostly {_span(typical)} apart, not {timeframe}; "
                    f"check --timeframe"
                )
        state.phase_us = int(ok["ts"].dt.epoch("us")[0]) % step_us
    if step_us > 3_600_000_000 or state.phase_us is None:
        return frame
    phase = state.phase_us
    return frame.with_columns(
        pl.coalesce(
            pl.col("_problem"),
            pl.when((micros - phase) % step_us != 0).then(
                pl.lit(f"off the {timeframe} grid of this file: ")
                + pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S%.f UTC")
            ),
        ).alias("_problem")
    )


def _span(micros: int) -> str:
    minutes = micros // 60_000_000
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _check_duplicates(frame: pl.DataFrame, state: _StreamState) -> pl.DataFrame:
    """A repeated time with the same values is a harmless copy; with other values it is refused.

    The first occurrence is kept (in this chunk or the previous one); later rows that differ
    are rejected naming the row they contradict.
    """
    keyed = ["ts", *VALUE_COLUMNS]
    ok = frame.filter(pl.col("_problem").is_null()).select("_row", *keyed)
    if state.previous is not None:
        ok = pl.concat([state.previous, ok])
    firsts = ok.group_by("ts", maintain_order=True).first().select(ok.columns)
    joined = ok.join(firsts, on="ts", suffix="_first")
    conflict = joined.filter(
        (pl.col("_row") != pl.col("_row_first"))
        & pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_first")) for c in VALUE_COLUMNS])
    ).select("_row", pl.col("_row_first").alias("_against"))
    state.previous = firsts.sort("ts").tail(2_000)
    if conflict.height == 0:
        return frame
    return (
        frame.join(conflict, on="_row", how="left")
        .with_columns(
            pl.coalesce(
                pl.col("_problem"),
                pl.when(pl.col("_against").is_not_null()).then(
                    pl.lit("same time as row ")
                    + pl.col("_against").cast(pl.Utf8)
                    + pl.lit(" with other values: ")
                    + pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S UTC")
                ),
            ).alias("_problem")
        )
        .drop("_against")
        .sort("_row")
    )


def read_bar_file(
    path: Path, instrument_id: str, timeframe: str, reading: BarReading = BarReading()
) -> BarFile:
    """Read a whole price file into bars (ts = bar open, UTC); bad rows refused with reasons."""
    chunks = list(iter_bar_file(path, instrument_id, timeframe, reading))
    return BarFile(
        pl.concat([c.bars for c in chunks]),
        [r for c in chunks for r in c.rejects],
        sum(c.n_read for c in chunks),
        chunks[0].columns_used,
        chunks[-1].notes,
    )


def _raw_row(table: pl.DataFrame, index: int) -> str:
    return ",".join("" if v is None else str(v) for v in table.row(index))
