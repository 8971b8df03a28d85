"""`tickerwire demo`: rebuild the offline demo database (synthetic, deterministic)."""

from __future__ import annotations

import typer

from pipelines.commands import state
from pipelines.demo import DEFAULT_SEED, build_demo


def demo(
    ctx: typer.Context,
    seed: int = typer.Option(DEFAULT_SEED, help="Random seed of the synthetic prices."),
    force: bool = typer.Option(
        False, "--force", help="Replace the --db file even if it is not a demo database."
    ),
) -> None:
    """Rebuild the --db file from scratch as the offline demo (synthetic prices, sample events)."""
    app = state(ctx)
    stats = build_demo(app.db_path, app.config, seed=seed, force=force)
    per_table = ", ".join(f"{table} {n:,}" for table, n in stats.rows.items())
    typer.echo(f"demo database {stats.db_path} rebuilt (synthetic data, seed {stats.seed})")
    typer.echo(f"rows written: {stats.total_rows:,} ({per_table})")
    phases = ", ".join(f"{name} {sec:.2f}" for name, sec in stats.phases.items())
    typer.echo(f"build time: {stats.seconds:.2f} s ({phases})")
    typer.echo(f"content checksum: {stats.checksum}")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `tickerwire demo` to the CLI."""
    app.command()(demo)
