"""The dashboard in lake mode (TICKERWIRE_LAKE, as `tickerwire --lake DIR dashboard` sets it)
shows what it shows on the file: same texts and tables on every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from pipelines import export, store
from tests.test_dashboard_pages import PAGES, VIEWS, texts


@pytest.fixture(scope="module")
def lake_dir(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("dash-lake") / "lake"
    with store.reader(fixture_db) as con:
        export.export(con, dest)
    return dest


def shown(name: str) -> tuple[str, list]:
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return texts(at), [df.value for df in at.dataframe]


# sql: the console has its own test (test_lake.py); health: its ages count from the clock.
@pytest.mark.parametrize("name", [p for p in PAGES if p not in ("sql", "health")])
def test_a_page_on_the_lake_shows_what_it_shows_on_the_file(
    name, fixture_db, lake_dir, monkeypatch
):
    monkeypatch.delenv("TICKERWIRE_LAKE", raising=False)
    monkeypatch.setenv("TICKERWIRE_DB", str(fixture_db))
    on_file = shown(name)
    monkeypatch.setenv("TICKERWIRE_LAKE", str(lake_dir))
    on_lake = shown(name)
    assert on_file[0] and on_lake[0] == on_file[0]
    assert len(on_lake[1]) == len(on_file[1])
    for lake_frame, file_frame in zip(on_lake[1], on_file[1], strict=True):
        # NaN equal to NaN, dtypes and order checked; a study's sums may differ in the last bit
        assert_frame_equal(lake_frame, file_frame, check_exact=False, rtol=1e-12, atol=1e-12)
