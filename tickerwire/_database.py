"""`Database`: the read side (events, bars, SQL, studies, an event's reaction) and the imports."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import store
from pipelines.commands import AppState
from pipelines.config import Config
from pipelines.errors import DataError, StoreError
from pipelines.schemas import FAR_FUTURE, FAR_PAST
from tickerwire import _writes
from tickerwire._study import Study
from tickerwire._writes import ImportReport

Instant = datetime | date | str
Span = tuple[int, int]


def to_instant(value: Instant | None, name: str) -> datetime | None:
    """A datetime, date or ISO string as an aware UTC datetime (naive values are taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise DataError(f"{name}: expected an ISO date or time, got {value!r}") from None
    if not isinstance(value, datetime):  # a date: its midnight UTC
        value = datetime.combine(value, time(), tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ids(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


def _event_ids(events: str | Sequence[str] | pl.DataFrame | None) -> tuple[str, ...]:
    if events is None:
        return ()
    if isinstance(events, pl.DataFrame):
        if "event_id" not in events.columns:
            raise DataError("events: a frame needs an event_id column (e.g. from db.events())")
        return tuple(events["event_id"].to_list())
    return _ids(events) or ()


@dataclass(frozen=True)
class Reaction:
    """How the market moved after one event: the numbers of the dashboard's Event page.

    event: the event row (title, event_at, category, n_articles, …, instruments linked to it).
    returns: per instrument and horizon (+5m … +1d): ret_pct from P(t0), z against the 5 days
        before, p_value (two-sided normal), q_value (Benjamini–Hochberg over the table), mark (from q), priced_at (blank when stale).
    """

    event: dict[str, Any]
    returns: pl.DataFrame

    def _repr_html_(self) -> str:
        """The event's title and time above its returns table (Jupyter)."""
        title = html.escape(str(self.event.get("title", "")))
        when = self.event.get("event_at")
        return (
            f"<p><b>{title}</b><br><small>{html.escape(str(when))} · "
            f"{html.escape(str(self.event.get('event_id')))}</small></p>"
            + self.returns._repr_html_()
        )


class Database:
    """A tickerwire database file with its config; read-only unless opened with write=True."""

    def __init__(self, state: AppState, *, write: bool = False) -> None:
        self._state = state
        self.writable = write

    @classmethod
    def open(
        cls,
        db: str | Path | None = None,
        config: str | Path | None = None,
        *,
        write: bool = False,
        lake: str | Path | None = None,
    ) -> Database:
        """Resolve the database and config as the CLI does; a read-only file must exist.
        `lake`: study a Parquet lake (lake mode, the CLI's --lake) instead of the file."""
        state = AppState(
            db_override=Path(db) if db is not None else None,
            config_path=Path(config) if config is not None else None,
            lake_override=str(lake) if lake is not None else None,
        )
        if not write and lake is None and not Path(state.db_path).exists():
            raise StoreError(
                f"database {state.db_path} does not exist; build one with `tickerwire demo` "
                "or `tickerwire refresh`, or open it with write=True to create it"
            )
        return cls(state, write=write)

    @property
    def path(self) -> Path:
        """The database file."""
        return Path(self._state.db_path)

    @property
    def config(self) -> Config:
        """The loaded, validated config (tickerwire.toml)."""
        return self._state.config

    def __repr__(self) -> str:
        return f"<tickerwire.Database {str(self.path)!r} {'read-write' if self.writable else 'read-only'}>"

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to close: every call opens and closes its own connection."""

    # -- reading -------------------------------------------------------------------------

    def query(self, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a named query of sql/queries (e.g. "prices_coverage") with bind parameters."""
        with store.reader(self.path) as con:
            return store.query_frame(con, store.load_sql(f"queries/{name}"), params)

    def sql(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run your own SQL on a read-only connection (`$name` or `?` bind parameters)."""
        with store.reader(self.path) as con:
            return store.query_frame(con, query, params)

    def instruments(self) -> pl.DataFrame:
        """Every instrument in the database with its display fields."""
        return self.query("prices_instruments")

    def coverage(self) -> pl.DataFrame:
        """Per instrument and timeframe: bar count, first and last bar."""
        return self.query("prices_coverage")

    def events(
        self,
        words: str | Sequence[str] = (),
        *,
        category: str | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        instrument: str | None = None,
        limit: int = 10_000,
    ) -> pl.DataFrame:
        """Events whose title contains every word (any case), newest first; `until` is exclusive.

        The same search as the dashboard's Event and Study pages (sql/queries/events_search.sql).
        """
        found = self.query(
            "events_search",
            {
                "words": words.split() if isinstance(words, str) else list(words),
                "category": category,
                "start": to_instant(since, "since") or FAR_PAST,
                "end": to_instant(until, "until") or FAR_FUTURE,
                "instrument": instrument,
                "limit": limit,
            },
        )
        return found.drop("t_ms", "n_matched")

    def event(self, event_id: str) -> dict[str, Any]:
        """One event as a dict, with `instruments` (its linked ids, most confident first)."""
        found = self.query("events_one", {"event_id": event_id})
        if found.height == 0:
            raise DataError(f"no event {event_id!r} in {self.path}")
        return found.row(0, named=True)

    def bars(
        self,
        instrument: str,
        timeframe: str | None = None,
        start: Instant | None = None,
        end: Instant | None = None,
    ) -> pl.DataFrame:
        """OHLCV bars of one instrument in [start, end), oldest first; `ts` is the bar's open time.

        timeframe=None picks the instrument's finest stored timeframe.
        """
        from pipelines.analytics.reaction import finest_timeframes

        if timeframe is None:
            timeframe = finest_timeframes(self.coverage()).get(instrument)
            if timeframe is None:
                raise DataError(f"no bars for {instrument!r} in {self.path}")
        return self.query(
            "prices_bars",
            {
                "instrument": instrument,
                "timeframe": timeframe,
                "start": to_instant(start, "start") or FAR_PAST,
                "end": to_instant(end, "end") or FAR_FUTURE,
            },
        )

    def study(
        self,
        events: str | Sequence[str] | pl.DataFrame | None = None,
        *,
        instruments: str | Sequence[str] | None = None,
        model: str = "constant",
        window: Span = (-12, 24),
        estimation: Span = (-288, -13),
        car: Sequence[Span] = (),
        timeframe: str = "auto",
        benchmark: str | None = None,
        placebo: int = 0,
        seed: int = 0,
        category: str | None = None,
        since: Instant | None = None,
        until: Instant | None = None,
        window_dates: tuple[date, date] | None = None,
        estimation_dates: tuple[date, date] | None = None,
        engine: str = "duckdb",
    ) -> Study:
        """Event study (AR, CAR, test statistics, placebo): the same engine and defaults as `tickerwire study`.

        events: an event id, ids, or a frame with an event_id column (e.g. db.events(...));
            None selects by category / since / until (both inclusive), as the CLI does.
        instruments: ids, or None for each event's linked instruments (the CLI's --related).
        window / estimation / car: offsets in bars (K1, K2); model: constant, market-adjusted
            or market; placebo: random non-event instants per event and instrument.
        engine: "duckdb", or "spark" on a lake (open(lake=...); needs tickerwire[spark]).
        """
        from pipelines.analytics import MODELS, StudySpec
        from pipelines.analytics.engines import run_on

        if model not in MODELS:
            raise DataError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
        spec = StudySpec(
            event_ids=_event_ids(events),
            category=category,
            since=to_instant(since, "since"),
            until=to_instant(until, "until"),
            instruments=_ids(instruments),
            timeframe=timeframe,
            window=(int(window[0]), int(window[1])),
            estimation=(int(estimation[0]), int(estimation[1])),
            window_dates=window_dates,
            estimation_dates=estimation_dates,
            model=model,
            benchmark=benchmark,
            car_windows=tuple((int(a), int(b)) for a, b in car),
            placebo=placebo,
            seed=seed,
        )
        return Study(run_on(engine, self._state.read_from, spec, self.config))

    def reaction(self, event_id: str, instruments: str | Sequence[str] | None = None) -> Reaction:
        """Returns from P(t0) at +5m … +1d with z-scores: the dashboard Event page's table.

        instruments=None takes the event's linked instruments that have bars.
        """
        from pipelines.analytics.reaction import event_returns, finest_timeframes

        ev = self.event(event_id)
        finest = finest_timeframes(self.coverage())
        chosen = _ids(instruments) or tuple(i for i in ev["instruments"] if i in finest)
        with store.reader(self.path) as con:
            returns = event_returns(con, chosen, ev["event_at"].astimezone(UTC), finest)
        return Reaction(event=ev, returns=returns)

    # -- writing (the functions the CLI's import commands call: same rules, same counts) -----

    def import_bars(
        self,
        path: str | Path,
        instrument: str,
        timeframe: str,
        *,
        tz: str = "UTC",
        source: str = "file",
        time_column: str | None = None,
    ) -> ImportReport:
        """Import OHLCV (or close-only) bars from CSV/Parquet/Arrow, as `tickerwire import bars` does."""
        self._check_writable()
        return _writes.import_bars(
            self._state,
            Path(path),
            instrument,
            timeframe,
            tz=tz,
            source=source,
            time_column=time_column,
        )

    def import_events(
        self,
        path: str | Path,
        *,
        tz: str = "UTC",
        time_column: str | None = None,
        title_column: str | None = None,
        outlet: str | None = None,
        category: str | None = None,
    ) -> ImportReport:
        """Import timestamped events from CSV/JSONL, as `tickerwire import events` does."""
        self._check_writable()
        return _writes.import_events(
            self._state,
            Path(path),
            tz=tz,
            time_column=time_column,
            title_column=title_column,
            outlet=outlet,
            category=category,
        )

    def _check_writable(self) -> None:
        if not self.writable:
            raise StoreError(
                f"{self.path} was opened read-only; use tickerwire.open(..., write=True) to import"
            )
