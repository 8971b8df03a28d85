"""`tickerwire study`: event studies from the command line (AR, CAR, statistics, placebo)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.analytics import LEVELS, MODELS, StudyResult, StudySpec
from pipelines.commands import FormatOpt, emit_frame, state
from pipelines.errors import DataError

if TYPE_CHECKING:
    import polars as pl


def parse_span(text: str, option: str) -> tuple[int, int]:
    """'-12:24' → (-12, 24): an offset range in bars."""
    parts = text.split(":")
    if len(parts) != 2:
        raise typer.BadParameter(f"{option} must look like -12:24 (two offsets), got {text!r}")
    try:
        lo, hi = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise typer.BadParameter(f"{option} offsets must be whole numbers, got {text!r}") from exc
    if lo > hi:
        raise typer.BadParameter(f"{option} {text}: the start must not be after the end")
    return lo, hi


def parse_date_span(text: str | None, option: str) -> tuple[date, date] | None:
    """'2020-03-16:2020-03-20' → (date, date)."""
    if text is None:
        return None
    parts = text.split(":")
    if len(parts) != 2:
        raise typer.BadParameter(f"{option} must look like 2020-03-16:2020-03-20, got {text!r}")
    try:
        lo, hi = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: dates must be YYYY-MM-DD, got {text!r}") from exc
    if lo > hi:
        raise typer.BadParameter(f"{option} {text}: the start must not be after the end")
    return lo, hi


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{option}: expected an ISO date or time, got {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# The options of `tickerwire study`, declared once here so the command's signature stays short.
EventOpt = Annotated[list[str], typer.Option("--event", help="Event id (repeatable).")]
EventsFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--events-file", help="CSV/JSONL of events (time + title columns) instead of the registry."
    ),
]
TzOpt = Annotated[
    str, typer.Option("--tz", help="With --events-file: zone of naive times (IANA name or +02:00).")
]
TimeColumnOpt = Annotated[
    str | None,
    typer.Option("--time-column", help="With --events-file: the time column, if not detected."),
]
TitleColumnOpt = Annotated[
    str | None,
    typer.Option("--title-column", help="With --events-file: the title column, if not detected."),
]
CategoryOpt = Annotated[str | None, typer.Option("--category", help="Events of this category.")]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Events at or after this time (UTC).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Events at or before this time (UTC).")
]
InstrumentsOpt = Annotated[
    str | None,
    typer.Option("--instruments", help="Comma-separated instrument ids, e.g. BTC,ETH."),
]
RelatedOpt = Annotated[
    bool, typer.Option("--related", help="Use each event's linked instruments (event_instruments).")
]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", help="Bar size (1m…1d) or auto.")]
WindowOpt = Annotated[str, typer.Option("--window", help="Event window T1:T2 in bars.")]
EstimationOpt = Annotated[
    str, typer.Option("--estimation", help="Estimation window L1:L2 in bars (before the event).")
]
WindowDatesOpt = Annotated[
    str | None, typer.Option("--window-dates", help="Event window as dates D1:D2 (daily studies).")
]
EstimationDatesOpt = Annotated[
    str | None,
    typer.Option("--estimation-dates", help="Estimation window as dates D1:D2 (daily studies)."),
]
ModelOpt = Annotated[str, typer.Option("--model", help=f"One of {', '.join(MODELS)}.")]
BenchmarkOpt = Annotated[
    str | None,
    typer.Option(
        "--benchmark", help="Benchmark instrument for market models (default per asset class)."
    ),
]
CarOpt = Annotated[list[str], typer.Option("--car", help="CAR sub-window K1:K2 (repeatable).")]
PlaceboOpt = Annotated[
    int, typer.Option("--placebo", help="Random non-event instants per event and instrument.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the placebo draws.")]
StaleBarsOpt = Annotated[
    int | None,
    typer.Option(
        "--stale-bars",
        min=0,
        help="A price is missing when more than N bars that should have closed after it are "
        "absent (open-market bars only on a session calendar). Default: [study] stale_bars, 2.",
    ),
]
LevelOpt = Annotated[str, typer.Option("--level", help=f"Output: {', '.join(LEVELS)}.")]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine", help="duckdb, or spark (over a lake: --lake DIR; needs tickerwire[spark])."
    ),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
]


def study(
    ctx: typer.Context,
    event: EventOpt = [],  # noqa: B006 (typer reads the default; it is never mutated)
    events_file: EventsFileOpt = None,
    tz: TzOpt = "UTC",
    time_column: TimeColumnOpt = None,
    title_column: TitleColumnOpt = None,
    category: CategoryOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    instruments: InstrumentsOpt = None,
    related: RelatedOpt = False,
    timeframe: TimeframeOpt = "auto",
    window: WindowOpt = "-12:24",
    estimation: EstimationOpt = "-288:-13",
    window_dates: WindowDatesOpt = None,
    estimation_dates: EstimationDatesOpt = None,
    model: ModelOpt = "constant",
    benchmark: BenchmarkOpt = None,
    car: CarOpt = [],  # noqa: B006 (typer reads the default; it is never mutated)
    placebo: PlaceboOpt = 0,
    seed: SeedOpt = 0,
    stale_bars: StaleBarsOpt = None,
    level: LevelOpt = "summary",
    engine: EngineOpt = "duckdb",
    fmt: FormatOpt = "table",
    out: OutOpt = None,
) -> None:
    """Event study: abnormal returns, CAR and significance tests around events."""
    # numpy + scipy: loaded when a study runs, not at CLI start-up
    from pipelines.analytics.engines import run_on

    if model not in MODELS:
        raise typer.BadParameter(f"--model must be one of {', '.join(MODELS)}")
    if level not in LEVELS:
        raise typer.BadParameter(f"--level must be one of {', '.join(LEVELS)}")
    if instruments and related:
        raise typer.BadParameter("give --instruments or --related, not both")
    app = state(ctx)
    events_frame, links = None, None
    if events_file is not None:
        events_frame, links = _events_from_file(
            events_file, tz, time_column, title_column, category
        )
    spec = StudySpec(
        event_ids=tuple(event),
        events=events_frame,
        category=category if events_file is None else None,
        since=_instant(since, "--since"),
        until=_instant(until, "--until"),
        instruments=tuple(i.strip() for i in instruments.split(",") if i.strip())
        if instruments
        else None,
        timeframe=timeframe,
        window=parse_span(window, "--window"),
        estimation=parse_span(estimation, "--estimation"),
        window_dates=parse_date_span(window_dates, "--window-dates"),
        estimation_dates=parse_date_span(estimation_dates, "--estimation-dates"),
        model=model,
        benchmark=benchmark,
        car_windows=tuple(parse_span(c, "--car") for c in car),
        placebo=placebo,
        seed=seed,
        stale_bars=stale_bars,
    )
    if events_frame is not None and spec.instruments is None:
        if links is None or links.height == 0:
            raise DataError(f"{events_file}: its events name no instruments; give --instruments")
        raise DataError("--related with --events-file is not supported; give --instruments")
    result = run_on(engine, app.read_from, spec, app.config)
    _report(result, spec, level, fmt, out)


def _events_from_file(
    events_file: Path,
    tz: str,
    time_column: str | None,
    title_column: str | None,
    category: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The events (event_id, title, event_at) and instrument links of an --events-file."""
    from pipelines.sources.event_files import read_event_file
    from pipelines.sources.file_reading import EventReading

    reading = EventReading(
        tz=tz, time_column=time_column, title_column=title_column, category=category
    )
    parsed = read_event_file(events_file, reading)
    for note in parsed.notes:  # naive times taken in --tz are said, not silently assumed
        typer.echo(f"note: {note}", err=True)
    if parsed.rejects:
        typer.echo(
            f"note: {len(parsed.rejects)} rows of {events_file.name} refused "
            f"(first: {parsed.rejects[0].reason})",
            err=True,
        )
    if parsed.events.height == 0:
        raise DataError(f"{events_file}: no usable events")
    return parsed.events.select("event_id", "title", "event_at"), parsed.event_instruments


