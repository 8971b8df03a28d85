"""AppTest of every dashboard page on the fixture database: widgets in → expected content out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages import app_pages
from tests.dashboard_fixture_db import SEED_EVENT, build

VIEWS = Path(__file__).resolve().parent.parent / "dashboard" / "views"
PAGES = [p.name for p in app_pages()]  # every page of the menu, as dashboard/app.py lists it


# every test here reads the dashboard fixture database (conftest.fixture_db)
pytestmark = pytest.mark.usefixtures("use_db")


def page(name: str, **params: str) -> AppTest:
    """Run one page script (as st.navigation would) with URL query parameters."""
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """All markdown, captions, infos, warnings and errors of a page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += (
        [i.value for i in at.info] + [w.value for w in at.warning] + [e.value for e in at.error]
    )
    return "\n".join(parts)


def test_overview_strip_events_and_chart() -> None:
    """The strip as on seed 001, the demo banner, latest events with movers, two charts."""
    at = page("overview")
    html = at.markdown[0].value
    assert "<b>BTC</b>" in html and "$73,275.00" in html and "▼ 0.17%" in html
    assert "<b>ETH</b>" in html and "▲ 0.10%" in html
    assert "Prices as of 04:57 UTC" in html
    assert 'title="no configured venue lists RAIN"' in html
    assert "Synthetic demo data" in at.warning[0].value
    events = at.dataframe[0].value
    assert events["title"].tolist()[-1].startswith("China classifies")
    assert events["biggest mover (+1h)"].tolist()[-1] == "BTC"
    assert len(at.get("plotly_chart")) == 1  # the price chart; sparklines are inline SVG
    sparks = at.get("html")[0].proto.body
    # one per instrument with bars (BTC, ETH, XAU in the fixture)
    assert sparks.count('class="tw-spark"') == 3 and "<b>BTC</b>" in sparks
    assert "10,080 1m bars → 1,680 candles" in texts(at)  # "1W" of BTC in 6-minute candles


def test_overview_instrument_and_line_change_the_chart() -> None:
    """Picking XAU and 'line' changes what the price chart shows."""
    at = page("overview")
    at.selectbox(key="instrument").set_value("XAU").run()
    assert "5m bars" in texts(at)
    at.segmented_control(key="chart").set_value("line").run()
    assert "points" in at.caption[-1].value


def test_overview_state_from_url() -> None:
    """A shared link (?instrument=ETH&chart=line&range=All) restores the chart."""
    at = page("overview", instrument="ETH", chart="line", range="All")
    assert at.selectbox(key="instrument").value == "ETH"
    assert "11,490 1m bars" in texts(at) and "points" in texts(at)


