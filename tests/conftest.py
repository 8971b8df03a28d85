"""Shared fixtures: a fresh database per test, the ../shared reference folder (or a skip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import store
from pipelines.paths import shared_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A migrated, empty database file."""
    path = tmp_path / "test.duckdb"
    with store.writer(path):
        pass
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the checkout; tests that need it skip with the reason when it is absent."""
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (reference data beside the checkout) is not present")
    return path
