"""The project's SQL views and macros (sql/views) on a connection: stored by a writer, and laid
over an older file as temporary ones by a reader, so every reader sees the current definitions.

A writer re-creates the stored views when their digest (kept in `meta.views_sha256`) changed. A
read-only connection cannot, so a file last written by an older tickerwire would answer with
its old views until its next write; `apply_for_reader` creates the current ones as temporary
views and macros instead (they shadow the stored ones for that connection only, nothing is
written). Where a current view needs a column the older file lacks, the stored ones are kept.
"""

from __future__ import annotations

import hashlib
import re

import duckdb

from pipelines.paths import migration_files, view_files

DIGEST_KEY = "views_sha256"  # the meta row naming the definitions a file's views were made from

_CREATE = re.compile(r"\bcreate\s+or\s+replace\s+(view|macro)\b", re.IGNORECASE)


def definitions() -> tuple[list[str], str]:
    """The view and macro statements in the order they are applied, and their digest."""
    texts = [p.read_text(encoding="utf-8") for p in view_files()]
    return texts, hashlib.sha256("\0".join(texts).encode()).hexdigest()


def stored_digest(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest of the definitions the file's stored views were made from (None: unknown)."""
    try:
        rows = con.execute("select value from meta where key = ?", [DIGEST_KEY]).fetchall()
    except duckdb.CatalogException:  # a file without the meta table (not a tickerwire file)
        return None
    return rows[0][0] if rows else None


def as_temporary(statement: str) -> str:
    """The statement creating a temporary view or macro instead of a stored one."""
    return _CREATE.sub(lambda m: f"create or replace temp {m.group(1).lower()}", statement)


def apply_for_reader(con: duckdb.DuckDBPyConnection) -> bool:
    """On a read-only connection: lay the current views over the stored ones when these are
    older; True when it did (False: already current, or the file's tables predate them)."""
    texts, digest = definitions()
    stored = stored_digest(con)
    if stored is None or stored == digest:
        return False
    con.execute("begin transaction")  # temporary objects are transactional too
    try:
        for text in texts:
            con.execute(as_temporary(text))
    except duckdb.Error:
        # The current views need a newer schema (a migration not applied yet): the stored
        # views still match the file's tables, so they stay; `tickerwire init` updates both.
        con.execute("rollback")
        return False
    con.execute("commit")
    return True


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """Migrations of this version the database has not had (a reader cannot apply them); None
    when it keeps no migration log: a lake exported before lakes carried one, so older."""
    try:
        done = {r[0] for r in con.execute("select name from _migrations").fetchall()}
    except duckdb.CatalogException:
        return None
    return [p.name for p in migration_files() if p.name not in done]


def update_note(con: duckdb.DuckDBPyConnection) -> str | None:
    """The line telling a reader of an older database how to bring it up to date (None: current)."""
    pending = pending_migrations(con)
    if pending is None:
        return "this lake was exported by an older tickerwire; run `tickerwire export` again"
    if not pending:
        return None
    return (
        f"this database predates {len(pending)} migration(s) of this tickerwire "
        f"({', '.join(pending)}); run `tickerwire init` (or any write) to apply them "
        "(a lake: on its file, then export again)"
    )
