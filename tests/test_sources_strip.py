"""Ticker-strip parser and `tickerwire import strip`: the seed's 20 quotes, round trips, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipelines import store
from pipelines.cli import app
from pipelines.errors import DataError
from pipelines.sources.strip import StripQuote, parse_strip, render_strip

# The seed-001 strip as printed (symbol, price, 24 h change %).
SEED_QUOTES = [
    ("HYPE", "64.44", "4.64"), ("XRP", "1.34", "2.52"), ("TRX", "0.3425", "-2.16"),
    ("SOL", "82.19", "0.49"), ("BTC", "73275.00", "-0.17"), ("USDS", "0.9996", "0.00"),
    ("ETH", "2007.61", "0.10"), ("XAG", "75.88", "0.30"), ("BNB", "657.34", "3.41"),
    ("ADA", "0.2347", "0.33"), ("NATGAS", "3.29", "0.15"), ("FIGR_HELOC", "1.03", "0.22"),
    ("DOGE", "0.1006", "1.59"), ("XLM", "0.2680", "33.37"), ("RAIN", "0.0145", "2.07"),
    ("LEO", "10.07", "1.23"), ("XAU", "4593.00", "2.08"), ("WTI", "87.36", "-1.73"),
    ("BRENT", "91.12", "-2.76"), ("ZEC", "507.17", "-5.14"),
]  # fmt: skip


def seed_file(shared: Path) -> Path:
    return next((shared / "seeds").glob("001_*.txt"))


def test_seed_strip_gives_exactly_the_twenty_quotes(shared):
    """Seed 001: 40 items (the marquee twice) → 20 quotes, every value exact, as of 04:57 UTC."""
    result = parse_strip(seed_file(shared).read_text(), day=date(2026, 5, 1))
    got = [(q.symbol, q.price, q.change_pct) for q in result.quotes]
    assert got == [(s, Decimal(p), Decimal(c)) for s, p, c in SEED_QUOTES]
    assert result.n_items == 40 and result.rejects == []
    assert result.as_of == datetime(2026, 5, 1, 4, 57, tzinfo=UTC)
    frame = result.frame("seed001", "seed.txt")
    btc = frame.filter(frame["instrument_id"] == "BTC").row(0, named=True)
    assert (btc["price"], btc["change_pct"], btc["source"]) == (73275.0, -0.17, "strip:seed001")


def test_cli_import_is_idempotent_and_reports_date(shared, tmp_path):
    """import strip twice → 20 rows once; the output says which date was used and why."""
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    args = ["--db", str(db), "import", "strip", str(seed_file(shared)), "--date", "2026-05-01",
            "--outlet", "seed"]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "20 quotes as of 2026-05-01 04:57 UTC, source strip:seed" in first.output
    assert "date: 2026-05-01 (from --date)" in first.output and "stored 20 new" in first.output
    second = runner.invoke(app, args)
    assert "stored 0 new, 0 changed, 20 already present" in second.output
    with store.reader(db) as con:
        rows = con.execute(
            "select instrument_id, price, change_pct from quotes where instrument_id in ('XLM', 'XAU') order by 1"
        ).fetchall()
    assert rows == [("XAU", 4593.0, 2.08), ("XLM", 0.268, 33.37)]
    # Without --date and without bars the day cannot be known: refused, nothing stored.
    no_date = runner.invoke(app, ["--db", str(db), "import", "strip", str(seed_file(shared))])
    assert no_date.exit_code != 0
    assert "cannot date the strip: no stored bars" in str(no_date.exception)


def test_symbols_outside_watchlist_are_kept_and_reported(tmp_path):
    """A symbol the watchlist lacks is still stored, and named in the output."""
    page = tmp_path / "p.html"
    page.write_text(
        "<div class='strip'><span>BTC</span><span>$73,275.00</span><span>▼ 0.17%</span>"
        "<span>PEPE</span><span>$0.00001234</span><span>▲ 12.5%</span></div>"
        "<p>Prices as of 2026-05-02 11:05 UTC</p>"
    )
    out = CliRunner().invoke(
        app, ["--db", str(tmp_path / "d.duckdb"), "import", "strip", str(page)]
    )
    assert out.exit_code == 0, out.output
    assert "2 quotes as of 2026-05-02 11:05 UTC" in out.output
    assert "date: 2026-05-02 (printed on the page)" in out.output
    assert "outside the watchlist (kept): PEPE" in out.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no 'Prices as of HH:MM UTC' line found"),
        (
            "lorem ipsum dolor\nPrices as of 10:00 UTC",
            "no ticker-strip items .* the text starts with 'lorem ipsum dolor'",
        ),
        ("BTC$1.00▲ 1.00%\nPrices as of 25:61 UTC", "is not a valid time"),
        ("\x00\x01binary\xff", "no 'Prices as of"),
    ],
)
def test_garbage_is_a_clear_error(text, message):
    """Nothing usable → DataError saying what is missing."""
    with pytest.raises(DataError, match=message):
        parse_strip(text, day=date(2026, 5, 1))


def test_broken_items_and_conflicting_repeats_become_rejects():
    """A half-written item and a repeat with other values are refused with reasons; the rest stays."""
    text = "BTC$100.00▲ 1.00%ETH$abc▲ 2%XRP$1.34▲ 2.52%BTC$101.00▲ 1.10%\nPrices as of 08:00 UTC"
    result = parse_strip(text, day=date(2026, 5, 1))
    assert [(q.symbol, q.price) for q in result.quotes] == [
        ("BTC", Decimal("100.00")),
        ("XRP", Decimal("1.34")),
    ]
    reasons = [r.reason for r in result.rejects]
    assert reasons[0].startswith("BTC appears again with other values (101.00, 1.10%)")
    assert reasons[1].startswith("unreadable strip item starting 'ETH$abc")


SYMBOLS = st.from_regex(r"[A-Z][A-Z0-9_]{0,9}", fullmatch=True)
PRICES = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=8),
)
PCTS = st.builds(
    lambda hundredths, down: Decimal(hundredths).scaleb(-2) * (-1 if down else 1),
    st.integers(min_value=0, max_value=99_999),
    st.booleans(),
)
QUOTES = st.lists(
    st.builds(StripQuote, SYMBOLS, PRICES, PCTS),
    min_size=1,
    max_size=25,
    unique_by=lambda q: q.symbol,
)


@settings(max_examples=150, deadline=None)
@given(QUOTES, st.integers(min_value=1, max_value=3), st.times())
def test_render_then_parse_gives_the_same_quotes(quotes, repeat, at):
    """render_strip → parse_strip returns the quotes rendered, in order, whatever the repetition."""
    as_of = time(at.hour, at.minute)
    text = render_strip(quotes, as_of, repeat=repeat)
    result = parse_strip(text, day=date(2026, 5, 1))
    assert [(q.symbol, q.price, q.change_pct) for q in result.quotes] == [
        (q.symbol, q.price, q.change_pct) for q in quotes
    ]
    assert result.n_items == repeat * len(quotes) and result.rejects == []
    assert result.as_of == datetime.combine(date(2026, 5, 1), as_of, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(QUOTES)
def test_html_wrapping_does_not_change_the_quotes(quotes):
    """The same strip inside HTML elements (one per part, with line breaks) parses the same."""
    text = render_strip(quotes, time(9, 30), repeat=1)
    items, as_of_line = text.rsplit("\n", 2)[0], "Prices as of 09:30 UTC"
    html = (
        "<ul>"
        + items.replace("$", "</b>\n<i>$").replace("%", "%</i>\n<b>")
        + f"</ul><footer>{as_of_line}</footer>"
    )
    result = parse_strip(html, day=date(2026, 5, 1))
    assert [(q.symbol, q.price, q.change_pct) for q in result.quotes] == [
        (q.symbol, q.price, q.change_pct) for q in quotes
    ]
