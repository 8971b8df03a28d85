"""The README's "Python" section runs as written, on a demo built by `tickerwire demo`."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.paths import REPO_ROOT


def python_section() -> str:
    """The ```python blocks of README.md's "## Python" section, joined."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python section has no ```python block"
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with data/demo.duckdb built by the CLI, as the README's example expects."""
    folder = tmp_path_factory.mktemp("readme")
    cli = Path(sys.executable).parent / "tickerwire"
    done = subprocess.run(
        [str(cli), "--db", "data/demo.duckdb", "demo"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written(demo_folder, monkeypatch):
    monkeypatch.chdir(demo_folder)
    monkeypatch.delenv("TICKERWIRE_DB", raising=False)
    test = doctest.DocTestParser().get_doctest(
        python_section(), {}, "README.md#python", str(REPO_ROOT / "README.md"), 0
    )
    assert len(test.examples) >= 8  # the example itself, not an empty block
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} README examples failed"
