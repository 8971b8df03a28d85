"""The command line: every command has --help; errors are one line with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def all_command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "tickerwire")
def test_every_command_has_help(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_core_commands_are_registered():
    names = {" ".join(p) for p in all_command_paths()}
    assert {"init", "sql", "status", "dashboard"} <= names


def run_cli(*args: str, db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sql_is_read_only_and_errors_are_one_line(db_path):
    ok = run_cli("sql", "select count(*) as n from bars", "--format", "csv", db=db_path)
    assert ok.returncode == 0 and ok.stdout.strip().splitlines() == ["n", "0"]
    refused = run_cli("sql", "insert into meta values ('a', 'b')", db=db_path)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "read-only" in refused.stderr.lower()


def test_missing_database_is_a_clear_error(tmp_path):
    result = run_cli("status", db=tmp_path / "absent.duckdb")
    assert result.returncode == 1
    assert "does not exist; run `tickerwire init`" in result.stderr


def test_init_then_status(tmp_path):
    db = tmp_path / "new.duckdb"
    first = run_cli("init", db=db)
    assert first.returncode == 0 and "applied" in first.stdout
    second = run_cli("init", db=db)
    assert "up to date" in second.stdout
    status = run_cli("status", db=db)
    assert status.returncode == 0 and "instrument_id" in status.stdout
