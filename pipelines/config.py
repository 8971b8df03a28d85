"""Load and validate tickerwire.toml; environment overrides (TICKERWIRE_*); no secrets in files."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines import calendars
from pipelines.errors import ConfigError
from pipelines.paths import default_config_path
from pipelines.sources import price_sources, source_sections

ASSET_CLASSES = ("crypto", "commodity", "equity", "index", "fx", "other")
# Where an instrument's bars may come from besides the registered price sources (which
# pipelines.sources.SOURCES lists): imported files, strip captures, the demo's simulator.
OFFLINE_ORIGINS = ("file", "strip", "demo")
CALENDARS = tuple(calendars.CALENDARS)  # the names a `calendar` key may take

# Top-level sections a config may hold besides those of the registered sources. Each feature
# validates its own section through `Section` (below); a section not known is a typo, refused.
CORE_SECTIONS = (
    "database",
    "venues",
    "instruments",
    "entities",
    "policy",
    "sentiment",
    "clustering",
    "study",
    "schedule",
    "retention",
    "dashboard",
    "stream",
    "freshness",
    "alerts",
    "store",
    "spark",
)

MAX_NUMBER = 1e12  # the largest number any setting accepts

# Who validates each core section: "module:callable(config)" (a source's section has its
# checker on its registry line). `load_config` runs the ones whose section is in the file
# (absent sections take defaults), so every problem shows on load, not when a command first
# reads the section. Imported lazily: only what the file uses is loaded.
CORE_CHECKS: dict[str, str] = {
    "entities": "pipelines.enrich.entities:EntityMatcher.from_config",
    "policy": "pipelines.enrich.policy:PolicyTagger.from_config",
    "sentiment": "pipelines.enrich.sentiment:SentimentScorer.from_config",
    "clustering": "pipelines.enrich.cluster:ClusterSettings.from_config",
    "study": "pipelines.analytics.study:study_settings",
    "schedule": "pipelines.cadence:Schedule.from_config",
    "retention": "pipelines.retention:RetentionPolicy.from_config",
    "freshness": "pipelines.health:FreshnessPolicy.from_config",
    "alerts": "pipelines.alerts:rules_from_config",
    "stream": "pipelines.live_settings:StreamSettings.from_config",
    "dashboard": "pipelines.live_settings:DashboardSettings.from_config",
    "store": "pipelines.lake:lake_settings",
    "spark": "pipelines.analytics.spark_engine:spark_settings",
}


def instrument_sources() -> tuple[str, ...]:
    """What an instrument's `source` may name: the registered price sources, then the origins."""
    return (*price_sources(), *OFFLINE_ORIGINS)


def known_sections() -> tuple[str, ...]:
    """Every top-level section a config may hold: the core ones and the registered sources'."""
    return (*CORE_SECTIONS[:3], *source_sections(), *CORE_SECTIONS[3:])


def section_checks() -> dict[str, str]:
    """Section → its checker ("module:callable(config)"), for the core and the sources."""
    checks = {name: check for name, check in source_sections().items() if check}
    return {**checks, **CORE_CHECKS}


_INSTRUMENT_KEYS = (
    "id",
    "name",
    "asset_class",
    "source",
    "symbol",
    "venues",
    "venue_symbols",
    "fallback_symbols",
    "quote_currency",
    "calendar",
    "exchange_tz",
    "benchmark",
)


class Section:
    """A validated view of one config table: typed getters whose errors name file, key, allowed."""

    def __init__(self, data: dict[str, Any], where: str, file: Path):
        self.data = data
        self.where = where
        self.file = file

    def fail(self, key: str, problem: str) -> ConfigError:
        """Build the one-line error naming the file, the dotted key and what is allowed."""
        return ConfigError(f"{self.file}: {self.where}.{key}: {problem}")

    def check_keys(self, allowed: tuple[str, ...] | list[str]) -> None:
        """Refuse keys that are not in `allowed` (catches typos)."""
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"unknown key; allowed: {', '.join(allowed)}")

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        choices: tuple | None = None,
    ) -> Any:
        """Return data[key] checked against `kind` (and `choices`); required when no default."""
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(key, f"must be {names}, got {type(value).__name__} {value!r}")
        # TOML integers have no size limit here; no setting needs more than MAX_NUMBER, and a
        # bigger one would overflow a duration or a date later (OverflowError).
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and (value != value or abs(value) > MAX_NUMBER):
            raise self.fail(key, f"{value!r} is out of range (at most {MAX_NUMBER:.0e})")
        if choices is not None and value not in choices:
            raise self.fail(
                key, f"{value!r} is not allowed; allowed: {', '.join(map(str, choices))}"
            )
        return value

    def zone(self, key: str, default: str | None) -> str | None:
        """Return data[key] checked to be an IANA time zone name (default when absent)."""
        name = self.get(key, str, default)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(
                key, f"{name!r} is not an IANA time zone (e.g. America/New_York, Europe/Berlin)"
            ) from exc
        return name

    def str_list(self, key: str, default: list[str] | None = None) -> list[str]:
        """Return a list of strings (a single string is accepted as a one-item list)."""
        value = self.get(key, (list, str), default if default is not None else [])
        if isinstance(value, str):
            value = [value]
        if not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return list(value)

    def sub(self, key: str) -> Section:
        """A nested table as a Section (empty when absent)."""
        value = self.get(key, dict, {})
        return Section(value, f"{self.where}.{key}", self.file)


