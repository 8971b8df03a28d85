"""`tickerwire import strip` and `tickerwire backfill`: ticker-strip snapshots and historical bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import typer

from pipelines import store
from pipelines.commands import emit_frame, state
from pipelines.config import Config
from pipelines.errors import ConfigError, DataError, NetworkUnavailable, SourceError
from pipelines.schemas import TIMEFRAMES, timeframe_delta, validate_bars, validate_quotes
from pipelines.sources.strip import StripResult, find_as_of, page_text, parse_strip
from pipelines.strip_dating import StripDating, date_strip

if TYPE_CHECKING:  # ccxt costs ~0.3 s to import: only `backfill` needs it, so it imports it there
    from pipelines.sources.ccxt_source import CcxtSource

# ---------------------------------------------------------------------------- import strip


@dataclass
class StripImport:
    """What `import strip` did (`dating` is set when the day came from the stored bars)."""

    result: StripResult
    day_note: str
    source: str
    upsert: store.UpsertResult
    rejected: int
    dating: StripDating | None = None


def strip_bars(st: store.Store, symbols: list[str]) -> pl.DataFrame:
    """The stored bars of these symbols with their close times (for dating a strip)."""
    params = {**_timeframe_params(datetime(1970, 1, 1, tzinfo=UTC)), "ids": symbols}
    params.pop("since")
    return st.query(store.load_sql("prices_strip_dating_bars"), params)


def import_strip_file(
    config: Config,
    db_path: Path,
    file: Path,
    *,
    day: str | None = None,
    outlet: str | None = None,
    captured_from: str | None = None,
) -> StripImport:
    """Parse a strip capture and store its quotes as source `strip:<outlet>` (plus any rejects).

    The date comes from the page, else from --date, else from the stored bars (the day whose
    prices at the strip's HH:MM fit best); when none of these gives one, nothing is stored.
    """
    try:
        raw = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"cannot read {file}: {exc.strerror}") from exc
    page_day, clock_time = find_as_of(page_text(raw))
    dating = None
    with store.writing(db_path, "import strip") as st:
        if page_day is not None:
            ignored = f"; --date {day} ignored" if day and day != page_day.isoformat() else ""
            chosen, note = page_day, f"{page_day} (printed on the page{ignored})"
        elif day:
            try:
                chosen, note = date.fromisoformat(day), f"{day} (from --date)"
            except ValueError:
                raise DataError(f"--date {day!r} is not a date like 2026-05-01") from None
        else:
            undated = parse_strip(raw, day=date(1970, 1, 1))  # the quotes only; day unused
            prices = {q.symbol: float(q.price) for q in undated.quotes if q.price > 0}
            dating = date_strip(prices, clock_time, strip_bars(st, list(prices)))
            chosen, note = dating.best.day, dating.note()
        result = parse_strip(raw, day=chosen, watchlist=config.watchlist)
        outlet = outlet or file.stem
        source = f"strip:{outlet}"
        frame, bad = validate_quotes(result.frame(outlet, captured_from or str(file)))
        rejects = result.rejects + bad
        run = st.start_run("import:strip")
        results = store.commit_batch(st, source, str(file), {"quotes": frame}, rejects=rejects)
        run.add(results["quotes"])
        run.rejected = len(rejects)
        run.details = {
            "file": str(file),
            "as_of": result.as_of.isoformat(),
            "date": note,
            "outside_watchlist": result.outside_watchlist,
        }
        st.finish_run(run)
    return StripImport(
        result=result,
        day_note=note,
        source=source,
        upsert=results["quotes"],
        rejected=len(rejects),
        dating=dating,
    )


def import_strip(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A captured page (text or HTML) holding a ticker strip."),
    day: str | None = typer.Option(
        None,
        "--date",
        help="UTC date of the capture (YYYY-MM-DD); default: dated from the stored bars.",
    ),
    outlet: str | None = typer.Option(
        None, "--outlet", help="Name of the site the strip came from (default: the file name)."
    ),
) -> None:
    """Import a ticker-strip snapshot (SYMBOL$PRICE▲ PCT% … Prices as of HH:MM UTC) as quotes."""
    app = state(ctx)
    done = import_strip_file(app.config, app.db_path, file, day=day, outlet=outlet)
    r = done.result
    typer.echo(
        f"{file}: {len(r.quotes)} quotes as of {r.as_of:%Y-%m-%d %H:%M} UTC, source {done.source}"
    )
    typer.echo(f"  date: {done.day_note}")
    if done.dating is not None:
        for row in done.dating.detail.drop_nulls("bar_close").iter_rows(named=True):
            typer.echo(
                f"    {row['instrument_id']}: strip {row['strip_price']:g}, bars {row['bar_close']:g} "
                f"(closed {row['bar_close_at']:%Y-%m-%d %H:%M}), {row['diff_pct']:+.3f} %"
            )
    typer.echo(
        f"  read {r.n_items} items (marquee repeats collapsed); stored {done.upsert.inserted} new, "
        f"{done.upsert.updated} changed, {done.upsert.unchanged} already present"
    )
    if done.dating is None:
        days = max(1, (datetime.now(UTC) - r.as_of).days + 1)
        typer.echo(f"  compare with the stored bars: tickerwire status --quotes --days {days}")
    if r.outside_watchlist:
        typer.echo(f"  outside the watchlist (kept): {', '.join(r.outside_watchlist)}")
    if done.rejected:
        typer.echo(f"  rejected: {done.rejected} (see the rejects table, source {done.source})")
        for rej in r.rejects[:5]:
            typer.echo(f"    {rej.reason}")


# ---------------------------------------------------------------------------- backfill


@dataclass
class BackfillResult:
    """What a backfill fetched and stored."""

    instrument: str
    timeframe: str
    where: str  # 'binance BTC/USDT', 'yahoo GC=F'
    upsert: store.UpsertResult
    first: datetime | None
    last: datetime | None
    rejected: int


def parse_instant(text: str, name: str) -> datetime:
    """A --since/--until value (YYYY-MM-DD or ISO date-time) as an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"--{name} {text!r} is not a date (YYYY-MM-DD) or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def backfill(
    config: Config,
    store_path: Path,
    instrument: str,
    timeframe: str,
    since: datetime,
    until: datetime | None = None,
    *,
    ccxt_source: CcxtSource | None = None,
    yahoo_source: object | None = None,
    clock: datetime | None = None,
) -> BackfillResult:
    """Fetch [since, until) of one instrument's bars from its source and upsert them (cursor untouched)."""
    import ccxt

    from pipelines.sources.ccxt_source import (
        CcxtSource,
        instrument_row,
        markets_cache_dir,
        to_bar_frame,
    )

    inst = config.instrument(instrument)
    if inst is None:
        raise ConfigError(f"{instrument!r} is not in the watchlist ({', '.join(config.watchlist)})")
    step = timeframe_delta(timeframe)
    now = clock or datetime.now(UTC)
    until = min(until or now, now)
    if since >= until:
        raise DataError(
            f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}"
        )
    if inst.source == "ccxt":
        src = ccxt_source or CcxtSource()
        res = src.resolve(inst, markets_cache_dir(config))
        if not res.candidates and src.offline:
            raise NetworkUnavailable(
                f"{instrument}: {src.offline}; could not ask {', '.join(inst.venues)}"
            )
        if not res.candidates:
            raise SourceError(
                f"{instrument}: "
                + "; ".join([*(f"not listed on {v}" for v in res.unlisted), *res.problems])
            )
        problems = []
        for venue, symbol in res.candidates:
            try:
                rows = src.fetch_bars(venue, symbol, timeframe, since, until)
            except ccxt.BadSymbol as exc:
                problems.append(f"{venue}: {exc}")
                continue
            except ccxt.BaseError as exc:
                raise SourceError(
                    f"{instrument} on {venue}: {type(exc).__name__}: {str(exc)[:200]}"
                ) from exc
            frame = to_bar_frame(rows, inst.id, timeframe, venue)
            source, where, row = (
                f"ccxt:{venue}",
                f"{venue} {symbol}",
                instrument_row(inst, venue, symbol, available=True),
            )
            break
        else:
            raise SourceError(f"{instrument}: every venue refused it: {'; '.join(problems)}")
    elif inst.source == "yahoo":
        from pipelines.sources.yahoo_source import (
            YahooSource,
            chunks,
            use_cache_dir,
            yahoo_settings,
        )

        chunks(timeframe, since, until, now)  # refuses, once and plainly, what Yahoo does not keep

        src_y = yahoo_source or YahooSource()
        settings = yahoo_settings(config)
        use_cache_dir(Path(config.db_path).parent / "cache" / "yfinance")
        batch = src_y.bars_batch(inst, timeframe, since, until, settings)  # type: ignore[attr-defined]
        if batch.error:
            raise SourceError(f"{instrument}/{timeframe}: {batch.error}")
        frame = batch.frames["bars"]
        row = batch.frames["instruments"]
        source, where = "yahoo", f"yahoo {row['market_symbol'][0]}"
    else:
        raise ConfigError(f"{instrument} comes from {inst.source!r}; backfill knows ccxt and yahoo")
    bars, rejects = validate_bars(frame)
    bars = bars.filter(
        (pl.col("ts") + step <= now) & (pl.col("ts") >= since) & (pl.col("ts") < until)
    )
    with store.writing(store_path, "backfill") as st:
        run = st.start_run("backfill")
        results = store.commit_batch(
            st,
            source,
            f"{inst.id}/{timeframe}",
            {"bars": bars, "instruments": row},
            rejects=rejects,
        )
        run.add(results["bars"])
        run.rejected = len(rejects)
        run.details = {
            "instrument": inst.id,
            "timeframe": timeframe,
            "since": since.isoformat(),
            "until": until.isoformat(),
        }
        st.finish_run(run)
    return BackfillResult(
        instrument=inst.id,
        timeframe=timeframe,
        where=where,
        upsert=results["bars"],
        first=bars["ts"].min() if bars.height else None,  # type: ignore[arg-type]
        last=bars["ts"].max() if bars.height else None,  # type: ignore[arg-type]
        rejected=len(rejects),
    )


