"""RSS/Atom through the real fetch (requests, mocked at the network) + feedparser path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses

from pipelines import store
from pipelines.config import load_config
from pipelines.errors import ConfigError
from pipelines.refresh import source_state
from pipelines.sources import get_source
from pipelines.sources.http import HttpClient
from pipelines.sources.rss_source import RssSource, feeds_from_config

FIXTURES = Path(__file__).parent / "fixtures" / "news" / "feeds"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE = "https://feeds.example.com/"


def make_config(tmp_path: Path, feeds: list[dict]) -> object:
    lines = []
    for feed in feeds:
        lines.append("[[feeds]]")
        for key, value in feed.items():
            if isinstance(value, list):
                lines.append(f"{key} = [{', '.join(repr(v) for v in value)}]".replace("'", '"'))
            elif isinstance(value, bool):
                lines.append(f"{key} = {str(value).lower()}")
            else:
                lines.append(f'{key} = "{value}"')
    path = tmp_path / "tw.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


def source() -> RssSource:
    return RssSource(client=HttpClient(sleep=lambda s: None, retries=1), now=NOW)


def test_rss_is_registered():
    assert isinstance(get_source("rss"), RssSource)


@pytest.mark.parametrize(
    ("name", "items", "outlet"),
    [
        ("reuters_worldnews_2018-01-30.rss.xml", 10, "Reuters: World News"),
        ("rss-parser_guardian.rss", 55, "The Guardian"),
        ("rss-parser_heise.atom", 15, "heise developer neueste Meldungen"),
        ("rss-parser_rss-1.rss", 69, "Science twis"),
        ("rss-parser_uolNoticias.rss", 15, "UOL Noticias"),
    ],
)
@responses.activate
def test_real_recorded_feeds(shared, tmp_path, name, items, outlet):
    body = (shared / "fixtures" / "rss" / name).read_bytes()
    responses.get(BASE + name, body=body, content_type="application/rss+xml")
    config = make_config(tmp_path, [{"url": BASE + name}])
    [batch] = list(source().run(config, {}, {"news"}))
    assert batch.error is None and batch.rejects == []
    frame = batch.frames["articles"]
    assert frame.height == items
    assert set(frame["outlet"]) == {outlet}
    # Every recorded feed states its zone: nothing is unknown.
    assert set(frame["published_precision"]) == {"second"}
    assert frame["published_at"].max() == batch.cursor_ts


@responses.activate
def test_uol_portuguese_dates_and_undeclared_latin1(shared, tmp_path):
    name = "rss-parser_uolNoticias.rss"
    responses.get(BASE + name, body=(shared / "fixtures" / "rss" / name).read_bytes())
    [batch] = list(source().run(make_config(tmp_path, [{"url": BASE + name}]), {}, set()))
    frame = batch.frames["articles"]
    # "Seg, 24 Set 2018 19:42:40 -0300" (feedparser itself cannot read it) → 22:42:40 UTC.
    assert datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC) in frame["published_at"].to_list()
    assert not any("\ufffd" in t for t in frame["title"])  # cp1252 bytes decoded, not mangled


@responses.activate
def test_awkward_hand_made_feed(tmp_path):
    url = "https://desk.example.org/markets/feed.xml"
    responses.get(url, body=(FIXTURES / "markets_desk.rss").read_bytes())
    config = make_config(tmp_path, [{"url": url, "outlet": "Desk", "tags": ["markets"]}])
    [batch] = list(source().run(config, {}, {"news"}))
    frame = batch.frames["articles"].sort("guid")
    by_guid = {row["guid"]: row for row in frame.iter_rows(named=True)}
    assert by_guid["desk-1"]["published_at"] == datetime(2025, 5, 31, 10, 5, tzinfo=UTC)  # +0200
    assert by_guid["desk-1"]["canonical_url"] == "https://desk.example.org/markets/opec-july"
    assert by_guid["desk-2"]["published_at"] == datetime(2025, 6, 18, 18, 0, tzinfo=UTC)  # EDT
    assert by_guid["desk-3"]["published_precision"] == "unknown-zone"  # naive, no feed tz
    assert by_guid["desk-3"]["url"] == "https://desk.example.org/markets/gold-record"  # relative
    assert by_guid["desk-4"]["published_precision"] == "unknown"  # no date: fetch time
    assert by_guid["desk-4"]["published_at"] == NOW
    assert by_guid["desk-8"]["published_precision"] == "unknown"  # unreadable date
    assert len(by_guid["desk-9"]["summary"]) <= 4001  # huge item clipped, kept
    assert by_guid["desk-1"]["feed_tags"] == ["markets"]
    assert "Share on X" in by_guid["desk-1"]["summary"]  # kept as text; entity rules skip it
    reasons = sorted(r.reason.split(" ")[0] + " " + r.reason.split(" ")[1] for r in batch.rejects)
    assert reasons == ["duplicate guid", "published before", "published in"]
    assert frame.height == 6


@responses.activate
def test_declared_feed_zone_is_used_for_naive_dates(tmp_path):
    url = "https://berlin.example.net/feed.atom"
    responses.get(url, body=(FIXTURES / "berlin_desk.atom").read_bytes())
    config = make_config(tmp_path, [{"url": url, "tz": "Europe/Berlin"}])
    [batch] = list(source().run(config, {}, {"rss"}))
    rows = {r["guid"]: r for r in batch.frames["articles"].iter_rows(named=True)}
    naive = rows["urn:example:berlin-2"]
    assert naive["published_at"] == datetime(2025, 6, 5, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert naive["published_precision"] == "second"
    assert naive["url"] == "https://berlin.example.net/gold-steigt"
    assert rows["urn:example:berlin-1"]["canonical_url"] == "https://berlin.example.net/ezb-zinsen"
    assert rows["urn:example:berlin-1"]["language"] == "de"


@responses.activate
def test_one_broken_feed_never_stops_the_others(tmp_path):
    good = BASE + "good.rss"
    responses.get(good, body=(FIXTURES / "truncated.rss").read_bytes())
    responses.get(
        BASE + "html", body=(FIXTURES / "not_a_feed.html").read_bytes(), content_type="text/html"
    )
    responses.get(BASE + "missing", status=404)
    responses.get(BASE + "down", status=500)
    responses.get(BASE + "slow", body=requests.exceptions.ReadTimeout("timed out"))
    responses.get(BASE + "garbage", body=b"\x00\x01\x02 not xml at all <<<")
    urls = [BASE + p for p in ("html", "missing", "down", "slow", "garbage")] + [good]
    config = make_config(
        tmp_path, [{"url": u} for u in urls] + [{"url": BASE + "off", "enabled": False}]
    )
    batches = {b.key: b for b in source().run(config, {}, {"news"})}
    assert (
        "HTML page" in batches[BASE + "html"].error or "not a feed" in batches[BASE + "html"].error
    )
    assert len(batches[BASE + "html"].rejects) == 1
    assert batches[BASE + "missing"].error.endswith("HTTP 404 Not Found")
    assert "HTTP 500" in batches[BASE + "down"].error
    assert "timed out" in batches[BASE + "slow"].error
    assert batches[BASE + "garbage"].error is not None
    assert batches[BASE + "off"].skipped == "disabled in config"
    # Malformed XML: the complete items before the break are kept, the broken one counted.
    assert batches[good].error is None
    assert batches[good].frames["articles"]["title"].to_list() == [
        "First complete item: ECB cuts rates",
        "Second complete item: euro rises",
    ]
    assert len(batches[good].rejects) == 1
    assert all("\n" not in b.error for b in batches.values() if b.error)


@responses.activate
def test_etag_round_trip_and_reingest_adds_nothing(tmp_path, db_path):
    url = BASE + "desk.rss"
    body = (FIXTURES / "markets_desk.rss").read_bytes()
    responses.get(
        url, body=body, headers={"ETag": '"abc"', "Last-Modified": "Sun, 01 Jun 2025 00:00:00 GMT"}
    )
    config = make_config(tmp_path, [{"url": url}])
    with store.writer(db_path) as st:
        [batch] = list(source().run(config, source_state(st.con, "rss"), {"news"}))
        first = store.commit_batch(
            st,
            "rss",
            batch.key,
            batch.frames,
            cursor_ts=batch.cursor_ts,
            state_value=batch.state,
            rejects=batch.rejects,
        )
        state = source_state(st.con, "rss")
    assert first["articles"].inserted == 6
    assert state[url][1] == {"etag": '"abc"', "last_modified": "Sun, 01 Jun 2025 00:00:00 GMT"}

    # The server honours the validators: 304, nothing to do.
    responses.replace(responses.GET, url, status=304)
    [again] = list(source().run(config, state, {"news"}))
    assert again.skipped == "not modified (HTTP 304)"
    sent = responses.calls[-1].request.headers
    assert sent["If-None-Match"] == '"abc"'

    # A server that ignores them sends everything again: the upsert stores nothing new.
    responses.replace(responses.GET, url, body=body)
    [full] = list(source().run(config, {}, {"news"}))
    with store.writer(db_path) as st:
        second = store.commit_batch(st, "rss", full.key, full.frames)
        assert st.con.execute("select count(*) from articles").fetchall()[0][0] == 6
    assert second["articles"].inserted == 0 and second["articles"].updated == 0


def test_only_other_kinds_skips_feeds(tmp_path):
    config = make_config(tmp_path, [{"url": BASE + "x"}])
    assert list(source().run(config, {}, {"prices"})) == []


def test_feed_config_is_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.url"):
        feeds_from_config(make_config(tmp_path, [{"url": "ftp://x"}]))
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.tz"):
        feeds_from_config(make_config(tmp_path, [{"url": BASE, "tz": "Nowhere/Land"}]))
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.colour: unknown key"):
        feeds_from_config(make_config(tmp_path, [{"url": BASE, "colour": "red"}]))


class _FeedHandler:
    """A tiny feed server on 127.0.0.1: serves one feed with an ETag and honours If-None-Match."""

    body = (FIXTURES / "berlin_desk.atom").read_bytes()
    etag = '"berlin-1"'

    @classmethod
    def handler(cls):
        from http.server import BaseHTTPRequestHandler

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.headers.get("If-None-Match") == cls.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                self.send_header("ETag", cls.etag)
                self.send_header("Content-Length", str(len(cls.body)))
                self.end_headers()
                self.wfile.write(cls.body)

            def log_message(self, *args):
                pass

        return Handler


def test_real_sockets_on_localhost_with_conditional_get(tmp_path):
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.atom"
        config = make_config(tmp_path, [{"url": url, "tz": "Europe/Berlin"}])
        [first] = list(RssSource(now=NOW).run(config, {}, {"news"}))
        assert first.error is None and first.frames["articles"].height == 2
        assert first.state["etag"] == '"berlin-1"'
        [second] = list(RssSource(now=NOW).run(config, {url: (None, first.state)}, {"news"}))
        assert second.skipped == "not modified (HTTP 304)"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.network
@pytest.mark.skipif(
    __import__("os").environ.get("TICKERWIRE_NETWORK_TESTS") != "1",
    reason="live network test: set TICKERWIRE_NETWORK_TESTS=1",
)
def test_live_configured_feeds():
    config = load_config(Path(__file__).resolve().parent.parent / "tickerwire.toml")
    batches = list(RssSource().run(config, {}, {"news"}))
    assert any(b.error is None and b.frames.get("articles") is not None for b in batches)


@responses.activate
def test_feed_declaring_utf8_but_sending_latin1_keeps_its_items(tmp_path):
    text = (FIXTURES / "berlin_desk.atom").read_text(encoding="utf-8")
    body = text.encode("latin-1")  # "Europäische" as one byte 0xE4: invalid UTF-8
    responses.get(
        BASE + "latin1.atom", body=body, content_type="application/atom+xml; charset=utf-8"
    )
    [batch] = list(source().run(make_config(tmp_path, [{"url": BASE + "latin1.atom"}]), {}, set()))
    assert batch.error is None
    frame = batch.frames["articles"]
    assert frame.height == 2
    assert any("Europäische" in (s or "") for s in frame["summary"])


_CHINA_DESK = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>
<item><title>Export rules tightened</title><link>https://desk.example.cn/1</link>
<pubDate>2025-05-26 14:25 CST</pubDate></item>
<item><title>Chip makers respond</title><link>https://desk.example.cn/2</link>
<pubDate>03/05/2025 09:10 CST</pubDate></item>
</channel></rss>"""


