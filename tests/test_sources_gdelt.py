"""GDELT DOC 2.0 artlist JSON through the real fetch path, including the API's quirks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from pipelines.config import load_config
from pipelines.errors import ConfigError, SourceError
from pipelines.sources.gdelt_source import DOC_API, GdeltSettings, GdeltSource, decode_artlist
from pipelines.sources.http import HttpClient

FIXTURES = Path(__file__).parent / "fixtures" / "news" / "gdelt"
NOW = datetime(2025, 4, 20, tzinfo=UTC)


def config(tmp_path: Path, body: str):
    path = tmp_path / "tw.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path)


def gdelt(sleeps: list[float] | None = None) -> GdeltSource:
    waits = sleeps if sleeps is not None else []
    return GdeltSource(
        client=HttpClient(sleep=lambda s: None, retries=1), now=NOW, sleep=waits.append
    )


def test_invalid_backslash_escapes_are_repaired():
    raw = (FIXTURES / "artlist_export_controls.json").read_bytes()
    items = decode_artlist(raw)
    assert len(items) == 5
    assert (
        items[1]["title"]
        == "Nvidia says new US licence rule blocks H20 shipments to China 'indefinitely'"
    )
    assert "\\" not in items[3]["title"]


def test_plain_text_answer_is_a_clear_error():
    with pytest.raises(SourceError, match="too short or too common"):
        decode_artlist((FIXTURES / "error_too_short.txt").read_bytes())


def test_empty_answer_means_no_articles():
    assert decode_artlist((FIXTURES / "artlist_empty.json").read_bytes()) == []
    assert decode_artlist(b"") == []


@responses.activate
def test_queries_become_batches(tmp_path):
    responses.get(
        DOC_API,
        body=(FIXTURES / "artlist_export_controls.json").read_bytes(),
        match=[
            responses.matchers.query_param_matcher(
                {
                    "query": '"export controls" China',
                    "mode": "artlist",
                    "format": "json",
                    "maxrecords": "50",
                    "sort": "datedesc",
                    "timespan": "3d",
                }
            )
        ],
    )
    responses.get(DOC_API, body=(FIXTURES / "error_too_short.txt").read_bytes())
    cfg = config(
        tmp_path,
        '[gdelt]\nqueries = [\'"export controls" China\', "a"]\ntimespan = "3d"\nmax_records = 50\n'
        "min_interval_seconds = 5\n",
    )
    waits: list[float] = []
    batches = list(gdelt(waits).run(cfg, {}, {"news"}))
    assert waits == [5.0]  # one polite pause between the two queries
    good, bad = batches
    frame = good.frames["articles"]
    # The fifth item repeats the first (trailing slash): one article, one reject.
    assert frame.height == 4 and len(good.rejects) == 1
    assert set(frame["published_precision"]) == {"second"}
    assert frame["published_at"].min() == datetime(2025, 4, 15, 14, 15, tzinfo=UTC)
    assert "examplewire.com" in frame["outlet"].to_list()
    assert frame.filter(frame["outlet"] == "example-daily.co.uk")["canonical_url"].item() == (
        "https://tech.example-daily.co.uk/2025/04/15/nvidia-h20-licence"
    )
    assert good.cursor_ts == datetime(2025, 4, 16, 8, 40, tzinfo=UTC)
    assert bad.error.startswith("gdelt query 'a': GDELT answered with text")


@responses.activate
def test_cursor_asks_only_for_newer_articles(tmp_path):
    responses.get(DOC_API, body=b"{}")
    cfg = config(tmp_path, '[gdelt]\nqueries = ["tariffs"]\n')
    cursor = datetime(2025, 4, 18, 6, 30, tzinfo=UTC)
    [batch] = list(gdelt().run(cfg, {"tariffs": (cursor, None)}, set()))
    assert batch.error is None and batch.frames["articles"].height == 0
    params = responses.calls[0].request.params
    assert params["startdatetime"] == "20250418063000" and "timespan" not in params


@responses.activate
def test_server_errors_are_per_query(tmp_path):
    responses.get(DOC_API, status=503)
    cfg = config(tmp_path, '[gdelt]\nqueries = ["tariffs"]\nmin_interval_seconds = 0\n')
    [batch] = list(gdelt().run(cfg, {}, {"gdelt"}))
    assert "HTTP 503" in batch.error


def test_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="gdelt.timespan"):
        GdeltSettings.from_config(config(tmp_path, '[gdelt]\ntimespan = "forever"\n'))
    with pytest.raises(ConfigError, match="gdelt.max_records"):
        GdeltSettings.from_config(config(tmp_path, "[gdelt]\nmax_records = 1000\n"))
    assert (
        GdeltSettings.from_config(config(tmp_path, "[database]\npath = 'x.duckdb'\n")).queries == ()
    )


def _archive(n: int, start: datetime, step_minutes: int) -> list[dict]:
    """A stand-in for GDELT's index: n articles, one every step_minutes from start."""
    from datetime import timedelta

    return [
        {
            "url": f"https://wire.example/{i}",
            "title": f"Report number {i}",
            "seendate": (start + timedelta(minutes=step_minutes * i)).strftime("%Y%m%dT%H%M%SZ"),
            "domain": "wire.example",
            "language": "English",
        }
        for i in range(n)
    ]


def _serve(archive: list[dict], cap: int):
    """A responses callback that answers like the API: newest first, at most `cap` items."""
    import json

    def callback(request):
        params = request.params
        seen = [a for a in archive]
        if "startdatetime" in params:
            lo, hi = params["startdatetime"], params["enddatetime"]
            seen = [a for a in seen if lo <= a["seendate"].replace("T", "")[:14] < hi]
        seen.sort(key=lambda a: a["seendate"], reverse=True)
        return 200, {}, json.dumps({"articles": seen[: min(cap, int(params["maxrecords"]))]})

    return callback


@responses.activate
def test_a_full_page_splits_the_window_until_nothing_is_cut(tmp_path):
    # 600 articles over the last 3 days (one every 7 minutes): a single request returns 250.
    archive = _archive(600, datetime(2025, 4, 17, 0, 5, tzinfo=UTC), 7)
    responses.add_callback(responses.GET, DOC_API, callback=_serve(archive, cap=250))
    cfg = config(tmp_path, '[gdelt]\nqueries = ["tariffs"]\ntimespan = "3d"\nmax_records = 250\n')
    waits: list[float] = []
    [batch] = list(gdelt(waits).run(cfg, {}, set()))
    assert batch.error is None
    assert sorted(batch.frames["articles"]["url"].to_list()) == sorted(a["url"] for a in archive)
    assert batch.rejects == []
    windows = [c.request.params for c in responses.calls[1:]]
    assert all("startdatetime" in w for w in windows)
    assert len(waits) == len(windows)  # the polite pause before every extra request


@responses.activate
def test_a_window_still_full_at_the_smallest_split_is_reported(tmp_path):
    # 300 articles in the same minute: no split can get them under the cap of 50.
    archive = _archive(300, datetime(2025, 4, 19, 23, 30, tzinfo=UTC), 0)
    responses.add_callback(responses.GET, DOC_API, callback=_serve(archive, cap=250))
    cfg = config(
        tmp_path,
        '[gdelt]\nqueries = ["tariffs"]\ntimespan = "1h"\nmax_records = 50\nmin_interval_seconds = 0\n',
    )
    [batch] = list(gdelt().run(cfg, {}, set()))
    assert any("(the cap)" in r.reason and "some may be missing" in r.reason for r in batch.rejects)
