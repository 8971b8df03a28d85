"""Shared fixtures: a fresh database per test, the ../shared reference folder (or a skip)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipelines import store
from pipelines.paths import shared_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def fresh_yfinance_session():
    """Each test meets yfinance without the cookie, crumb and strategy an earlier test left in
    its process-wide singleton (a test whose Yahoo was unreachable leaves it toggled)."""
    data = sys.modules.get("yfinance.data")
    if data is not None:
        data.SingletonMeta._instances.pop(data.YfData, None)
    yield


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A migrated, empty database file."""
    path = tmp_path / "test.duckdb"
    with store.writer(path):
        pass
    return path


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dashboard fixture database (tests/dashboard_fixture_db.py), built once per module."""
    from tests.dashboard_fixture_db import build

    return build(tmp_path_factory.mktemp("dash") / "dash.duckdb")


@pytest.fixture
def use_db(fixture_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the dashboard at the fixture database (modules opt in with pytestmark)."""
    monkeypatch.setenv("TICKERWIRE_DB", str(fixture_db))
    return fixture_db


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the checkout; tests that need it skip with the reason when it is absent."""
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (reference data beside the checkout) is not present")
    return path


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole run (start-up costs ~10 s); skips with the reason
    when the [spark] extra or a Java runtime is missing (`make test` installs both)."""
    import shutil

    pytest.importorskip("pyspark", reason="pyspark not installed: pip install 'tickerwire[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(
            "no Java runtime for Spark (make test installs openjdk-17-jre-headless as root)"
        )
    from pipelines.analytics.spark_engine import SparkSettings, spark_session

    session = spark_session(SparkSettings(master="local[2]"))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
