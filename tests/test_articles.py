"""News normalisation: canonical URLs, publication times with precision, article ids, text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.articles import (
    RawArticle,
    article_id,
    canonical_url,
    check_time,
    normalise_articles,
    strip_html,
    text_hash,
)
from pipelines.errors import DataError
from pipelines.timeparse import parse_iso_option, parse_published

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Example.com/a/b/?utm_source=x&utm_medium=y#frag", "https://example.com/a/b"),
        ("http://example.com/a/b", "https://example.com/a/b"),
        ("https://example.com/news/story/amp/", "https://example.com/news/story"),
        ("https://amp.example.com/news/story.amp.html", "https://example.com/news/story.html"),
        ("https://example.com/s?id=7&fbclid=abc&b=2", "https://example.com/s?b=2&id=7"),
        ("https://example.com:443/x//y/", "https://example.com/x/y"),
        ("https://example.com:8080/x", "https://example.com:8080/x"),
        ("mailto:desk@example.com", None),
        ("", None),
    ],
)
def test_canonical_url_examples(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_resolves_relative_links():
    assert canonical_url("/markets/gold", "https://desk.example.org/feed.xml") == (
        "https://desk.example.org/markets/gold"
    )


_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@given(
    host=_segment,
    path=st.lists(_segment, max_size=4),
    params=st.dictionaries(_segment, _segment, max_size=3),
    trailing=st.booleans(),
    fragment=st.one_of(st.none(), _segment),
    tracking=st.dictionaries(st.sampled_from(["utm_source", "utm_campaign", "fbclid"]), _segment),
)
def test_canonical_url_properties(host, path, params, trailing, fragment, tracking):
    """Idempotent; tracking params, fragment and trailing slash never change the identity."""
    base = f"https://{host}.com/" + "/".join(path)
    clean_params = {k: v for k, v in params.items() if not k.startswith("utm_") and k != "amp"}
    query = "&".join(f"{k}={v}" for k, v in clean_params.items())
    plain = base + (f"?{query}" if query else "")
    noisy_query = "&".join(f"{k}={v}" for k, v in {**clean_params, **tracking}.items())
    noisy = base + ("/" if trailing and path else "") + (f"?{noisy_query}" if noisy_query else "")
    noisy += f"#{fragment}" if fragment else ""
    once = canonical_url(noisy)
    assert once == canonical_url(plain)
    assert canonical_url(once) == once
    assert "utm_" not in once and "#" not in once


@pytest.mark.parametrize(
    ("text", "tz", "iso", "precision"),
    [
        ("Sat, 31 May 2025 12:05:00 +0200", None, "2025-05-31T10:05:00", "second"),
        ("Wed, 18 Jun 2025 14:00:00 EDT", None, "2025-06-18T18:00:00", "second"),
        ("Thu, 05 Jun 2025 12:15:00 GMT", None, "2025-06-05T12:15:00", "second"),
        ("Thu, 05 Jun 2025 14:15:00 CEST", None, "2025-06-05T12:15:00", "second"),
        ("2025-06-05T14:20:00+02:00", None, "2025-06-05T12:20:00", "second"),
        ("2025-06-05T12:20:00.250Z", None, "2025-06-05T12:20:00.250000", "second"),
        ("2025-06-05 12:20", None, "2025-06-05T12:20:00", "unknown-zone"),
        ("2025-06-05 12:20", "Europe/Berlin", "2025-06-05T10:20:00", "minute"),
        ("2025-01-05 12:20:30", "America/New_York", "2025-01-05T17:20:30", "second"),
        ("2025-06-05", None, "2025-06-05T00:00:00", "day"),
        ("Seg, 24 Set 2018 19:42:40 -0300", None, "2018-09-24T22:42:40", "second"),
        ("June 18, 2025 2:05 PM EDT", None, "2025-06-18T18:05:00", "minute"),
        ("20250415T141500Z", None, "2025-04-15T14:15:00", "second"),
        ("1744726500", None, "2025-04-15T14:15:00", "second"),
    ],
)
def test_parse_published_examples(text, tz, iso, precision):
    parsed = parse_published(text, tz)
    assert parsed.precision == precision
    assert parsed.at == datetime.fromisoformat(iso).replace(tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "sometime last week", "31 Foo 2025 10:00", "2025-13-45"])
def test_unreadable_times_are_unknown(text):
    parsed = parse_published(text)
    assert parsed.at is None and parsed.precision == "unknown"


def test_unknown_declared_zone_is_a_clear_error():
    with pytest.raises(DataError, match="Mars/Olympus"):
        parse_published("2025-06-05 12:20", "Mars/Olympus")


_instants = st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2035, 12, 30)).map(
    lambda d: d.replace(microsecond=0)
)
_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))


@given(naive=_instants, offset=_offsets)
def test_offset_formats_round_trip(naive, offset):
    """RFC 822 and ISO text with any offset parse to the same UTC instant, precision 'second'."""
    instant = naive.replace(tzinfo=UTC)
    local = instant.astimezone(timezone(offset))
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds() // 60))
    rfc = local.strftime("%a, %d %b %Y %H:%M:%S ") + f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    for text in (rfc, local.isoformat()):
        parsed = parse_published(text)
        assert parsed.at == instant, text
        assert parsed.precision == "second"


@given(naive=_instants)
def test_naive_times_are_never_silently_utc(naive):
    """A time without a zone keeps its wall clock and says 'unknown-zone'."""
    parsed = parse_published(naive.strftime("%Y-%m-%d %H:%M:%S"))
    assert parsed.precision == "unknown-zone"
    assert parsed.at.replace(tzinfo=None) == naive


def test_check_time_refuses_future_and_pre_1990():
    assert "future" in check_time(NOW + timedelta(days=1), NOW)
    assert "1990" in check_time(datetime(1989, 12, 31, tzinfo=UTC), NOW)
    assert check_time(NOW - timedelta(days=1), NOW) is None
    assert check_time(NOW + timedelta(minutes=5), NOW) is None  # clock skew allowed


def test_parse_iso_option_requires_a_zone():
    assert parse_iso_option("2025-04-02T20:00:00Z") == datetime(2025, 4, 2, 20, tzinfo=UTC)
    with pytest.raises(DataError, match="no time zone"):
        parse_iso_option("2025-04-02T20:00")
    with pytest.raises(DataError, match="cannot read"):
        parse_iso_option("yesterday")


def test_strip_html_and_text_hash():
    assert strip_html("<p>Gold &amp; <b>oil</b></p><script>x=1</script>") == "Gold & oil"
    assert strip_html('a href="https://a.co/x" rel="nofollow">a.co/x</a') == "a.co/x"
    assert text_hash("Fed holds rates!", "Text") == text_hash("fed  holds RATES", "text.")
    assert text_hash("Fed holds rates", "a") != text_hash("Fed cuts rates", "a")


def test_article_id_prefers_the_canonical_url():
    at = datetime(2025, 6, 5, tzinfo=UTC)
    assert article_id("https://x.com/a", "A", "t", at) == article_id(
        "https://x.com/a", "B", "u", None
    )
    assert article_id(None, "A", "Title", at) != article_id(None, "A", "Title", at + timedelta(1))
    # Without a URL an item id (a post id) tells two posts with the same text apart.
    assert article_id(None, "A", "", at, "1") != article_id(None, "A", "", at, "2")


def test_strip_html_joins_links_split_by_inline_tags():
    text = (
        '<p>Read <a href="https://a.co/x"><span class="invisible">https://</span>'
        "<span>a.co/x</span></a></p>"
    )
    assert strip_html(text) == "Read https://a.co/x"
    assert strip_html('span class="quote-inline">RT: hello</span> world') == "RT: hello world"
    assert strip_html("Gold > silver today") == "Gold > silver today"


def test_normalise_articles_counts_every_refusal():
    raws = [
        RawArticle("Good", "https://x.com/a?utm_source=1", published="2025-06-05T10:00:00Z"),
        RawArticle("Same URL", "https://x.com/a/", published="2025-06-05T11:00:00Z"),
        RawArticle("Future", "https://x.com/f", published="2100-01-01T00:00:00Z"),
        RawArticle("Undated", "https://x.com/u"),
        RawArticle("Fallback", "https://x.com/b", fallback_at=NOW),
        RawArticle(None, "https://x.com/empty", published="2025-06-05T10:00:00Z"),
        RawArticle("G1", "https://x.com/g1", published="2025-06-05T10:00:00Z", guid="g"),
        RawArticle("G2", "https://x.com/g2", published="2025-06-05T10:00:00Z", guid="g"),
    ]
    frame, rejects = normalise_articles(raws, NOW)
    assert frame["title"].to_list() == ["Good", "Fallback", "G1"]
    assert frame["published_precision"].to_list() == ["second", "unknown", "second"]
    reasons = sorted(r.reason.split(" ")[0] for r in rejects)
    assert reasons == ["duplicate", "duplicate", "no", "no", "published"]


# ------------------------------------------------------------------ times as outlets print them
# Expected instants worked out by hand from the printed zone: ET is New York (EST −5 in winter,
# EDT −4 in summer); IST with a declared Asia/Kolkata is +5:30; CST of a Chinese feed is +8.
@pytest.mark.parametrize(
    ("text", "tz", "dayfirst", "iso", "precision"),
    [
        ("18-Sep-24 14:30 ET", None, None, "2024-09-18T18:30:00", "minute"),
        ("01/28/26 02:23 PM EST", None, None, "2026-01-28T19:23:00", "minute"),
        ("January 27, 2025, 11:35 AM ET", None, None, "2025-01-27T16:35:00", "minute"),
        ("03-05-2025 16:25 IST", "Asia/Kolkata", True, "2025-05-03T10:55:00", "minute"),
        ("03-05-2025 16:25 IST", "Asia/Kolkata", False, "2025-03-05T10:55:00", "minute"),
        ("December 10, 2025 09:45 (ET)", None, None, "2025-12-10T14:45:00", "minute"),
        ("July 4, 2025 09:45 (ET)", None, None, "2025-07-04T13:45:00", "minute"),
        ("2026-05-26 14:25 CST", "Asia/Shanghai", None, "2026-05-26T06:25:00", "minute"),
        ("Tue, 26 May 2026 14:25:00 CST", "America/Chicago", None, "2026-05-26T19:25:00", "second"),
        ("26/05/2026 14:25", "Europe/Paris", None, "2026-05-26T12:25:00", "minute"),
        ("Apr 17", None, None, "2026-04-17T00:00:00", "day"),
        ("Dec 17", None, None, "2025-12-17T00:00:00", "day"),  # not after 'now': last year's
    ],
)
def test_outlet_time_formats(text, tz, dayfirst, iso, precision):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    parsed = parse_published(text, tz, dayfirst=dayfirst, now=now)
    assert (parsed.at, parsed.precision) == (
        datetime.fromisoformat(iso).replace(tzinfo=UTC),
        precision,
    )


@pytest.mark.parametrize("text", ["2026-05-26 14:25 CST", "Tue, 26 May 2026 09:00 IST"])
def test_ambiguous_zone_without_a_declared_one_is_kept_and_labelled(text):
    parsed = parse_published(text)
    assert parsed.precision == "unknown-zone"
    assert parsed.problem.startswith("ambiguous zone")
    # the wall clock is kept as printed, never shifted by a guessed offset
    assert (parsed.at.hour, parsed.at.minute) in ((14, 25), (9, 0))


def test_ambiguous_day_month_order_is_refused_unless_stated():
    parsed = parse_published("03-05-2025 16:25", "UTC")
    assert parsed.at is None and "ambiguous day/month order" in parsed.problem
    assert parse_published("28-05-2025 16:25", "UTC").at == datetime(
        2025, 5, 28, 16, 25, tzinfo=UTC
    )
    assert parse_published("05-05-2025", "UTC").at == datetime(2025, 5, 5, tzinfo=UTC)


def test_feed_article_with_a_chinese_cst_and_an_unplaced_one():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    raws = [
        RawArticle(title="A", url="https://a.example/1", published="2026-05-26 14:25 CST",
                   declared_tz="Asia/Shanghai"),
        RawArticle(title="B", url="https://a.example/2", published="2026-05-26 14:25 CST"),
        RawArticle(title="C", url="https://a.example/3", published="03/05/2026 10:00 ET"),
    ]  # fmt: skip
    frame, rejects = normalise_articles(raws, now)
    rows = {r["title"]: (r["published_at"], r["published_precision"]) for r in frame.to_dicts()}
    assert rows["A"] == (datetime(2026, 5, 26, 6, 25, tzinfo=UTC), "minute")
    assert rows["B"] == (datetime(2026, 5, 26, 14, 25, tzinfo=UTC), "unknown-zone")
    assert [r.reason for r in rejects] == [
        "unreadable date '03/05/2026 10:00 ET' (ambiguous day/month order "
        "(state it with --dayfirst or --monthfirst))"
    ]


def test_a_files_precision_column_coarsens_but_never_refines():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    raws = [
        RawArticle(title="day", url="https://a.example/1", published="2025-04-09T12:00:00Z",
                   precision="day"),
        RawArticle(title="claims second", url="https://a.example/2", published="2025-04-09",
                   precision="second"),
        RawArticle(title="none", url="https://a.example/3", published="2025-04-09T12:00:00Z"),
    ]  # fmt: skip
    frame, _ = normalise_articles(raws, now)
    got = dict(zip(frame["title"], frame["published_precision"], strict=True))
    assert got == {"day": "day", "claims second": "day", "none": "second"}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/%7Euser/story", "https://example.com/~user/story"),
        ("https://bücher.example/a", "https://xn--bcher-kva.example/a"),
        ("https://example.com/a/../b", "https://example.com/b"),
        ("https://example.com/a/./b?y=2&x=1", "https://example.com/a/b?x=1&y=2"),
        ("https://example.com/caf%c3%a9", "https://example.com/café"),
    ],
)
def test_canonical_url_one_url_however_spelled(a, b):
    assert canonical_url(a) == canonical_url(b) is not None


def test_canonical_url_refuses_malformed_hosts():
    assert canonical_url("http://[::1") is None
    assert canonical_url("https://example.com:99999/x") is None


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<!-- <p>hidden</p> --> shown", "shown"),
        ('<p title="a > b">text</p>', "text"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),  # decoded once: the text shows the entity
        ("a<!-- x -->b <p>c<!-- y -->d</p>", "ab cd"),
        ("<p>one</p><p>two<br>three</p>", "one\ntwo\nthree"),
        ("x < y and <b>z</b>", "x < y and z"),
        ("<style>p{}</style><noscript>enable js</noscript>body", "body"),
    ],
)
def test_strip_html_reads_markup_with_a_parser(fragment, text):
    assert strip_html(fragment) == text
