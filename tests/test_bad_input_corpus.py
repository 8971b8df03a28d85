"""Bad input, table-driven: ≥ 100 kinds across bar/event imports, feeds and the config file.

The rules checked for every case, whatever the parser decides about a row:
- a clear error: the command either succeeds or fails with one TickerwireError line (never
  another exception, which would reach the user as a traceback);
- nothing lost: every row read is stored, already present or rejected (and the rejects are in
  the `rejects` table), and the one good row each bad file carries lands whenever it succeeds;
- nothing impossible stored: no NaN/inf/non-positive price, no high below low, no link that is
  not http(s), no control or bidi character in a title.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from typer.testing import CliRunner

from pipelines import store
from pipelines.cli import app
from pipelines.config import ConfigError, load_config, parse_config
from pipelines.errors import TickerwireError
from pipelines.refresh import run_refresh
from pipelines.sources.http import HttpClient
from pipelines.sources.rss_source import RssSource

runner = CliRunner()
GOOD_BAR = "2026-01-05 10:00:00,100,101,99,100.5,10"
GOOD_TS = datetime(2026, 1, 5, 10, tzinfo=UTC)
HEAD = "time,open,high,low,close,volume"

# ---------------------------------------------------------------------------- bar files

BAR_CASES: dict[str, str | bytes] = {
    "nan price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,NaN,101,99,100,1\n",
    "inf price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,inf,99,100,1\n",
    "-inf price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,101,-inf,100,1\n",
    "negative price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,-5,101,-6,100,1\n",
    "zero price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,0,0,0,0,1\n",
    "high below low": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,98,99,100,1\n",
    "close above high": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,101,99,150,1\n",
    "negative volume": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,101,99,100,-1\n",
    "text in a price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,abc,101,99,100,1\n",
    "empty price": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,,101,99,100,1\n",
    "unparseable time": f"{HEAD}\n{GOOD_BAR}\nnot-a-time,100,101,99,100,1\n",
    "empty time": f"{HEAD}\n{GOOD_BAR}\n,100,101,99,100,1\n",
    "month 13": f"{HEAD}\n{GOOD_BAR}\n2026-13-05 10:01:00,100,101,99,100,1\n",
    "february 30": f"{HEAD}\n{GOOD_BAR}\n2026-02-30 10:01:00,100,101,99,100,1\n",
    "hour 25": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 25:01:00,100,101,99,100,1\n",
    "year 1": f"{HEAD}\n{GOOD_BAR}\n0001-01-01 00:00:00,100,101,99,100,1\n",
    "year 9999": f"{HEAD}\n{GOOD_BAR}\n9999-12-31 23:59:00,100,101,99,100,1\n",
    "duplicate time": f"{HEAD}\n{GOOD_BAR}\n{GOOD_BAR}\n",
    # A later row with the same time and other values is refused (the first one is kept).
    "duplicate time, other values": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:00:00,1,2,0.5,1,1\n",
    "off-grid time": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:00:30,100,101,99,100,1\n",
    "mixed offsets": f"{HEAD}\n{GOOD_BAR}\n2026-01-05T10:01:00+05:00,100,101,99,100,1\n",
    "bad offset": f"{HEAD}\n{GOOD_BAR}\n2026-01-05T10:01:00+99:00,100,101,99,100,1\n",
    "huge number": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,1e400,1e400,1e400,1e400,1\n",
    "short row": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100\n",
    "long row": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00,100,101,99,100,1,7,8,9\n",
    "header only": f"{HEAD}\n",
    "empty file": "",
    "no time column": "open,high,low,close\n100,101,99,100\n",
    "no price column": "time,volume\n2026-01-05 10:00:00,5\n",
    "binary garbage": bytes(range(256)) * 4,
    "utf-16": f"{HEAD}\n{GOOD_BAR}\n".encode("utf-16"),
    "utf-8 bom": ("\ufeff" + f"{HEAD}\n{GOOD_BAR}\n").encode(),
    "semicolons": "time;open;high;low;close;volume\n2026-01-05 10:00:00;100;101;99;100.5;10\n",
    "quoted fields": f'{HEAD}\n"2026-01-05 10:00:00","100","101","99","100.5","10"\n',
    "control characters": f"{HEAD}\n{GOOD_BAR}\n2026-01-05 10:01:00\x00,100,101,99,100,1\n",
    "very long cell": f"{HEAD}\n{GOOD_BAR}\n{'9' * 100_000},100,101,99,100,1\n",
    "epoch milliseconds": "time,price\n1767607200000,100\n",
    "close-only with junk": "time,price\n2026-01-05 10:00:00,100\n2026-01-05 10:01:00,n/a\n",
}


def _bars_ok(db: Path) -> None:
    """Nothing impossible stored, and no key twice."""
    if not db.exists():
        return
    with store.reader(db) as con:
        rows = con.execute("select open, high, low, close, volume from bars").fetchall()
        assert store.duplicate_keys(con, "bars") == 0
    for o, h, lo, c, v in rows:
        for p in (o, h, lo, c):
            assert p is None or (math.isfinite(p) and p > 0), rows
        if h is not None and lo is not None:
            assert h >= lo
        assert v is None or math.isnan(v) or (math.isfinite(v) and v >= 0)  # NaN: not reported


def _accounted(db: Path, output: str) -> None:
    """`read N rows: stored S … P already present, R rejected` adds up, rejects are stored."""
    m = re.search(
        r"read (\d+) rows: stored (\d+) .*?, (\d+) already present, (\d+) rejected", output
    )
    assert m, output
    n_read, stored, present, rejected = map(int, m.groups())
    # Rows the CSV reader cannot split (wrong number of fields) are rejected without being
    # counted as read, so the sum may exceed `read` by those; it may never fall short of it.
    assert stored + present <= n_read <= stored + present + rejected, output
    with store.reader(db) as con:
        kept = con.execute("select count(*) from rejects").fetchall()[0][0]
    assert kept == rejected


@pytest.mark.parametrize("case", list(BAR_CASES), ids=list(BAR_CASES))
def test_bar_file(tmp_path, case):
    body = BAR_CASES[case]
    path = tmp_path / "bars.csv"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    db = tmp_path / "b.duckdb"
    result = runner.invoke(
        app, ["--db", str(db), "import", "bars", str(path), "-i", "T", "-t", "1m"]
    )
    if result.exit_code != 0:
        assert isinstance(result.exception, TickerwireError), result.exception
        assert "\n" not in str(result.exception).strip()
    else:
        _accounted(db, result.output)
        if GOOD_BAR in (body if isinstance(body, str) else body.decode("utf-8", "ignore")):
            with store.reader(db) as con:
                good = con.execute("select close from bars where ts = ?", [GOOD_TS]).fetchall()
            assert good == [(100.5,)], result.output
    _bars_ok(db)


def test_missing_file_and_folder_and_bad_options(tmp_path):
    db = tmp_path / "b.duckdb"
    for args in (
        ["import", "bars", str(tmp_path / "absent.csv"), "-i", "T", "-t", "1m"],
        ["import", "bars", str(tmp_path), "-i", "T", "-t", "1m"],
        ["import", "bars", str(FIXTURES / "dst_bars.csv"), "-i", "T", "-t", "7m"],
        [
            "import",
            "bars",
            str(FIXTURES / "dst_bars.csv"),
            "-i",
            "T",
            "-t",
            "1h",
            "--tz",
            "Mars/Olympus",
        ],
        ["import", "events", str(tmp_path / "absent.jsonl")],
    ):
        result = runner.invoke(app, ["--db", str(db), *args])
        assert result.exit_code != 0
        assert isinstance(result.exception, TickerwireError), (args, result.exception)


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "imports"

# ---------------------------------------------------------------------------- event files

GOOD_EVENT = '{"published_at": "2026-01-05T10:00:00Z", "title": "Good event"}'
EVENT_CASES: dict[str, str] = {
    "no title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z"}\n',
    "empty title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": ""}\n',
    "no time": GOOD_EVENT + '\n{"title": "x"}\n',
    "bad time": GOOD_EVENT + '\n{"published_at": "yesterday-ish", "title": "x"}\n',
    "future time": GOOD_EVENT + '\n{"published_at": "2999-01-01T00:00:00Z", "title": "x"}\n',
    "broken json line": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": \n',
    "not an object": GOOD_EVENT + "\n[1, 2, 3]\n",
    "number as title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": 42}\n',
    "markdown title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": "![b](http://h/b.png)"}\n',
    "bidi title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": "x\\u202eyz"}\n',
    "javascript url": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": "y", "url": "javascript:alert(1)"}\n',
    "unknown instrument": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": "z", "instruments": ["NOPE"]}\n',
    "duplicate event": GOOD_EVENT + "\n" + GOOD_EVENT + "\n",
    "huge title": GOOD_EVENT + '\n{"published_at": "2026-01-05T11:00:00Z", "title": "' + "w" * 50_000 + '"}\n',
    "blank lines": "\n\n" + GOOD_EVENT + "\n\n\n",
}  # fmt: skip


@pytest.mark.parametrize("case", list(EVENT_CASES), ids=list(EVENT_CASES))
def test_event_file(tmp_path, case):
    path = tmp_path / "events.jsonl"
    path.write_text(EVENT_CASES[case])
    db = tmp_path / "e.duckdb"
    result = runner.invoke(app, ["--db", str(db), "import", "events", str(path)])
    if result.exit_code != 0:
        assert isinstance(result.exception, TickerwireError), result.exception
        return
    with store.reader(db) as con:
        titles = [r[0] for r in con.execute("select title from events").fetchall()]
        urls = [
            r[0] for r in con.execute("select url from articles where url is not null").fetchall()
        ]
    assert "Good event" in titles, result.output
    assert all(u.startswith(("http://", "https://")) for u in urls), urls


# ---------------------------------------------------------------------------- feeds

FEED_URL = "https://feeds.example.test/wire.xml"


def _rss(*items: str) -> str:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        "<link>https://wire.example.test/</link>" + "".join(items) + "</channel></rss>"
    )


def _item(title: str = "Good story", link: str = "https://wire.example.test/a",
          date: str = "Mon, 05 Jan 2026 10:00:00 GMT", guid: str | None = None) -> str:  # fmt: skip
    g = f"<guid>{guid}</guid>" if guid else ""
    return f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>{g}</item>"


GOOD_ITEM = _item(guid="good-1")
FEED_CASES: dict[str, tuple[str | bytes, str]] = {
    # name: (body, content type)
    "html page": ("<!doctype html><html><body>Not a feed</body></html>", "text/html"),
    "empty body": ("", "application/rss+xml"),
    "truncated xml": (_rss(GOOD_ITEM)[:-30], "application/rss+xml"),
    "json body": ('{"items": []}', "application/json"),
    "plain text": ("hello", "text/plain"),
    "binary": (bytes(range(256)), "application/octet-stream"),
    "entity bomb": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        "<rss version=\"2.0\"><channel><item><title>&d;</title></item></channel></rss>",
        "application/rss+xml",
    ),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><item><title>&x;</title><link>https://h.test/x</link></item></channel></rss>',
        "application/rss+xml",
    ),
    "item without title": (_rss(GOOD_ITEM, "<item><link>https://wire.example.test/b</link></item>"), "application/rss+xml"),
    "item without date": (_rss(GOOD_ITEM, "<item><title>Undated</title><link>https://wire.example.test/c</link></item>"), "application/rss+xml"),
    "unreadable date": (_rss(GOOD_ITEM, _item("Odd date", "https://wire.example.test/d", "the day after")), "application/rss+xml"),
    "future date": (_rss(GOOD_ITEM, _item("Future", "https://wire.example.test/e", "Mon, 01 Jan 2999 00:00:00 GMT")), "application/rss+xml"),
    "1970 date": (_rss(GOOD_ITEM, _item("Old", "https://wire.example.test/f", "Thu, 01 Jan 1970 00:00:00 GMT")), "application/rss+xml"),
    "javascript link": (_rss(GOOD_ITEM, _item("JS", "javascript:alert(1)")), "application/rss+xml"),
    "data link": (_rss(GOOD_ITEM, _item("Data", "data:text/html,hi")), "application/rss+xml"),
    "file link": (_rss(GOOD_ITEM, _item("File", "file:///etc/passwd")), "application/rss+xml"),
    "relative link": (_rss(GOOD_ITEM, _item("Rel", "/story/9")), "application/rss+xml"),
    "markdown image title": (_rss(GOOD_ITEM, _item("![b](http://h/b.png)", "https://wire.example.test/g")), "application/rss+xml"),
    "styled title": (_rss(GOOD_ITEM, _item(":red[alert]", "https://wire.example.test/h")), "application/rss+xml"),
    "bidi title": (_rss(GOOD_ITEM, _item("safe\u202egpj.exe", "https://wire.example.test/i")), "application/rss+xml"),
    "control chars title": (_rss(GOOD_ITEM, _item("bell\u0007 \u0008back", "https://wire.example.test/j")), "application/rss+xml"),
    "script in title": (_rss(GOOD_ITEM, _item("&lt;script&gt;alert(1)&lt;/script&gt;Hi", "https://wire.example.test/k")), "application/rss+xml"),
    "huge title": (_rss(GOOD_ITEM, _item("t" * 20_000, "https://wire.example.test/l")), "application/rss+xml"),
    "duplicate guid": (_rss(GOOD_ITEM, _item("Again", "https://wire.example.test/m", guid="good-1")), "application/rss+xml"),
    "duplicate link": (_rss(GOOD_ITEM, _item("Same link", "https://wire.example.test/a?utm_source=x")), "application/rss+xml"),
    "latin-1 declared, utf-8 sent": (
        _rss(GOOD_ITEM, _item("Café crème", "https://wire.example.test/n")).replace('version="1.0"', 'version="1.0" encoding="iso-8859-1"'),
        "application/rss+xml",
    ),
    "undefined entity": (_rss(GOOD_ITEM, _item("A &bogus; B", "https://wire.example.test/o")), "application/rss+xml"),
    "cdata title": (_rss(GOOD_ITEM, _item("<![CDATA[<b>Bold</b> move]]>", "https://wire.example.test/p")), "application/rss+xml"),
    "atom feed": (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>W</title>'
        '<entry><title>Good story</title><link href="https://wire.example.test/a"/><id>good-1</id>'
        "<updated>2026-01-05T10:00:00Z</updated></entry>"
        '<entry><title>Bad link</title><link href="javascript:x"/><id>b</id><updated>2026-01-05T11:00:00Z</updated></entry></feed>',
        "application/atom+xml",
    ),
    "rss with zero items": (_rss(), "application/rss+xml"),
    "whitespace title": (_rss(GOOD_ITEM, _item("   ", "https://wire.example.test/q")), "application/rss+xml"),
    "naive date": (_rss(GOOD_ITEM, _item("Naive", "https://wire.example.test/r", "2026-01-05 10:00:00")), "application/rss+xml"),
    "http 500": ("", "500"),
    "http 404": ("", "404"),
    "http 429": ("", "429"),
}  # fmt: skip


def _clean_title(title: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d" for ch in title)


@pytest.mark.parametrize("case", list(FEED_CASES), ids=list(FEED_CASES))
def test_feed(tmp_path, case):
    body, ctype = FEED_CASES[case]
    config = parse_config({"feeds": [{"url": FEED_URL, "outlet": "Wire"}]}, tmp_path / "c.toml")
    db = tmp_path / "f.duckdb"
    with responses.RequestsMock() as rsps:
        if ctype.isdigit():
            rsps.get(FEED_URL, body=body, status=int(ctype))
        else:
            rsps.get(FEED_URL, body=body, content_type=ctype)
        client = HttpClient(timeout=2, retries=0, sleep=lambda _s: None)
        summary = run_refresh(db, config, "news", sources={"rss": RssSource(client=client)})
    rss = summary.outcomes[0]
    assert rss.status in ("ok", "partial", "failed"), rss
    assert all("\n" not in e for e in rss.errors)
    with store.reader(db) as con:
        rows = con.execute("select title, url, published_at from articles").fetchall()
        runs = con.execute("select status from ingest_runs where source = 'rss'").fetchall()
        kept_rejects = con.execute("select count(*) from rejects").fetchall()[0][0]
    assert runs == [(rss.status,)]
    assert rss.stored == len(rows) and rss.rejected == kept_rejects, rss
    for title, url, published in rows:
        assert _clean_title(title) and len(title) <= 1000, title
        assert url is None or url.startswith(("http://", "https://")), url
        assert published.year < 2100
    if isinstance(body, str) and "good-1" in body and rss.status != "failed":
        assert "Good story" in [r[0] for r in rows]


# ---------------------------------------------------------------------------- config

CONFIG_CASES: dict[str, tuple[str, str]] = {
    # name: (TOML text, a piece of the expected message; "" = must load)
    "empty file": ("", "is empty"),
    "not toml": ("this is = = not toml", "not valid TOML"),
    "unknown section": ("[databse]\npath = 'x'", "unknown section"),
    "unknown database key": ("[database]\npth = 'x'", "database.pth: unknown key"),
    "path not a string": ("[database]\npath = 3", "database.path: must be str"),
    "instruments not a list": ("[instruments]\nid = 'X'", "must be an array"),
    "instrument without id": ("[[instruments]]\nsource = 'ccxt'\nsymbol = 'X/USDT'", "id: is required"),
    "instrument bad id": ("[[instruments]]\nid = 'a b'\nsource = 'ccxt'\nsymbol = 'X'", "must be letters"),
    "instrument bad source": ("[[instruments]]\nid = 'X'\nsource = 'bloomberg'\nsymbol = 'X'", "not allowed"),
    "instrument bad zone": ("[[instruments]]\nid = 'X'\nsource = 'yahoo'\nsymbol = 'X'\nexchange_tz = 'Mars/Base'", "IANA"),
    "instrument twice": ("[[instruments]]\nid = 'X'\nsource = 'yahoo'\nsymbol = 'X'\n[[instruments]]\nid = 'X'\nsource = 'yahoo'\nsymbol = 'Y'", "appears twice"),
    "instrument bad calendar": ("[[instruments]]\nid = 'X'\nsource = 'yahoo'\nsymbol = 'X'\ncalendar = 'mars'", "not allowed"),
    "schedule bad cadence": ("[schedule]\nprices = 'banana'", "schedule.prices"),
    "schedule unknown key": ("[schedule]\nprice = '5m'", "schedule.price"),
    "schedule huge interval": ("[schedule]\nprices = '99999999999999999d'", "schedule"),
    "freshness huge grace": ("[freshness]\ngrace = 99999999999999999999999", "freshness.grace"),
    "freshness zero grace": ("[freshness]\ngrace = 0", "freshness.grace"),
    "freshness nan grace": ("[freshness]\ngrace = nan", "freshness.grace"),
    "freshness inf grace": ("[freshness]\ngrace = inf", "freshness.grace"),
    "freshness bad lookback": ("[freshness]\nlookback = 'a week'", "freshness.lookback"),
    "freshness huge lookback": ("[freshness]\nlookback = '99999999999999999d'", "freshness.lookback"),
    "freshness unknown key": ("[freshness]\ngrase = 3", "freshness.grase"),
    "retention negative days": ("[retention]\nafter_days = -3", "retention.after_days"),
    "retention huge days": ("[retention]\nafter_days = 99999999999999999999", "retention.after_days"),
    "feeds without url": ("[[feeds]]\noutlet = 'x'", "url: is required"),
    "feed ftp url": ("[[feeds]]\nurl = 'ftp://x/y'", "must start with http"),
    "feed bad zone": ("[[feeds]]\nurl = 'https://x/y'\ntz = 'Nowhere/City'", "IANA"),
    "feed negative timeout": ("[[feeds]]\nurl = 'https://x/y'\ntimeout_seconds = -1", "timeout_seconds"),
    "feed unknown key": ("[[feeds]]\nurl = 'https://x/y'\nurll = 'z'", "unknown key"),
    "clustering unknown key": ("[clustering]\nwindw = 3", "clustering"),
    "study unknown key": ("[study]\nbenchmark = 'X'", "study"),
    "two problems, two lines": ("[schedule]\nprices = 'banana'\n[retention]\nafter_days = -3", "retention.after_days"),
    "valid minimal": ("[database]\npath = 'data/x.duckdb'", ""),
    "valid schedule": ("[schedule]\nprices = '5m'\nnews = '*/2 * * * *'", ""),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONFIG_CASES), ids=list(CONFIG_CASES))
def test_config(tmp_path, case):
    text, expected = CONFIG_CASES[case]
    path = tmp_path / "tickerwire.toml"
    path.write_text(text)
    if not expected:
        load_config(path)
        return
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message, message
    lines = message.splitlines()
    assert all(line.startswith(str(path)) for line in lines), message
    assert len(lines) == len(set(lines))
    if case == "two problems, two lines":
        assert len(lines) == 2


def test_the_corpus_has_at_least_a_hundred_kinds():
    kinds = len(BAR_CASES) + len(EVENT_CASES) + len(FEED_CASES) + len(CONFIG_CASES) + 5
    assert kinds >= 100, kinds


@pytest.mark.parametrize(
    "args",
    [
        ["refresh"],
        ["events", "add", "--at", "2026-01-05T10:00:00Z", "--title", "x"],
        ["retention", "--force"],
        ["health"],
        ["schedule"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_commands_refuse_a_bad_section_before_doing_anything(tmp_path, args):
    path = tmp_path / "tickerwire.toml"
    path.write_text("[freshness]\ngrace = 99999999999999999999999\n[schedule]\nquotes = 'often'\n")
    db = tmp_path / "never.duckdb"
    result = runner.invoke(app, ["--db", str(db), "--config", str(path), *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError), result.exception
    assert str(result.exception).splitlines() == [
        f"{path}: schedule.quotes: 'often' is neither an interval (30s, 5m, 2h, 1d) nor a 5-field cron expression",
        f"{path}: freshness.grace: 1e+23 is out of range (at most 1e+12)",
    ]
    if db.exists():  # the command may have opened the file; it wrote nothing
        with store.reader(db) as con:
            assert con.execute("select count(*) from events").fetchall() == [(0,)]
