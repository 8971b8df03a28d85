"""`tickerwire demo`: rebuild the offline demo database (synthetic, deterministic)."""

from __future__ import annotations

import typer

from pipelines.commands import state


def demo(
    ctx: typer.Context,
    seed: int | None = typer.Option(
        None, help="Random seed of the synthetic prices (default: the demo's fixed seed)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the --db file even if it is not a demo database."
    ),
) -> None:
    """Rebuild the --db file from scratch as the offline demo (synthetic prices, sample events)."""
    # pipelines.demo pulls numpy and scipy (~0.6 s): imported here, not at CLI start-up.
    from pipelines.demo import DEFAULT_SEED, build_demo

    app = state(ctx)
    stats = build_demo(
        app.db_path, app.config, seed=DEFAULT_SEED if seed is None else seed, force=force
    )
    per_table = ", ".join(f"{table} {n:,}" for table, n in stats.rows.items())
    typer.echo(f"demo database {stats.db_path} rebuilt (synthetic data, seed {stats.seed})")
    typer.echo(f"rows written: {stats.total_rows:,} ({per_table})")
    phases = ", ".join(f"{name} {sec:.2f}" for name, sec in stats.phases.items())
    typer.echo(f"build time: {stats.seconds:.2f} s ({phases})")
    typer.echo(f"content checksum: {stats.checksum}")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add `tickerwire demo` to the CLI."""
    app.command()(demo)