@responses.activate
@pytest.mark.parametrize(
    ("feed", "expected"),
    [
        # the feed's zone says what CST means (China, UTC+8) and its order reads 03/05 as 3 May
        (
            {"tz": "Asia/Shanghai", "dayfirst": True},
            [
                (datetime(2025, 5, 3, 1, 10, tzinfo=UTC), "minute"),
                (datetime(2025, 5, 26, 6, 25, tzinfo=UTC), "minute"),
            ],
        ),
        # no zone, no order: CST is kept as printed and labelled; 03/05 cannot be read, so
        # the item takes the fetch time with precision 'unknown' (as any undated feed item)
        ({}, [(datetime(2025, 5, 26, 14, 25, tzinfo=UTC), "unknown-zone"), (NOW, "unknown")]),
    ],
)
def test_feed_zone_and_day_order_decide_printed_dates(tmp_path, feed, expected):
    responses.get(BASE + "cn.xml", body=_CHINA_DESK, content_type="application/rss+xml")
    config = make_config(tmp_path, [{"url": BASE + "cn.xml", **feed}])
    [batch] = list(source().run(config, {}, {"news"}))
    frame = batch.frames["articles"].sort("published_at")
    assert list(zip(frame["published_at"], frame["published_precision"], strict=True)) == expected