def backfill_command(
    ctx: typer.Context,
    instrument: str = typer.Option(
        ..., "--instrument", "-i", help="Watchlist id, e.g. BTC or XAU."
    ),
    timeframe: str = typer.Option(
        ..., "--timeframe", "-t", help="Bar size: 1m 5m 15m 30m 1h 4h 1d."
    ),
    since: str = typer.Option(..., "--since", help="Start (UTC), YYYY-MM-DD or ISO date-time."),
    until: str | None = typer.Option(None, "--until", help="End (UTC, exclusive); default now."),
) -> None:
    """Fetch a past range of bars for one instrument (ccxt or Yahoo) and store it."""
    app = state(ctx)
    res = backfill(
        app.config,
        app.db_path,
        instrument,
        timeframe,
        parse_instant(since, "since"),
        parse_instant(until, "until") if until else None,
    )
    span = (
        f"{res.first:%Y-%m-%d %H:%M} → {res.last:%Y-%m-%d %H:%M} UTC"
        if res.first
        else "no complete bars"
    )
    typer.echo(
        f"{res.instrument}/{res.timeframe} from {res.where}: {res.upsert.read} bars ({span}); "
        f"stored {res.upsert.inserted} new, {res.upsert.updated} changed, "
        f"{res.upsert.unchanged} already present; rejected {res.rejected}"
    )


