"""Writes from the library run the CLI's own import commands, so rules and counts are the CLI's.

This module is the one place the facade writes: the commands open the database through the
project's one writer path (`store.writing`: refresh lock, writer gate, writer connection), and
the counts come back from the run they log in `ingest_runs`.
"""

from __future__ import annotations

import contextlib
import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines import store
from pipelines.commands import AppState


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the counts of its `ingest_runs` row and the CLI's messages."""

    run_id: int
    status: str
    read: int
    stored: int
    present: int
    rejected: int
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.messages)


def _command(kind: str) -> Callable[..., None]:
    from pipelines.commands import imports

    return {"bars": imports.import_bars, "events": imports.import_events}[kind]


def _arguments(command: Callable[..., None], given: dict[str, Any]) -> dict[str, Any]:
    """The command's keyword arguments: the given ones, the rest from its Typer defaults."""
    from typer.models import ParameterInfo

    args: dict[str, Any] = {}
    given = dict(given)
    for name, param in inspect.signature(command).parameters.items():
        if name == "ctx":
            continue
        default = param.default
        if isinstance(default, ParameterInfo):
            default = default.default
        if name in given:
            args[name] = given.pop(name)
        elif default is ... or default is inspect.Parameter.empty:
            raise TypeError(f"{command.__name__}: missing required argument {name!r}")
        else:
            args[name] = default
    if given:
        raise TypeError(f"{command.__name__}: unknown option(s) {', '.join(sorted(given))}")
    return args


def _last_run(state: AppState, source: str) -> int:
    if not state.db_path.exists():
        return 0
    with store.reader(state.db_path) as con:
        row = con.execute(
            "select coalesce(max(run_id), 0) from ingest_runs where source = ?", [source]
        ).fetchone()
    return int(row[0]) if row else 0


def run_import(state: AppState, kind: str, **given: Any) -> ImportReport:
    """Run `tickerwire import <kind>` in-process on `state`'s database; return its run's counts."""
    import typer

    command = _command(kind)
    args = _arguments(command, given)
    source = f"import:{kind}"
    before = _last_run(state, source)
    ctx = typer.Context(typer.core.TyperCommand(f"import {kind}"), obj=state)
    out = io.StringIO()
    with ctx, contextlib.redirect_stdout(out):
        command(ctx, **args)
    with store.reader(state.db_path) as con:
        row = con.execute(
            """select run_id, status, n_read, n_stored, n_present, n_rejected
               from ingest_runs where source = ? and run_id > ? order by run_id desc limit 1""",
            [source, before],
        ).fetchone()
    if row is None:  # the command returned without logging a run: a bug, not a user error
        raise RuntimeError(f"import {kind} logged no run in {state.db_path}")
    run_id, status, n_read, n_stored, n_present, n_rejected = row
    return ImportReport(
        run_id=int(run_id),
        status=str(status),
        read=int(n_read or 0),
        stored=int(n_stored or 0),
        present=int(n_present or 0),
        rejected=int(n_rejected or 0),
        messages=out.getvalue().splitlines(),
    )