def _report(result: StudyResult, spec: StudySpec, level: str, fmt: str, out: Path | None) -> None:
    """The study's notes and verdict on stderr, the chosen result frame on stdout or --out."""
    from pipelines.analytics import verdict

    for note in result.notes[:20]:
        typer.echo(f"note: {note}", err=True)
    if len(result.notes) > 20:
        typer.echo(f"note: … {len(result.notes) - 20} more", err=True)
    if fmt == "table" and result.car.height:
        typer.echo(f"verdict: {_verdict(result, spec)}", err=True)
    frame = result.frame(level)
    if level == "car" and fmt == "table":  # csv/json keep the raw contract columns
        frame = verdict.car_report(frame, spec.model)
        typer.echo(
            "CAR in %; p two-sided from z; q = Benjamini–Hochberg over these rows; "
            "marks from q: * < 0.1, ** < 0.05, *** < 0.01",
            err=True,
        )
    emit_frame(frame, fmt, out)


def _verdict(result: StudyResult, spec: StudySpec) -> str:
    """The KP-adjusted verdict on the CAAR over the first CAR window (the event window)."""
    from pipelines.analytics import verdict

    window = (int(result.car["car_from"][0]), int(result.car["car_to"][0]))
    first = result.car.filter(
        (result.car["car_from"] == window[0]) & (result.car["car_to"] == window[1])
    )
    return verdict.study_verdict(
        verdict.window_test(result, window),
        window=window,
        unit=f"{result.timeframe} bars",
        model=spec.model,
        n_events=first["event_id"].n_unique(),
    )


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `tickerwire study`."""
    app.command()(study)
