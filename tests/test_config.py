"""Config loading and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.config import load_config
from pipelines.errors import ConfigError
from pipelines.paths import REPO_ROOT

STRIP_ORDER = [
    "HYPE",
    "XRP",
    "TRX",
    "SOL",
    "BTC",
    "USDS",
    "ETH",
    "XAG",
    "BNB",
    "ADA",
    "NATGAS",
    "FIGR_HELOC",
    "DOGE",
    "XLM",
    "RAIN",
    "LEO",
    "XAU",
    "WTI",
    "BRENT",
    "ZEC",
]


def test_default_watchlist_is_the_seed_strip():
    config = load_config(REPO_ROOT / "tickerwire.toml")
    assert config.watchlist == STRIP_ORDER
    yahoo = {i.id: i.symbol for i in config.instruments if i.source == "yahoo"}
    assert yahoo == {"XAU": "GC=F", "XAG": "SI=F", "WTI": "CL=F", "BRENT": "BZ=F", "NATGAS": "NG=F"}
    hype = config.instrument("HYPE")
    assert hype.venues[0] == "hyperliquid" and hype.symbol_on("hyperliquid") == "HYPE/USDC"
    assert config.instrument("BTC").venues == config.default_venues


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tw.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[datbase]\npath="x"', r"datbase: unknown section; allowed: database"),
        (
            '[[instruments]]\nid="A"\nsource="nope"\nsymbol="A"',
            r"instruments\[0\]\.source: 'nope' is not allowed; allowed: ccxt, yahoo",
        ),
        ('[[instruments]]\nid="A"\nsource="ccxt"', r"instruments\[0\]\.symbol: is required"),
        (
            '[[instruments]]\nid="A"\nsource="yahoo"\nsymbol="A"\nexchange_tz="Mars/Base"',
            r"exchange_tz: 'Mars/Base' is not an IANA",
        ),
        (
            '[[instruments]]\nid="A"\nsource="yahoo"\nsymbol="A"\nsymbl="B"',
            r"symbl: unknown key; allowed: id, name",
        ),
        (
            '[[instruments]]\nid="A"\nsource="yahoo"\nsymbol="A"\n[[instruments]]\nid="A"\nsource="yahoo"\nsymbol="B"',
            r"instruments\[1\]\.id: 'A' appears twice",
        ),
        ("[database\n", r"not valid TOML"),
    ],
)
def test_validation_errors_name_file_key_and_allowed(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


def test_env_overrides_database_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKERWIRE_DB", str(tmp_path / "env.duckdb"))
    assert load_config(REPO_ROOT / "tickerwire.toml").db_path == tmp_path / "env.duckdb"
