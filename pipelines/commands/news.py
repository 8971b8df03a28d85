"""CLI: `import articles`, `events add`, `events list` (news ingestion and the event registry)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import typer

from pipelines import display, store
from pipelines.commands import FORMATS, DayfirstOpt, emit_frame, fit_width, state, suggest
from pipelines.errors import DataError
from pipelines.file_imports import import_article_files
from pipelines.schemas import EVENT_CATEGORIES, EVENT_INSTRUMENT_SCHEMA, UTC_TS


def import_articles(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., help="TXT, HTML, Markdown (front matter), JSONL, CSV or Parquet files."
    ),
    published: str | None = typer.Option(
        None, "--published", help="Publication time for every article, ISO 8601 with zone."
    ),
    outlet: str | None = typer.Option(None, "--outlet", help="Outlet name for every article."),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA zone for times written without one (else 'unknown-zone')."
    ),
    dayfirst: DayfirstOpt = None,
    enrich: bool = typer.Option(True, "--enrich/--no-enrich", help="Cluster into events now."),
) -> None:
    """Import articles from files, then cluster them into events."""
    app = state(ctx)
    done = import_article_files(
        app.config,
        app.db_path,
        files,
        published=published,
        outlet=outlet,
        tz=tz,
        dayfirst=dayfirst,
        enrich=enrich,
    )
    result, rejects, counts = done.result, done.rejects, done.counts
    typer.echo(
        f"articles: read {done.n_read}, new {result.inserted}, changed {result.updated}, "
        f"already present {result.unchanged + result.duplicates_in_batch}, rejected {len(rejects)}"
    )
    for reject in rejects[:10]:
        typer.echo(f"  rejected: {reject.reason}: {reject.raw[:100]}")
    if done.zoneless:
        typer.echo(
            f"  {done.zoneless} times had no zone or an ambiguous one (CST, IST…): stored as "
            "printed with precision unknown-zone; give --tz to place them"
        )
    if counts:
        typer.echo(
            f"events: {counts['events_created']} new, {counts['events_joined']} reports joined "
            f"existing ones, {counts['duplicates']} near-duplicates, "
            f"{counts['instrument_links']} instrument links"
        )


def events_add(
    ctx: typer.Context,
    at: str = typer.Option(..., "--at", help="When it happened, ISO 8601 with zone."),
    title: str = typer.Option(..., "--title", help="What happened."),
    category: str = typer.Option(
        "policy", "--category", help=f"One of {', '.join(EVENT_CATEGORIES)}."
    ),
    instruments: str | None = typer.Option(
        None, "--instruments", help="Comma-separated instrument ids, e.g. BTC,XAU."
    ),
) -> None:
    """Add a manual event to the registry."""
    from pipelines.timeparse import parse_iso_option

    app = state(ctx)
    when = parse_iso_option(at, "--at")
    if category not in EVENT_CATEGORIES:
        raise DataError(
            f"--category {category!r} is not allowed{suggest(category, list(EVENT_CATEGORIES))} "
            f"(allowed: {', '.join(EVENT_CATEGORIES)})"
        )
    title = title.strip()
    if not title:
        raise DataError("--title must not be empty")
    ids = list(dict.fromkeys(i.strip() for i in (instruments or "").split(",") if i.strip()))
    event_id = "manual-" + hashlib.sha1(f"{when.isoformat()}|{title}".encode()).hexdigest()[:12]
    event = pl.DataFrame(
        [
            {
                "event_id": event_id,
                "title": title,
                "event_at": when,
                "event_at_lower": when,
                "event_at_upper": when,
                "category": category,
                "n_articles": 0,
                "n_outlets": 0,
                "is_manual": True,
                "updated_at": datetime.now(UTC),
            }
        ],
        schema_overrides={
            "event_at": UTC_TS,
            "event_at_lower": UTC_TS,
            "event_at_upper": UTC_TS,
            "updated_at": UTC_TS,
            "n_articles": pl.Int32,
            "n_outlets": pl.Int32,
        },
    )
    links = pl.DataFrame(
        {
            "event_id": [event_id] * len(ids),
            "instrument_id": ids,
            "reason": ["manual"] * len(ids),
            "confidence": [1.0] * len(ids),
        },
        schema=EVENT_INSTRUMENT_SCHEMA,
    )
    watchlist = set(app.config.watchlist)  # a bad config is refused before the file is touched
    with store.writing(app.db_path, "events add") as writer:
        _check_instruments(writer, ids, watchlist)
        results = store.commit_batch(
            writer, "manual", event_id, {"events": event, "event_instruments": links}
        )
    verb = "added" if results["events"].inserted else "already present"
    typer.echo(f"{verb}: {event_id} at {when.isoformat()} ({category}) {title}")


def _check_instruments(writer: store.Store, ids: list[str], watchlist: set[str]) -> None:
    """Refuse ids that are neither in the watchlist nor stored (as an instrument or in bars)."""
    if not ids:
        return
    stored = {
        r[0]
        for r in writer.con.execute(
            "select instrument_id from instruments union select distinct instrument_id from bars"
        ).fetchall()
    }
    unknown = [i for i in ids if i not in stored and i not in watchlist]
    if unknown:
        raise DataError(
            f"--instruments: unknown instrument {', '.join(unknown)} (neither stored nor in the "
            f"watchlist); `tickerwire status` lists the stored ones"
        )


def events_list(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Only events at or after (ISO)."),
    until: str | None = typer.Option(None, "--until", help="Only events before (ISO)."),
    category: str | None = typer.Option(None, "--category", help="Category or policy tag."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many (newest first)."),
    fmt: str = typer.Option("table", "--format", help=f"One of {', '.join(FORMATS)}."),
    out: Path | None = typer.Option(None, "--out", help="Write to a file instead of stdout."),
    wide: bool = typer.Option(
        False, "--wide", help="Every column (the table otherwise fits 100 columns)."
    ),
) -> None:
    """List events (newest first) with their instruments."""
    app = state(ctx)
    params = {
        "since": _instant(since, "--since"),
        "until": _instant(until, "--until"),
        "category": category,
        "limit": limit,
    }
    with store.reader(app.db_path) as con:
        frame = store.query_frame(con, store.load_sql("news_events_list"), params)
        if frame.height == 0 and category:
            known = con.execute(
                "select distinct category from events where category is not null "
                "union select distinct unnest(tags) from events"
            ).fetchall()
            names = [k[0] for k in known if k[0]]
            if category not in names:
                raise DataError(
                    f"no event has category or tag {category!r}{suggest(category, names)}"
                )
    if fmt == "table" and not wide:
        # the narrow table: when, what, which id — the title shortened to fit 100 columns
        narrow = frame.select(
            pl.Series("event_at", [display.when(t) for t in frame["event_at"].to_list()]),
            "category",
            "title",
            "event_id",
        )
        frame = fit_width(narrow, "title")
    emit_frame(frame, fmt, out)


def _instant(value: str | None, what: str) -> datetime | None:
    """An option's ISO 8601 instant, or None when not given."""
    if not value:
        return None
    # The time parsers load only when an instant is given: `events list` is a quick command.
    from pipelines.timeparse import parse_iso_option

    return parse_iso_option(value, what)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `import articles`, `events add` and `events list`."""
    groups["import"].command("articles")(import_articles)
    groups["events"].command("add")(events_add)
    groups["events"].command("list")(events_list)
