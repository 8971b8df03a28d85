"""CLI command modules. Each module defines `register(app, groups)`; cli.py discovers them."""

from __future__ import annotations

import difflib
import json
import math
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from pipelines import display
from pipelines.config import Config, load_config

FORMATS = ("table", "csv", "json")
# The --format option of every command that prints a frame (`fmt: FormatOpt = "table"`).
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help=f"Output format: {', '.join(FORMATS)}.")
]
# The file-reading options the import commands share (`dayfirst: DayfirstOpt = None`).
DayfirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--monthfirst",
        help="Order of numeric dates like 03-05-2025 (refused as ambiguous unless stated).",
    ),
]
TimeColumnOpt = Annotated[
    str | None, typer.Option("--time-column", help="Name the time column if not detected.")
]


@dataclass
class AppState:
    """Global options: where the database and the config are."""

    db_override: Path | None = None
    config_path: Path | None = None
    lake_override: str | None = None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        """The loaded, validated config (loaded once)."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def db_path(self) -> Path:
        """The database file: --db / TICKERWIRE_DB, else the config's [database].path."""
        if self.db_override is not None:
            return self.db_override
        if self._config is not None:
            return self._config.db_path
        # Only [database] is needed here: a read-only command should not pay for checking
        # (and importing) every feature's section; commands that use the config check it all.
        return load_config(self.config_path, check_all=False).db_path

    @property
    def lake(self) -> str | None:
        """The lake readers use: --lake / TICKERWIRE_LAKE, else the config's [store] lake."""
        if self.lake_override:
            return self.lake_override
        from pipelines.lake import lake_settings

        config = self._config or load_config(self.config_path, check_all=False)
        return lake_settings(config).lake

    @property
    def read_from(self) -> str | Path:
        """Where the readers (study, sql, status, dashboard) read: the lake if set, else the file."""
        lake = self.lake
        if lake is None:
            return self.db_path
        from pipelines.lake import MANIFEST, is_lake

        if not is_lake(lake):
            from pipelines.errors import StoreError

            raise StoreError(
                f"no lake at {lake} (no {MANIFEST}); write one with `tickerwire export --to {lake}`"
            )
        return lake


def state(ctx: typer.Context) -> AppState:
    """The AppState of the running command (works for nested groups too)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def emit_frame(frame: pl.DataFrame, fmt: str = "table", out: Path | None = None) -> None:
    """Print (or write to `out`) a frame as an aligned table, CSV or JSON records."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"format must be one of {', '.join(FORMATS)}")
    if fmt == "csv":
        text = frame.write_csv()
    elif fmt == "json":
        text = json.dumps(frame.to_dicts(), default=_json_default, indent=1) + "\n"
    else:
        text = render_table(frame)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {frame.height} rows to {out}")
    else:
        sys.stdout.write(text)


def render_table(frame: pl.DataFrame, max_rows: int = 200) -> str:
    """A plain aligned text table (no box drawing, so it pastes cleanly)."""
    if frame.width == 0:
        return "(no columns)\n"
    shown = frame.head(max_rows)
    cells = [[_cell(v) for v in row] for row in shown.iter_rows()]
    headers = list(frame.columns)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    if frame.height > max_rows:
        lines.append(f"… {frame.height - max_rows} more rows (use --format csv for all)")
    lines.append(f"({frame.height} rows)")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, datetime):
        return display.when(value, seconds=True)
    return str(value)


def fit_width(frame: pl.DataFrame, shrink: str, width: int = 100) -> pl.DataFrame:
    """Shorten the text column `shrink` (ending it with '…') so render_table's lines fit `width`
    characters; the other columns are kept whole (ids must stay copyable)."""
    if frame.height == 0 or shrink not in frame.columns:
        return frame
    others = [c for c in frame.columns if c != shrink]
    used = sum(
        max([len(c)] + [len(_cell(v)) for v in frame[c].to_list()]) for c in others
    ) + 2 * len(others)
    room = max(len(shrink), width - used)
    return frame.with_columns(
        pl.col(shrink).map_elements(
            lambda t: t if len(t) <= room else t[: room - 1] + "…", return_dtype=pl.Utf8
        )
    )


def suggest(value: str, choices: list[str]) -> str:
    """' (did you mean 'policy'?)' for a near miss among `choices`, else a list of them."""
    close = difflib.get_close_matches(value.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if close:
        original = next(c for c in choices if c.lower() == close[0])
        return f"; did you mean {original!r}?"
    return f"; known: {', '.join(sorted(choices))}" if choices else ""


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
