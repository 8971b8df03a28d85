"""The wheel carries sql/ and the default config, and works away from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from pipelines.paths import REPO_ROOT


@pytest.mark.slow
def test_wheel_ships_sql_and_defaults_and_migrates_away_from_the_checkout(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO_ROOT),
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip("cannot reach the package index to fetch the build backend")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("tickerwire-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    sql_files = sorted(
        p.relative_to(REPO_ROOT / "sql").as_posix() for p in (REPO_ROOT / "sql").rglob("*.sql")
    )
    assert (
        sorted(
            n.removeprefix("pipelines/_sql/")
            for n in names
            if n.startswith("pipelines/_sql/") and n.endswith(".sql")
        )
        == sql_files
    )
    assert "pipelines/_defaults/tickerwire.toml" in names
    sample_files = sorted(
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "pipelines" / "sample").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert [n for n in sample_files if n not in names] == []  # the bundled sample ships whole
    assert "dashboard/app.py" in names or not (REPO_ROOT / "dashboard" / "app.py").exists()

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import pipelines.paths as p, pipelines.store as s, pipelines.config as c;"
        "assert p.sql_dir().name == '_sql', p.sql_dir();"
        "cfg = c.load_config();"
        "assert len(cfg.watchlist) == 20;"
        "w = s.writer('x.duckdb'); writer = w.__enter__();"
        "print(len(writer.con.execute('select * from _migrations').fetchall()), 'migrations');"
        "w.__exit__(None, None, None);"
        "import pipelines.sample as sm;"
        "assert sm.files() and all(f.path.is_file() for f in sm.files()), sm.DATA_DIR"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.strip()
        == f"{len(list((REPO_ROOT / 'sql' / 'migrations').glob('*.sql')))} migrations"
    )