def test_no_banner_without_demo_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that is not the demo shows no demo banner."""
    monkeypatch.setenv("TICKERWIRE_DB", str(build(tmp_path / "real.duckdb", demo=False)))
    at = page("overview")
    assert not any("Synthetic demo data" in w.value for w in at.warning)


def test_event_page_from_url_and_pick() -> None:
    """?event= opens that event; its returns, reports and confounders show; picking another updates the URL."""
    at = page("event", event=SEED_EVENT)
    assert any("China classifies AI engineers" in m.value for m in at.markdown)
    verdict = at.success[0].value
    # BTC jumps 2 % in the fixture's first 5 minutes; ETH does not react
    assert verdict.startswith("In the 4 h after 14:25 UTC: BTC +2.0 % at 5 min")
    assert "ETH stayed within its usual range" in verdict
    returns = at.dataframe[0].value
    btc5 = returns[(returns["instrument_id"] == "BTC") & (returns["horizon"] == "+5m")]
    assert btc5["mark"].tolist() == ["***"]
    # the marks follow Benjamini–Hochberg q (≥ p), never the raw p
    assert (returns["q_value"].dropna() >= returns["p_value"].dropna() - 1e-15).all()
    reports = at.dataframe[1].value
    assert reports["outlet"].tolist() == ["The Decoder", "Bloomberg", "SCMP"]
    assert at.dataframe[2].value["open"].tolist() == ["event?event=ev-fed"]  # inside −1h/+4h
    assert len(at.get("plotly_chart")) == 2  # paths and the returns grid
    at.selectbox(key="event_pick").set_value("ev-fed").run()
    assert at.query_params["event"] == "ev-fed"
    assert any("Fed minutes" in m.value for m in at.markdown)


def test_event_search_narrows_the_list() -> None:
    """Searching 'fed' leaves one event to pick."""
    at = page("event", q="fed")
    assert at.selectbox(key="event_pick").options == [
        "2026-05-26 18:00 · Fed minutes signal patience on rates"
    ]


def test_timeline_linked_events_only() -> None:
    """'Linked to this instrument' keeps only the events mapped to it."""
    at = page("timeline", instrument="ETH", range="All")
    assert len(at.dataframe[0].value) == 3
    at.segmented_control(key="events").set_value("linked to this instrument").run()
    assert at.dataframe[0].value["title"].tolist() == [
        "China classifies AI engineers as national security assets"
    ]


def test_study_page_renders_or_explains() -> None:
    """The study page shows results, or says clearly why it cannot (engine missing or failing)."""
    at = page("study")
    shown = texts(at)
    assert at.get("plotly_chart") or "Not available yet" in shown or "engine failed" in shown


def test_study_verdict_and_key_tests_use_the_kp_adjusted_test() -> None:
    """Summary first: the verdict names window, model and the KP-adjusted test; the key-test
    table's p for the post-event window is the verdict's p."""
    at = page("study", window="-12,24")
    verdict = at.success[0].value
    assert verdict.startswith("Over offsets 0 to +24 (1m bars, constant-mean model)")
    assert "KP-adjusted t" in verdict
    # a plain Markdown table (no data grid on the first paint): header, rule, one row a window
    table = next(m.value for m in at.markdown if m.value.startswith("| CAR window"))
    lines = table.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split(" | ")]
    rows = [
        [re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip("|").split(" | ")]
        for line in lines[2:]
    ]
    assert [r[0] for r in rows] == ["−12 to +24", "0 to +24"]
    p_post = float(rows[1][header.index("p")])
    assert f"p {p_post:.2f}" in verdict
    assert "Kolari–Pynnönen-adjusted" in texts(at)


def test_unknown_event_in_url_warns() -> None:
    """An unknown ?event= says so instead of silently opening another event."""
    at = page("event", event="no-such-event")
    assert any("No event with id `no-such-event`" in w.value for w in at.warning)


def test_readable_window_values_in_the_url() -> None:
    """Window choices travel as `-6h,1d` on the Event page and `-5,60` on the Study page."""
    at = page("event", event=SEED_EVENT, window="-6h,1d")
    assert at.selectbox(key="window").value == "-6h,1d"
    assert at.success[0].value.startswith("In the 1 day after 14:25 UTC")
    at = page("study", window="-5,60")
    assert at.selectbox(key="window").value == "-5,60"


def test_correlations_matrix() -> None:
    """The matrix has the chosen instruments with 1 on the diagonal."""
    at = page("correlations")
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    heatmap = json.loads(charts[0].proto.spec)["data"][0]
    assert heatmap["x"] == heatmap["y"] == ["BTC", "ETH", "XAU"]
    assert [heatmap["text"][n][n] for n in range(3)] == ["1.00", "1.00", "1.00"]
    assert not at.dataframe  # the table is folded: built only when opened


def test_news_search_and_reaction_badge() -> None:
    """Searching 'china' finds the seed story's reports and its event with a BTC reaction badge."""
    at = page("news", q="china")
    events = at.dataframe[0].value
    assert events["reaction (+1h)"].tolist()[0].startswith("BTC ▲")
    articles = at.dataframe[1].value
    assert articles["article_id"].tolist() == ["a1"]


