"""Alert commands: `tickerwire alerts list | test RULE | history`."""

from __future__ import annotations

import typer

from pipelines.commands import FormatOpt, emit_frame, fit_width, state

alerts_app = typer.Typer(
    help="Alert rules ([[alerts]] in tickerwire.toml): list them, test one, show what was sent.",
    no_args_is_help=True,
)


@alerts_app.command("list")
def list_rules(
    ctx: typer.Context,
    fmt: FormatOpt = "table",
) -> None:
    """The configured rules, their condition and whether their target variable is set."""
    from pipelines.alerts import rules_frame, rules_from_config

    rules = rules_from_config(state(ctx).config)
    if not rules and fmt == "table":
        typer.echo("no alert rules: add [[alerts]] tables to tickerwire.toml (see README)")
        return
    frame = rules_frame(rules)
    emit_frame(fit_width(frame, "condition", 120) if fmt == "table" else frame, fmt)


@alerts_app.command("test")
def test_cmd(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name (see `tickerwire alerts list`)."),
) -> None:
    """Evaluate RULE now and send what it finds (or a 'not met' note) to its targets, as a test."""
    from pipelines.alerts import test_rule

    app = state(ctx)
    run = test_rule(app.db_path, app.config, rule)
    failed = 0
    for d in run.deliveries:
        line = f"{d.status}: {d.firing.title}"
        if d.error:
            line += f" ({d.error})"
        typer.echo(line)
        failed += d.status != "sent"
    if failed:
        raise typer.Exit(1)


@alerts_app.command("history")
def history(
    ctx: typer.Context,
    rule: str | None = typer.Option(None, "--rule", "-r", help="Only this rule."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="Newest N alerts."),
    fmt: FormatOpt = "table",
) -> None:
    """Alerts fired, newest first: when, rule, title, delivery status and error."""
    from pipelines import store

    with store.reader(state(ctx).db_path) as con:
        frame = store.query_frame(
            con,
            store.load_sql("queries/alert_history"),
            {"rule": rule, "limit": limit},
        )
    if fmt == "table":
        frame = fit_width(frame.drop("message"), "title", 120)
    emit_frame(frame, fmt)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    """Add the alerts group to the CLI."""
    app.add_typer(alerts_app, name="alerts")
