"""The README's "Growing past one machine" section runs as written: its ```bash commands in a
folder holding data/tickerwire.duckdb, then (with the [spark] extra and Java) its Spark command
and its ```python example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.paths import REPO_ROOT
from tests.test_lake import fill

BIN = Path(sys.executable).parent


def section() -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Growing past one machine", 1)[1].split("\n## ", 1)[0]


def bash_lines(spark: bool) -> list[str]:
    """The commands of the section's ```bash blocks (the Spark ones, or the others)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section(), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line and not line.startswith("#") and ("--engine spark" in line) == spark:
                lines.append(line)
    return lines


def run(folder: Path, line: str) -> str:
    command = line.replace(".venv/bin/", f"{BIN}/", 1)
    if command.startswith("tickerwire "):
        command = f"{BIN}/{command}"
    done = subprocess.run(command, shell=True, cwd=folder, capture_output=True, text=True,
                          timeout=240, env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(folder)})  # fmt: skip
    assert done.returncode == 0, f"{line}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    fill(tmp_path / "data" / "tickerwire.duckdb")
    return tmp_path


def test_the_readme_lake_commands_run_as_written(folder: Path):
    lines = bash_lines(spark=False)
    assert len(lines) >= 5 and lines[0].startswith("tickerwire export --to lake/")
    outputs = [run(folder, line) for line in lines]
    assert (folder / "lake" / "_manifest.json").is_file()
    status, sql, study, coverage = outputs[1], outputs[2], outputs[3], outputs[4]
    assert "database: lake/" in status and re.search(r"AAA\s+600", sql)
    assert study.startswith("event_id,instrument_id") and "e1,BBB" in study
    assert re.search(r"AAA\s*│\s*1m\s*│\s*600", coverage)  # bar_coverage, a view of sql/views


@pytest.mark.slow
def test_the_readme_spark_examples_run_as_written(folder: Path, spark, monkeypatch, capsys):
    # `spark` (conftest) skips without pyspark or Java; the example reuses that session.
    run(folder, "tickerwire export --to lake/")
    (spark_line,) = bash_lines(spark=True)
    on_spark = run(folder, spark_line)
    on_duckdb = run(folder, spark_line.replace(" --engine spark", ""))
    assert on_spark == on_duckdb and "e1,AAA" in on_spark
    (example,) = re.findall(r"```python\n(.*?)```", section(), flags=re.S)
    monkeypatch.chdir(folder)
    # the shared session's JVM resolves relative paths from where it started: the lake's folder
    exec(compile(example.replace('"lake/', f'"{folder}/lake/'), "README.md#spark", "exec"), {})
    out = capsys.readouterr().out
    assert "BTC" in out and "e1" in out and "AAA" in out  # the study's CARs, then Spark's counts