def test_sql_console_runs_and_refuses() -> None:
    """A SELECT fills the grid with the row cap stated; a DROP is refused with a message."""
    at = page("sql")
    at.text_area(key="sql_text").set_value("select event_id from events order by event_id")
    at.button(key="run").click().run()
    assert at.dataframe[0].value["event_id"].tolist() == ["ev-fed", "ev-sample", SEED_EVENT]
    assert "Row cap: 10,000 rows" in texts(at)
    at.text_area(key="sql_text").set_value("drop table bars")
    at.button(key="run").click().run()
    assert "Refused" in at.error[0].value and "DROP" in at.error[0].value


def test_health_page() -> None:
    """Failed source flagged; ETH's gap counted; unavailable instruments and rejects listed."""
    at = page("health")
    assert "rss" in at.error[0].value
    frames = {tuple(df.value.columns[:2]): df.value for df in at.dataframe}
    inst = next(v for k, v in frames.items() if k == ("instrument_id", "timeframe"))
    assert inst.set_index("instrument_id").loc["ETH", "n_gaps"] == 1
    assert "no configured venue lists RAIN" in "".join(str(df.value.values) for df in at.dataframe)


@pytest.mark.parametrize("name", PAGES)
def test_empty_database_shows_empty_states(
    name: str, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a freshly initialised database every page explains what is missing instead of failing."""
    monkeypatch.setenv("TICKERWIRE_DB", str(db_path))
    at = page(name)
    shown = texts(at)
    if name == "sql":
        assert "sandbox" in shown
    else:
        assert (
            ("No " in shown)
            or ("Not available yet" in shown)
            or ("need" in shown)
            or ("Nothing" in shown)
        ), shown


def test_missing_database_is_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointing at a file that does not exist says how to create it."""
    monkeypatch.setenv("TICKERWIRE_DB", str(tmp_path / "nope.duckdb"))
    at = page("overview")
    assert "does not exist" in at.error[0].value and "tickerwire demo" in at.error[0].value


def test_event_opens_with_linked_instruments_by_confidence() -> None:
    """The seed links BTC (0.9) and ETH (0.8): the page opens with them, most confident first."""
    at = page("event", event=SEED_EVENT)
    assert at.multiselect(key=f"instruments-{SEED_EVENT}").value == ["BTC", "ETH"]


@pytest.mark.parametrize("value", [["ETH"], "ETH", ["BTC", "ETH"], "BTC,ETH"])
def test_instruments_param_is_read_the_same_on_event_and_study(value) -> None:
    """`instruments` repeats (?instruments=BTC&instruments=ETH) on every page; the Event page
    also reads a comma list."""
    want = value if isinstance(value, list) else value.split(",")
    at = AppTest.from_file(str(VIEWS / "event.py"), default_timeout=60)
    at.query_params["event"] = SEED_EVENT
    at.query_params["instruments"] = value
    at.run()
    assert at.multiselect(key=f"instruments-{SEED_EVENT}").value == want
    if isinstance(value, list):
        at = AppTest.from_file(str(VIEWS / "study.py"), default_timeout=60)
        at.query_params["instruments"] = value
        at.run()
        assert at.multiselect(key="instruments").value == want


def test_event_clock_axis_from_the_url() -> None:
    """?axis=clock draws the paths on a UTC date axis; the default is minutes from the event."""
    import json

    def layout(at: AppTest) -> dict:
        return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]

    assert layout(page("event", event=SEED_EVENT))["xaxis"]["title"]["text"] == (
        "minutes from the event"
    )
    clock = layout(page("event", event=SEED_EVENT, axis="clock"))
    assert clock["xaxis"]["type"] == "date" and clock["hovermode"] == "x unified"


def test_study_falls_back_to_the_majors_when_links_give_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    """Events linked to no instrument with bars: the page studies the majors and says so."""
    from tests.dashboard_fixture_db import build

    db = build(tmp_path / "nolinks.duckdb")
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("delete from event_instruments")
    con.close()
    monkeypatch.setenv("TICKERWIRE_DB", str(db))
    at = page("study")
    assert any("showing BTC, ETH, XAU instead" in i.value for i in at.info)
    assert at.success[0].value.startswith("Over offsets")
