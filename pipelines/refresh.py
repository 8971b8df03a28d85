"""Run every configured source incrementally: network first, then one short commit per batch.

The order of work for each source (DESIGN §5):
1. read its ingest_state cursors on a short read-only connection;
2. let the source do its network work (`source.run`) while no database handle is held;
3. for every Batch it yields, open the writer briefly and `commit_batch` it (rows + cursor +
   rejects in one transaction), so a crash loses at most the batch in flight;
4. record the source's status and counts in ingest_runs.
Every write goes through `store.writing` (refresh lock + writer gate + writer connection), and
only for the commit steps: no lock is held while a source waits on the network. A refresh that
finds another writer in the file at its start says who (exit 3) instead of queueing behind it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import store
from pipelines.config import Config
from pipelines.errors import TickerwireError, first_line, named_first_line
from pipelines.sources import KINDS, SOURCES, Batch, Source, get_source

# Exit codes of `tickerwire refresh` (and what cron / systemd see).
EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_PARTIAL = 2
EXIT_LOCKED = 3

# Seconds a starting refresh waits for another writer's session before it gives up (exit 3):
# long enough for a commit in progress, short enough that cron ticks do not pile up.
START_WAIT = 2.0
# Fetched rows kept in memory before a commit session is forced (a long backfill).
FLUSH_ROWS = 200_000

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------- results


@dataclass
class SourceOutcome:
    """How one source's run went."""

    source: str
    status: str  # ok / partial / failed / interrupted / skipped
    run_id: int | None = None
    batches: int = 0
    read: int = 0
    stored: int = 0
    present: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0
    writer_wait: float = 0.0  # seconds spent waiting for the write lock


