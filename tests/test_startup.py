"""The CLI starts without the heavy libraries: they load inside the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipelines import store

# pydantic: typer 0.29 imports it at the first parsed option (~65 ms), hence typer<0.29;
# lxml, w3lib, dateutil: article normalisation and free-form dates, for imports only.
HEAVY = (
    "ccxt", "yfinance", "scipy", "streamlit", "plotly", "pyarrow",
    "pydantic", "rich", "lxml", "w3lib", "dateutil",
)  # fmt: skip


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has in sys.modules after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import pipelines.cli",
        "import tickerwire",
        "from pipelines.analytics import StudySpec, LEVELS",
    ],
)
def test_start_up_imports_none_of_the_heavy_libraries(code):
    assert loaded_after(code) == []


def test_the_probe_sees_a_heavy_import_when_there_is_one():
    # The same probe, on code that does need the study engine, reports scipy: it can fail.
    assert "scipy" in loaded_after("from pipelines.analytics import run_study")


def test_help_and_a_query_run_without_the_heavy_libraries(tmp_path):
    db = tmp_path / "t.duckdb"
    # `init` is not a quick command: creating a file generates the trading sessions
    # (pandas_market_calendars, so pandas and pyarrow). The quick ones run on the made file.
    with store.writing(db, "test"):
        pass
    code = (
        "import sys\n"
        "from pipelines.cli import app\n"
        "for argv in (['--help'], ['--db', sys.argv[1], 'status'],"
        " ['--db', sys.argv[1], 'sql', 'select 1 as x'], ['--db', sys.argv[1], 'events', 'list']):\n"
        "    try:\n"
        "        app(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), (argv, exc.code)\n"
    )
    probe = (
        f"{code}import json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(db)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
