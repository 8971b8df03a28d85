"""`tickerwire demo`: rebuild the offline database from the bundled sample of real prices and news."""

from __future__ import annotations

import typer

from pipelines.commands import state


def demo(
    ctx: typer.Context,
    force: bool = typer.Option(
        False, "--force", help="Replace the --db file even if it is not a demo database."
    ),
) -> None:
    """Rebuild the --db file from the bundled sample (recorded real prices and news, not live)."""
    # pipelines.demo loads the import and enrichment code: imported here, not at CLI start-up.
    from pipelines.demo import build_demo

    app = state(ctx)
    stats = build_demo(app.db_path, app.config, force=force)
    per_table = ", ".join(f"{table} {n:,}" for table, n in stats.rows.items())
    typer.echo(
        f"demo database {stats.db_path} rebuilt from the bundled sample "
        "(recorded real prices and news, not live)"
    )
    typer.echo(f"rows: {stats.total_rows:,} ({per_table})")
    if stats.rejected:
        typer.echo(f"rows refused by the importers: {stats.rejected:,} (kept in the rejects table)")
    typer.echo(f"seed-001 strip dated {stats.strip_note}")
    phases = ", ".join(f"{name} {sec:.2f}" for name, sec in stats.phases.items())
    typer.echo(f"build time: {stats.seconds:.2f} s ({phases})")
    typer.echo(f"content checksum: {stats.checksum}")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `tickerwire demo` to the CLI."""
    app.command()(demo)