@dataclass
class RefreshSummary:
    """Every source's outcome plus the enrichment step; decides the exit code."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    stopped: bool = False

    @property
    def exit_code(self) -> int:
        """0 when every source that ran succeeded, 2 when some did, 1 when none did."""
        ran = [o for o in self.outcomes if o.status != "skipped"]
        if not ran or all(o.status == "ok" for o in ran):
            return EXIT_OK
        if any(o.status in ("ok", "partial", "interrupted") for o in ran):
            return EXIT_PARTIAL
        return EXIT_NOTHING

    def frame(self) -> pl.DataFrame:
        """The summary table: one row per source."""
        rows = [
            {
                "source": o.source,
                "status": o.status,
                "run_id": o.run_id,
                "batches": o.batches,
                "read": o.read,
                "stored": o.stored,
                "present": o.present,
                "rejected": o.rejected,
                "seconds": round(o.seconds, 2),
                "message": o.note or "; ".join(o.errors)[:200],
            }
            for o in self.outcomes
        ]
        schema = {
            "source": pl.Utf8,
            "status": pl.Utf8,
            "run_id": pl.Int64,
            "batches": pl.Int64,
            "read": pl.Int64,
            "stored": pl.Int64,
            "present": pl.Int64,
            "rejected": pl.Int64,
            "seconds": pl.Float64,
            "message": pl.Utf8,
        }
        return pl.DataFrame(rows, schema=schema)


# ---------------------------------------------------------------------------- selection


def parse_only(only: Iterable[str] | str | None) -> set[str]:
    """`--only prices,news` → {'prices', 'news'}; None → every kind; unknown kinds are refused."""
    if only is None:
        return set(KINDS)
    items = only.split(",") if isinstance(only, str) else list(only)
    kinds = {k.strip() for item in items for k in item.split(",") if k.strip()}
    unknown = sorted(kinds - set(KINDS))
    if unknown:
        raise TickerwireError(f"--only: unknown kind(s) {unknown}; allowed: {', '.join(KINDS)}")
    return kinds or set(KINDS)


def load_sources(
    only: set[str], names: Iterable[str] | None = None
) -> tuple[dict[str, Source], list[str]]:
    """Instantiate the registered sources whose kinds meet `only`; a module not written yet is a notice."""
    chosen: dict[str, Source] = {}
    notices: list[str] = []
    for name in names if names is not None else SOURCES:
        try:
            source = get_source(name)
        except ModuleNotFoundError as exc:
            notices.append(f"source {name}: skipped, module not available ({exc.name})")
            continue
        if not set(source.kinds) & only:
            continue
        # Optional hook: a source that is not set up (no URL, no key) says why instead of running.
        disabled = getattr(source, "disabled_reason", None)
        reason = disabled() if callable(disabled) else None
        if reason:
            notices.append(f"source {name}: off, {reason}")
            continue
        chosen[name] = source
    return chosen, notices


# ---------------------------------------------------------------------------- the run


def run_refresh(
    db_path: str | Path,
    config: Config,
    only: Iterable[str] | str | None = None,
    *,
    sources: Mapping[str, Source] | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    command: str = "refresh",
    names: Iterable[str] | None = None,
) -> RefreshSummary:
    """Refresh every selected source (registered ones, or `names` of them, unless `sources` is given)."""
    kinds = parse_only(only)
    summary = RefreshSummary()
    if sources is None:
        if names is not None:
            unknown = sorted(set(names) - set(SOURCES))
            if unknown:
                raise TickerwireError(
                    f"--source: unknown source(s) {unknown}; registered: {', '.join(SOURCES)}"
                )
        chosen, notices = load_sources(kinds, names)
        summary.notices.extend(notices)
    else:
        chosen = {n: s for n, s in sources.items() if set(s.kinds) & kinds}
    say = progress or (lambda _msg: None)
    _prepare(db_path, command)
    for name, source in chosen.items():
        if stop is not None and stop.is_set():
            summary.stopped = True
            break
        outcome = _run_source(db_path, config, name, source, kinds, stop, say, command)
        summary.outcomes.append(outcome)
        say(f"{name}: {outcome.status} ({outcome.stored} stored, {outcome.batches} batches)")
        summary.stopped = summary.stopped or outcome.status == "interrupted"
    news_ran = any(
        "news" in chosen[o.source].kinds and o.status in ("ok", "partial") for o in summary.outcomes
    )
    if news_ran and not summary.stopped:
        _enrich(db_path, config, summary, say, command)
    if summary.outcomes and not summary.stopped:  # failures too: health rules watch them
        from pipelines.alerts import after_refresh  # apprise loads only when a rule fires

        notice = after_refresh(db_path, config)
        if notice:
            summary.notices.append(notice)
    return summary


def _prepare(db_path: str | Path, command: str) -> None:
    """Create/migrate the file (runs a killed writer left 'running' are closed on the way)."""
    with store.writing(db_path, command, wait=START_WAIT):
        pass


@contextlib.contextmanager
def _brief_writer(
    db_path: str | Path, outcome: SourceOutcome, command: str
) -> Iterator[store.Store]:
    """A writer for one short step; the time spent waiting for it is added to the outcome."""
    t0 = time.perf_counter()
    with store.writing(db_path, command, migrate=False) as st:
        outcome.writer_wait += time.perf_counter() - t0
        yield st


def source_state(con: Any, name: str) -> dict[str, tuple[datetime | None, dict[str, Any] | None]]:
    """A source's cursors by key: its own rows and its sub-sources' ('ccxt:binance'), newest first wins."""
    # A fallback venue continues where the previous venue stopped, so the key alone identifies
    # the cursor; when two venues hold the same key the most recently written one counts.
    rows = con.execute(
        "select key, cursor_ts, value from ingest_state "
        "where source = ? or starts_with(source, ?) order by updated_at",
        [name, name + ":"],
    ).fetchall()
    return {key: (ts, json.loads(value) if value else None) for key, ts, value in rows}


def _run_source(
    db_path: str | Path,
    config: Config,
    name: str,
    source: Source,
    kinds: set[str],
    stop: threading.Event | None,
    say: Progress,
    command: str,
) -> SourceOutcome:
    """One source: read state, fetch (no db held), then commit the batches in a brief writer session."""
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    outcome = SourceOutcome(source=name, status="running")
    with store.reader(db_path) as con:
        state = source_state(con, name)
    session = _Session(db_path, name, started, outcome, say, stop, command)
    skipped: list[str] = []
    try:
        for batch in source.run(config, state, kinds):
            if batch.skipped:
                # A skipped unit may still carry rows (e.g. an instrument marked unavailable).
                skipped.append(f"{batch.key}: {batch.skipped}" if batch.key else batch.skipped)
            if batch.error:
                session.errors.append(f"{batch.key}: {batch.error}" if batch.key else batch.error)
            if _has_content(batch):
                session.add(batch)
            if stop is not None and stop.is_set():
                session.interrupted = True
                break
    except Exception as exc:  # a source should not raise; if it does the other sources go on
        session.errors.append(named_first_line(exc))
    details: dict[str, Any] = {"kinds": sorted(set(source.kinds) & kinds)}  # freshness reads it
    stats = getattr(source, "stats", None)
    if isinstance(stats, dict) and stats:
        details["http"] = dict(stats)
    if skipped:
        details["skipped"] = skipped[:50]
    session.finish(details, skipped)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _has_content(batch: Batch) -> bool:
    return bool(
        any(f.height for f in batch.frames.values())
        or batch.rejects
        or batch.cursor_ts is not None
        or batch.state is not None
    )


class _Session:
    """The commit side of one source's run.

    Batches wait in memory until the source is done (or FLUSH_ROWS pile up); then ONE brief
    writer connection commits each batch in its own transaction and records the run. So the
    file is held once per source per refresh, not once per batch, and never during network I/O.
    """

    def __init__(
        self,
        db_path: str | Path,
        name: str,
        started: datetime,
        outcome: SourceOutcome,
        say: Progress,
        stop: threading.Event | None,
        command: str,
    ):
        self.db_path, self.name, self.started = db_path, name, started
        self.command = command
        self.outcome, self.say, self.stop = outcome, say, stop
        self.pending: list[Batch] = []
        self.pending_rows = 0
        self.errors: list[str] = []
        self.run: store.RunLog | None = None
        self.interrupted = False

    def add(self, batch: Batch) -> None:
        """Queue a batch; flush when enough rows are waiting."""
        self.pending.append(batch)
        self.pending_rows += sum(f.height for f in batch.frames.values())
        if self.pending_rows >= FLUSH_ROWS:
            with _brief_writer(self.db_path, self.outcome, self.command) as st:
                self._commit_pending(st)

    def finish(self, details: dict[str, Any], skipped: list[str]) -> None:
        """Commit what is pending and close the run row; a failed write keeps its reason."""
        try:
            self._finish(details, skipped)
        except (TickerwireError, duckdb.Error) as exc:  # disk full, read-only file, locked…
            reason = f"not stored: {first_line(exc)}"
            self.outcome.status = "failed"
            self.outcome.errors = [*self.errors, reason]
            self.say(f"failed {self.name}: {reason}")
            if self.run is not None:
                _record_failure(self.db_path, self.run.run_id, self.outcome.errors, self.command)

    def _finish(self, details: dict[str, Any], skipped: list[str]) -> None:
        with _brief_writer(self.db_path, self.outcome, self.command) as st:
            self._commit_pending(st)
            run = self._run(st)
            run.errors.extend(self.errors)
            run.details.update(details)
            run.details["writer_wait_s"] = round(self.outcome.writer_wait, 4)
            if self.interrupted:
                status: str | None = "interrupted"
                run.errors.append("stopped by a signal after the current commit")
            elif self.outcome.batches == 0 and not run.errors and skipped:
                status = "skipped"
            else:
                status = None  # ok / partial / failed from the counts
            self.outcome.status = st.finish_run(run, status)
        out = self.outcome
        out.read, out.stored, out.present, out.rejected = (
            run.read,
            run.stored,
            run.present,
            run.rejected,
        )
        out.errors = list(run.errors)
        if status == "skipped":
            out.note = "; ".join(skipped)[:200]

    def _run(self, st: store.Store) -> store.RunLog:
        if self.run is None:
            self.run = st.start_run(self.name)
            # The run began when the fetching began, not when the first commit did.
            st.con.execute(
                "update ingest_runs set started_at = ? where run_id = ?",
                [self.started, self.run.run_id],
            )
            self.outcome.run_id = self.run.run_id
        return self.run

    def _commit_pending(self, st: store.Store) -> None:
        run = self._run(st)
        batches, self.pending, self.pending_rows = self.pending, [], 0
        for n, batch in enumerate(batches):
            if self.stop is not None and self.stop.is_set() and n > 0:
                self.interrupted = True  # finish the commit in progress, leave the rest for later
                return
            self._commit_one(st, batch, run)

    def _commit_one(self, st: store.Store, batch: Batch, run: store.RunLog) -> None:
        """Write one batch in its own transaction (rows + cursor + rejects together)."""
        rows = sum(f.height for f in batch.frames.values())
        self.say(f"commit {batch.source} {batch.key}: {rows} rows")
        try:
            results = store.commit_batch(
                st,
                batch.source,
                batch.key,
                batch.frames,
                cursor_ts=batch.cursor_ts,
                state_value=batch.state,
                rejects=batch.rejects,
            )
        except (TickerwireError, duckdb.Error) as exc:
            run.errors.append(f"{batch.key}: not stored: {first_line(exc)}")
            self.say(f"failed {batch.source} {batch.key}: {exc}")
            return
        for result in results.values():
            run.add(result)
        run.rejected += len(batch.rejects)
        self.outcome.batches += 1
        self.say(f"committed {batch.source} {batch.key}")


def _record_failure(db_path: str | Path, run_id: int, errors: list[str], command: str) -> None:
    """Close a run whose own session failed, with the reason, in a fresh session (best effort).

    If even that cannot be written (the disk is still full) the run stays 'running' until the
    next writer finds its owner gone and closes it as interrupted.
    """
    with (
        contextlib.suppress(TickerwireError, duckdb.Error),
        store.writing(db_path, command, migrate=False) as st,
    ):
        st.con.execute(
            "update ingest_runs set status = 'failed', finished_at = ?, errors = ? "
            "where run_id = ? and status = 'running'",
            [datetime.now(UTC), "\n".join(errors), run_id],
        )


def _enrich(
    db_path: str | Path, config: Config, summary: RefreshSummary, say: Progress, command: str
) -> None:
    """After news arrived, run the enrichment (clustering, entities, topics, sentiment)."""
    from pipelines.enrich import run_enrichment  # its models load only when news came in

    outcome = SourceOutcome(source="enrich", status="running")
    t0 = time.perf_counter()
    with _brief_writer(db_path, outcome, command) as st:
        # Enrichment needs the articles just committed and writes events: it is part of the
        # commit side, so it holds the writer (and only after the network work is done).
        run = st.start_run("enrich")
        outcome.run_id = run.run_id
        try:
            result = run_enrichment(st, config)
            if isinstance(result, Mapping):
                run.details.update({str(k): v for k, v in result.items()})
            elif isinstance(result, int):
                run.stored = result
        except Exception as exc:  # enrichment failing must not undo the ingested news
            run.errors.append(named_first_line(exc))
            with contextlib.suppress(duckdb.Error):
                st.con.execute("rollback")  # in case it failed inside its own transaction
        outcome.status = st.finish_run(run, None if run.errors else "ok")
    outcome.stored = run.stored
    outcome.errors = run.errors
    outcome.seconds = time.perf_counter() - t0
    summary.outcomes.append(outcome)
    say(f"enrich: {outcome.status}")


# Options of `python -m pipelines.refresh` that are global options of the `tickerwire` CLI.
_GLOBAL_OPTIONS = ("--db", "--config")


def cli_args(argv: list[str]) -> list[str]:
    """`[--db X] [--only K] …` → `[--db X] refresh [--only K] …`: global options go first."""
    front: list[str] = []
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTIONS:
            front.append(arg)
            if "=" not in arg:
                front.append(next(args, ""))
        else:
            rest.append(arg)
    return [*front, "refresh", *rest]


def main(argv: list[str] | None = None) -> None:
    """`python -m pipelines.refresh [--db PATH] [--config PATH] [REFRESH OPTIONS]`: `tickerwire refresh`."""
    from pipelines import cli

    sys.argv = ["tickerwire", *cli_args(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
