"""Article files (TXT, HTML, Markdown, JSONL, CSV, Parquet) and the `import articles` / `events` commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.errors import DataError
from pipelines.sources.article_files import guess_title, parse_front_matter, read_file

FILES = Path(__file__).parent / "fixtures" / "news" / "files"
runner = CliRunner()


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def invoke(db: Path, *args: str):
    result = runner.invoke(app, ["--db", str(db), *args])
    return result


def test_markdown_front_matter():
    [raw], rejects = read_file(FILES / "ecb_cut.md")
    assert rejects == []
    assert raw.title == "ECB cuts interest rates to 2% and signals a pause"
    assert raw.published == "2025-06-05T12:15:00+00:00"
    assert raw.outlet == "Econ K"
    assert "European Central Bank lowered" in raw.summary and "**" not in raw.summary
    assert "Read the statement" in raw.summary and "ecb.example" not in raw.summary


def test_html_meta_and_canonical():
    [raw], _ = read_file(FILES / "fed_hold.html")
    assert raw.title == "Fed leaves rates unchanged at 4.25%-4.5%, projects two cuts"
    assert raw.published == "2025-06-18T18:05:00Z"
    assert raw.url == "https://markets-f.example.com/fed-holds/"
    assert raw.outlet == "Markets F" and raw.language == "en"
    assert "tracking" not in raw.summary  # scripts are not text


def test_jsonl_aliases_and_bad_lines():
    raws, rejects = read_file(FILES / "wire.jsonl")
    assert [r.outlet for r in raws] == ["Energy I", "Wire A", "Markets F", None]
    assert raws[2].title == "Oil cartel OPEC+ sticks with big July production hike"
    assert [r.reason for r in rejects] == ["wire.jsonl line 3: not JSON (Expecting value)"]


def test_csv_posts_with_html_text():
    raws, _ = read_file(FILES / "posts.csv")
    assert raws[0].guid == "900000000000000001"
    assert raws[0].title is None and raws[0].summary.startswith("Today is LIBERATION DAY")
    assert raws[1].published == "2025-04-02 20:45:10+00:00"


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="unknown article format '.pdf'"):
        read_file(tmp_path / "a.pdf")
    with pytest.raises(DataError, match="no such file"):
        read_file(tmp_path / "a.txt")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="needs a title or text column"):
        read_file(bad)


def test_cp1252_text_file_is_read(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(
        "Zentralbank senkt Zinsen für Sparer – überraschend deutlich\nText.".encode("cp1252")
    )
    [raw], _ = read_file(path)
    assert raw.title == "Zentralbank senkt Zinsen für Sparer – überraschend deutlich"


def test_guess_title_skips_mastheads_tickers_and_taglines():
    lines = [
        "· $0.19",
        "BTC$73,275.00▼ 0.17%XAU$4,593.00▲ 2.08%",
        "Autonomous AI dispatch. Unedited, source-checked, opinionated.",
        "Prices as of 04:57 UTC",
        "China Is Treating Its AI Researchers as State Assets",
    ]
    assert guess_title(lines) == ("China Is Treating Its AI Researchers as State Assets", 4)
    assert parse_front_matter("+++\ntitle = 'x'\n+++\nbody") == ({"title": "x"}, "body")


def test_seeds_form_one_event_with_five_reports(shared, tmp_path):
    db = tmp_path / "seeds.duckdb"
    seeds = sorted(str(p) for p in (shared / "seeds").glob("*.txt"))
    assert len(seeds) == 5
    result = invoke(db, "import", "articles", *seeds, "--published", "2025-04-21T08:00:00Z")
    assert result.exit_code == 0, result.output
    assert "read 5, new 5" in result.output
    events = rows(db, "select event_id, n_articles, n_outlets, event_at, category from events")
    assert len(events) == 1
    _, n_articles, n_outlets, event_at, category = events[0]
    assert (n_articles, n_outlets, category) == (5, 5, "policy")
    assert event_at == datetime(2025, 4, 21, 8, tzinfo=UTC)
    assert rows(db, "select count(*) from event_articles") == [(5,)]
    # Alibaba is named in every seed; the ticker strip in seed 001 is not a mention of BTC/XAU.
    assert [r[0] for r in rows(db, "select instrument_id from event_instruments")] == ["BABA"]
    tags = rows(db, "select tags from events")[0][0]
    assert "travel_restrictions" in tags

    again = invoke(db, "import", "articles", *seeds, "--published", "2025-04-21T08:00:00Z")
    assert "new 0" in again.output and "already present 5" in again.output
    assert rows(db, "select count(*), sum(n_articles) from events") == [(1, 5)]


def test_import_mixed_files_counts_rejects(tmp_path):
    db = tmp_path / "files.duckdb"
    files = [str(FILES / n) for n in ("ecb_cut.md", "fed_hold.html", "wire.jsonl", "posts.csv")]
    result = invoke(db, "import", "articles", *files)
    assert result.exit_code == 0, result.output
    # 10 records read; refused: 1 non-JSON line + 1 undated (jsonl), 1 undated + 1 empty post (csv).
    assert "read 10, new 7" in result.output and "rejected 4" in result.output
    assert rows(db, "select count(*) from rejects where source = 'import:articles'") == [(4,)]
    precision = dict(rows(db, "select title, published_precision from articles"))
    assert precision["Oil cartel OPEC+ sticks with big July production hike"] == "unknown-zone"
    opec = rows(
        db,
        "select e.n_articles, e.n_outlets from events e join event_instruments i using (event_id) "
        "where i.instrument_id = 'WTI'",
    )
    assert opec == [(3, 3)]  # three OPEC reports → one event tied to WTI


def test_import_with_bad_published_is_one_line_error(tmp_path):
    result = invoke(
        tmp_path / "x.duckdb",
        "import",
        "articles",
        str(FILES / "ecb_cut.md"),
        "--published",
        "2025-06-05 12:00",
    )
    assert result.exit_code != 0
    assert "no time zone" in str(result.exception)


def test_events_add_and_list(tmp_path):
    db = tmp_path / "ev.duckdb"
    added = invoke(
        db,
        "events",
        "add",
        "--at",
        "2025-04-02T20:00:00Z",
        "--title",
        "Reciprocal tariffs announced",
        "--category",
        "policy",
        "--instruments",
        "BTC,XAU",
    )
    assert added.exit_code == 0, added.output
    assert rows(db, "select is_manual, category, n_articles from events") == [(True, "policy", 0)]
    assert rows(db, "select instrument_id, reason from event_instruments order by 1") == [
        ("BTC", "manual"),
        ("XAU", "manual"),
    ]
    again = invoke(
        db,
        "events",
        "add",
        "--at",
        "2025-04-02T22:00:00+02:00",
        "--title",
        "Reciprocal tariffs announced",
        "--instruments",
        "BTC,XAU",
    )
    assert "already present" in again.output  # same instant written in another zone
    listed = invoke(db, "events", "list", "--format", "csv")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2 and "BTC,XAU" in lines[1] and "Reciprocal tariffs" in lines[1]
    none = invoke(db, "events", "list", "--since", "2025-05-01T00:00:00Z", "--format", "json")
    assert none.output.strip() == "[]"


def test_events_add_refuses_unknown_instruments_and_categories(tmp_path):
    db = tmp_path / "ev.duckdb"
    bad = invoke(
        db, "events", "add", "--at", "2025-04-02T20:00:00Z", "--title", "x", "--instruments", "NOPE"
    )
    assert bad.exit_code != 0 and "NOPE" in str(bad.exception)
    bad = invoke(
        db, "events", "add", "--at", "2025-04-02T20:00:00Z", "--title", "x", "--category", "gossip"
    )
    assert bad.exit_code != 0 and "gossip" in str(bad.exception)


def test_events_add_links_any_stored_instrument_and_names_the_unknown(tmp_path):
    db = tmp_path / "ev.duckdb"
    prices = tmp_path / "aapl.csv"
    prices.write_text("time,close\n2026-01-05 14:30:00Z,243.1\n2026-01-05 14:31:00Z,243.4\n")
    assert invoke(db, "import", "bars", str(prices), "-i", "AAPL", "-t", "1m").exit_code == 0
    at = ["--at", "2026-01-05T14:30:30Z", "--title", "Product launch"]
    added = invoke(db, "events", "add", *at, "--instruments", "AAPL,BTC")  # stored, watchlist
    assert added.exit_code == 0, added.output
    assert rows(db, "select instrument_id from event_instruments order by 1") == [
        ("AAPL",),
        ("BTC",),
    ]
    bad = invoke(db, "events", "add", *at, "--instruments", "AAPL,FOO")
    assert bad.exit_code != 0
    assert "unknown instrument FOO" in str(bad.exception) and "AAPL" not in str(bad.exception)


def test_the_same_rows_from_another_file_are_present_not_changed(tmp_path):
    db = tmp_path / "ev.duckdb"
    text = "time,title,url\n2025-04-09T17:18:40Z,Tariff pause announced,https://w.example/p\n"
    (tmp_path / "first.csv").write_text(text)
    (tmp_path / "second.csv").write_text(text)
    for name in ("first.csv", "second.csv"):
        result = invoke(db, "import", "articles", str(tmp_path / name), "--no-enrich")
        assert result.exit_code == 0, result.output
    assert "new 0, changed 0, already present 1" in result.output
    for name in ("first.csv", "second.csv"):
        result = invoke(db, "import", "events", str(tmp_path / name))
    assert "stored 0 events (0 new, 0 changed), 1 already present" in result.output
    assert rows(db, "select count(*) from articles where feed like 'file:%'") == [(2,)]


def test_whole_html_page_keeps_the_article_and_drops_the_boilerplate():
    [raw], _ = read_file(FILES / "opec_page.html")
    assert raw.title == "OPEC+ agrees to lift output again in August"
    assert raw.published == "2025-07-05T12:30:00Z" and raw.outlet == "Energy Desk"
    assert raw.url == "https://energy-desk.example.com/opec-august/"
    paragraphs = raw.summary.split("\n")
    assert len(paragraphs) == 4 and paragraphs[0].startswith("Eight members of the OPEC+")
    for boilerplate in ("cookies", "Subscribe", "Related stories", "Copyright", "window.ads"):
        assert boilerplate not in raw.summary


def test_parquet_rows_are_reports_and_a_bad_parquet_is_one_clear_error(tmp_path: Path):
    import polars as pl

    path = tmp_path / "posts.parquet"
    pl.DataFrame(
        {
            "post_id": ["1", "2"],
            "published": ["2025-04-09 17:18:40.629000+00:00", "2026-05-26"],
            "text": ["Ninety-day pause on tariffs announced", "Second report text here"],
            "outlet": ["Truth Social", "Bloomberg"],
        }
    ).write_parquet(path)
    raws, rejects = read_file(path)
    assert rejects == []
    assert [(r.guid, r.published, r.summary, r.outlet) for r in raws] == [
        (
            "1",
            "2025-04-09 17:18:40.629000+00:00",
            "Ninety-day pause on tariffs announced",
            "Truth Social",
        ),
        ("2", "2026-05-26", "Second report text here", "Bloomberg"),
    ]
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet at all")
    with pytest.raises(DataError, match="cannot read as Parquet"):
        read_file(broken)