# ---------------------------------------------------------------------------- status extras


def _timeframe_params(since: datetime) -> dict[str, object]:
    return {
        "since": since,
        "tfs": list(TIMEFRAMES),
        "tf_secs": [int(d.total_seconds()) for d in TIMEFRAMES.values()],
    }


def gaps_report(con: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Missing bar ranges since `since` (slots when the market was closed do not count)."""
    return store.query_frame(con, store.load_sql("prices_gaps"), _timeframe_params(since))


def strip_vs_exchange(con: duckdb.DuckDBPyConnection, since: datetime) -> pl.DataFrame:
    """Each strip quote since `since` beside the exchange bar close at that instant, diff in %."""
    from pipelines.analytics.reaction import STALE_BARS

    params = {**_timeframe_params(since), "stale_bars": STALE_BARS}
    return store.query_frame(con, store.load_sql("prices_strip_vs_exchange"), params)


def status_extras(db_path: Path, fmt: str, *, gaps: bool, quotes: bool, days: int) -> None:
    """Print `status --gaps` / `status --quotes` tables for the last `days` days."""
    since = datetime.now(UTC) - timedelta(days=days)
    with store.reader(db_path) as con:
        if gaps:
            frame = gaps_report(con, since)
            if fmt == "table":
                typer.echo(
                    f"missing bar ranges since {since:%Y-%m-%d %H:%M} UTC (closed sessions are not gaps):"
                )
            emit_frame(frame, fmt)
        if quotes:
            frame = strip_vs_exchange(con, since)
            if fmt == "table":
                typer.echo(
                    f"strip quotes since {since:%Y-%m-%d %H:%M} UTC vs the exchange close at the same "
                    "instant (diff_pct = strip / exchange − 1, in %; fresh = bar closed ≤ 2 bars before):"
                )
            emit_frame(frame, fmt)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `import strip` and `backfill` to the CLI."""
    groups["import"].command("strip")(import_strip)
    app.command("backfill")(backfill_command)
