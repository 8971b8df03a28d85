"""`tickerwire calendars`: the stored trading sessions per calendar, and their regeneration."""

from __future__ import annotations

import typer

from pipelines.commands import emit_frame, state

_SUMMARY = """
select c.calendar, c.first_day, c.last_day, count(s.open_at) as sessions, c.generator,
       c.generated_at
from calendar_coverage c
left join sessions s on s.calendar = c.calendar
group by all
order by c.calendar
"""


def _years(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, last = text.partition(":")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise typer.BadParameter(f"--years must look like 2000:2027, got {text!r}")
    return int(first), int(last)


def calendars_cmd(
    ctx: typer.Context,
    refresh: bool = typer.Option(
        False, "--refresh", help="Regenerate every calendar's sessions (pandas_market_calendars)."
    ),
    years: str | None = typer.Option(
        None, "--years", help="With --refresh: the years to generate, e.g. 1995:2030."
    ),
) -> None:
    """Trading calendars: which days each one's sessions (holidays, early closes) cover."""
    from pipelines import calendars, store

    app = state(ctx)
    span = _years(years)
    if span is not None and not refresh:
        raise typer.BadParameter("--years goes with --refresh")
    if refresh:
        with store.writing(app.db_path, "calendars") as writer:
            writer.con.execute("begin transaction")
            try:
                calendars.write_sessions(writer.con, span)
                writer.con.execute("commit")
            except Exception:
                writer.con.execute("rollback")
                raise
            summary = store.query_frame(writer.con, _SUMMARY)
    else:
        with store.reader(app.db_path) as con:
            summary = store.query_frame(con, _SUMMARY)
    emit_frame(summary)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `tickerwire calendars`."""
    app.command("calendars")(calendars_cmd)
