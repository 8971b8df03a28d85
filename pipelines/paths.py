"""Where things live: the repo root, the SQL folder, the default config and database."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def sql_dir() -> Path:
    """The `sql/` folder: the checkout's when running from one, else the copy inside the wheel."""
    checkout = REPO_ROOT / "sql"
    if (checkout / "migrations").is_dir():
        return checkout
    # Installed from a wheel: setup.py maps sql/ to the package `pipelines._sql`.
    return Path(str(resources.files("pipelines._sql")))


def view_files() -> list[Path]:
    """The view and macro definitions (sql/views), re-created after every migration run and
    applied to every lake reader."""
    return sorted((sql_dir() / "views").glob("*.sql"))


def migration_files() -> list[Path]:
    """The migration files in the order they are applied (by their NNNN_ prefix)."""
    return sorted((sql_dir() / "migrations").glob("*.sql"))


def default_config_path() -> Path:
    """The default `tickerwire.toml`: $TICKERWIRE_CONFIG, ./tickerwire.toml, the checkout's, the wheel's."""
    env = os.environ.get("TICKERWIRE_CONFIG")
    if env:
        return Path(env)
    for candidate in (Path.cwd() / "tickerwire.toml", REPO_ROOT / "tickerwire.toml"):
        if candidate.is_file():
            return candidate
    return Path(str(resources.files("pipelines._defaults") / "tickerwire.toml"))


def default_db_path() -> Path:
    """The database file: $TICKERWIRE_DB, else data/tickerwire.duckdb under the working directory."""
    env = os.environ.get("TICKERWIRE_DB")
    return Path(env) if env else Path("data") / "tickerwire.duckdb"


def shared_dir() -> Path | None:
    """`../shared` beside the checkout (reference data for tests and benchmarks), if present."""
    candidate = REPO_ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None