@dataclass(frozen=True)
class Instrument:
    """One watchlist entry: where its prices come from and how to read them."""

    id: str
    name: str
    asset_class: str
    source: str
    symbol: str
    venues: tuple[str, ...] = ()
    venue_symbols: dict[str, str] = field(default_factory=dict)
    fallback_symbols: tuple[str, ...] = ()
    quote_currency: str = "USD"
    calendar: str = "24/7"
    exchange_tz: str = "UTC"
    benchmark: str | None = None

    def symbol_on(self, venue: str) -> str:
        """The market symbol to use on a given venue."""
        return self.venue_symbols.get(venue, self.symbol)


@dataclass
class Config:
    """The whole configuration: database path, watchlist, and the raw sections features read."""

    file: Path
    db_path: Path
    instruments: list[Instrument]
    default_venues: tuple[str, ...]
    raw: dict[str, Any]

    def section(self, name: str) -> Section:
        """The named top-level table (empty if absent), for the feature that owns it to validate."""
        if name not in known_sections():
            raise ConfigError(
                f"{self.file}: no section {name!r}; known: {', '.join(known_sections())}"
            )
        value = self.raw.get(name, {})
        return Section(value if isinstance(value, dict) else {"items": value}, name, self.file)

    def instrument(self, instrument_id: str) -> Instrument | None:
        """The watchlist entry with this id, if any."""
        return next((i for i in self.instruments if i.id == instrument_id), None)

    @property
    def watchlist(self) -> list[str]:
        """Instrument ids in watchlist order."""
        return [i.id for i in self.instruments]


def load_config(path: str | Path | None = None, *, check_all: bool = True) -> Config:
    """Read and validate the config file (default: TICKERWIRE_CONFIG, ./tickerwire.toml, built-in).

    `check_all=False` validates only what `parse_config` reads (database, venues, instruments),
    for callers that need no more and should not import every feature's checker.
    """
    file = Path(path) if path else default_config_path()
    if not file.is_file():
        raise ConfigError(f"{file}: config file not found")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text: {exc}") from exc
    if not raw:
        raise ConfigError(
            f"{file}: the config file is empty; start from the tickerwire.toml in the repository "
            "(or delete the file to use the built-in defaults)"
        )
    config = parse_config(raw, file)
    problems = check_sections(config) if check_all else []
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def check_sections(config: Config) -> list[str]:
    """Validate every section present in the file with its owner's reader; one line per problem."""
    import importlib

    problems: list[str] = []
    for name, target in section_checks().items():
        if name not in config.raw:
            continue
        module_name, _, attr = target.partition(":")
        check: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            check = getattr(check, part)
        try:
            check(config)
        except ConfigError as exc:
            found = str(exc)
        except (OverflowError, ValueError, TypeError) as exc:  # a number too big for its unit…
            found = f"{config.file}: {name}: a value is out of range ({exc})"
        else:
            continue
        if found not in problems:  # [freshness] reads [schedule] too: say it once
            problems.append(found)
    return problems


def parse_config(raw: dict[str, Any], file: Path) -> Config:
    """Validate a parsed TOML document and build the Config."""
    known = known_sections()
    for key in raw:
        if key not in known:
            raise ConfigError(f"{file}: {key}: unknown section; allowed: {', '.join(known)}")
    database = Section(raw.get("database", {}), "database", file)
    database.check_keys(("path",))
    db_env = os.environ.get("TICKERWIRE_DB")
    db_path = Path(db_env) if db_env else Path(database.get("path", str, "data/tickerwire.duckdb"))
    venues = Section(raw.get("venues", {}), "venues", file)
    venues.check_keys(("default",))
    default_venues = tuple(venues.str_list("default", ["binance", "okx", "kraken"]))
    items = raw.get("instruments", [])
    if not isinstance(items, list):
        raise ConfigError(f"{file}: instruments: must be an array of tables ([[instruments]])")
    instruments: list[Instrument] = []
    seen: set[str] = set()
    for n, item in enumerate(items):
        instrument = _parse_instrument(Section(item, f"instruments[{n}]", file), default_venues)
        if instrument.id in seen:
            raise ConfigError(f"{file}: instruments[{n}].id: {instrument.id!r} appears twice")
        seen.add(instrument.id)
        instruments.append(instrument)
    return Config(
        file=file, db_path=db_path, instruments=instruments, default_venues=default_venues, raw=raw
    )


def _parse_instrument(sec: Section, default_venues: tuple[str, ...]) -> Instrument:
    sec.check_keys(_INSTRUMENT_KEYS)
    ident = sec.get("id", str)
    if not ident or not all(ch.isalnum() or ch in "_-." for ch in ident):
        raise sec.fail("id", f"{ident!r} must be letters, digits, '_', '-' or '.'")
    source = sec.get("source", str, choices=instrument_sources())
    calendar = sec.get("calendar", str, "24/7", choices=CALENDARS)
    tz = sec.zone("exchange_tz", "UTC")
    venue_symbols = sec.get("venue_symbols", dict, {})
    if not all(isinstance(v, str) for v in venue_symbols.values()):
        raise sec.fail("venue_symbols", "must map venue names to market symbols (strings)")
    venues = tuple(sec.str_list("venues")) or (default_venues if source == "ccxt" else ())
    return Instrument(
        id=ident,
        name=sec.get("name", str, ident),
        asset_class=sec.get("asset_class", str, "other", choices=ASSET_CLASSES),
        source=source,
        symbol=sec.get("symbol", str),
        venues=venues,
        venue_symbols=dict(venue_symbols),
        fallback_symbols=tuple(sec.str_list("fallback_symbols")),
        quote_currency=sec.get("quote_currency", str, "USD"),
        calendar=calendar,
        exchange_tz=tz,
        benchmark=sec.get("benchmark", str, None),
    )
