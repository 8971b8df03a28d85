"""Seeded 1-minute bars: random walks (and stablecoin pegs) pinned to the seed-001 strip.

No price reaction is put around any event: the paths are drawn without looking at the events.
"""

from __future__ import annotations

import math
import zlib
from datetime import timedelta

import numpy as np
import polars as pl
from scipy.signal import lfilter

from pipelines.calendars import in_session
from pipelines.config import Config, Instrument
from pipelines.errors import DataError
from pipelines.schemas import UTC_TS
from pipelines.synthetic.data import (
    ANCHOR_BAR_TS,
    BUILT_AS_OF,
    DEFAULT_SEED,
    DEMO_END,
    DEMO_START,
    DYNAMICS,
    STRIP,
    Dynamics,
)

MINUTES_PER_YEAR = 365 * 1440
CLOSED_VOL_FACTOR = 0.25  # while a futures market is shut its latent price drifts more slowly
PEG_PHI = 0.995  # per-minute persistence of a stablecoin's deviation (half-life ~2.3 h)


def minute_grid() -> pl.Series:
    """Every 1-minute bar open time of the demo span (UTC)."""
    return pl.datetime_range(
        DEMO_START, DEMO_END, "1m", closed="left", time_zone="UTC", eager=True
    ).cast(UTC_TS)


def dynamics_for(instrument: Instrument) -> Dynamics:
    """The price dynamics of an instrument (a generic one for instruments added to the config;
    those start from 100.0 at the strip instant since the strip has no price for them)."""
    if instrument.id in DYNAMICS:
        return DYNAMICS[instrument.id]
    if instrument.asset_class == "crypto":
        return Dynamics("walk", 0.80, "crypto", 0.5)
    return Dynamics("walk", 0.30)


def tick_decimals(price: float) -> int:
    """Decimals that keep about seven significant digits (BTC 2, SOL 5, RAIN 8)."""
    return max(2, 6 - math.floor(math.log10(price)))


def _rng(seed: int, label: str) -> np.random.Generator:
    # One stream per instrument / factor, so adding an instrument never changes the others.
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x_t = phi * x_{t-1} + shock_t, vectorised."""
    return lfilter([1.0], [1.0, -phi], shocks)


def simulate_bars(config: Config, seed: int = DEFAULT_SEED) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All demo bars (one frame, sorted) and the latest quote per instrument derived from them."""
    grid = minute_grid()
    grid_frame = pl.DataFrame({"ts": grid})
    strip_bar = int(
        np.searchsorted(grid.to_numpy(), np.datetime64(ANCHOR_BAR_TS.replace(tzinfo=None)))
    )
    factors: dict[str, np.ndarray] = {}
    sessions: dict[str, np.ndarray] = {}
    frames: list[pl.DataFrame] = []
    latest: list[dict] = []
    for inst in config.instruments:
        if inst.calendar not in sessions:
            sessions[inst.calendar] = in_session(inst.calendar, grid_frame["ts"]).to_numpy()
        open_mask = sessions[inst.calendar]
        if not open_mask.any():
            raise DataError(f"demo: calendar {inst.calendar!r} of {inst.id} is never open")
        dyn = dynamics_for(inst)
        rng = _rng(seed, f"instrument:{inst.id}")
        if dyn.group is not None and dyn.group not in factors:
            factors[dyn.group] = _rng(seed, f"factor:{dyn.group}").standard_normal(grid.len())
        level, returns, wick_sd = _log_path(dyn, open_mask, rng, factors.get(dyn.group))
        # The anchor is the last open bar at or before the strip bar (futures may be shut then).
        open_idx = np.flatnonzero(open_mask)
        before = open_idx[open_idx <= strip_bar]
        anchor = int(before[-1]) if before.size else int(open_idx[0])
        price = STRIP[inst.id][0] if inst.id in STRIP else 100.0
        columns = _ohlcv(price, level, returns, wick_sd, anchor, dyn, rng)
        frame = (
            pl.DataFrame({"ts": grid, **columns})
            .filter(pl.Series(open_mask))  # futures: only the minutes their market is open
            .select(
                instrument_id=pl.lit(inst.id),
                timeframe=pl.lit("1m"),
                ts="ts",
                open="open",
                high="high",
                low="low",
                close="close",
                volume="volume",
            )
        )
        frames.append(frame)
        latest.append(_latest_quote(inst.id, frame))
    bars = pl.concat(frames).with_columns(
        source=pl.lit("synthetic"), ingested_at=pl.lit(BUILT_AS_OF).cast(UTC_TS)
    )
    return bars, pl.DataFrame(latest).cast({"ts": UTC_TS})


def _log_path(
    dyn: Dynamics, open_mask: np.ndarray, rng: np.random.Generator, common: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-price path (relative), its per-minute returns and the per-minute return scale."""
    n = open_mask.size
    if dyn.kind == "peg":
        shock_sd = dyn.vol * math.sqrt(1 - PEG_PHI**2)
        level = _ar1(rng.standard_normal(n) * shock_sd, PEG_PHI)
        return level, np.diff(level, prepend=0.0), np.full(n, shock_sd)
    # Per-minute scale from the annual vol, spread over the minutes the market is open.
    sd_open = dyn.vol / math.sqrt(MINUTES_PER_YEAR * open_mask.mean())
    # A slowly varying volatility regime (clustering), exp of a unit AR(1), around 1.
    regime = np.exp(0.3 * _ar1(rng.standard_normal(n) * math.sqrt(1 - 0.999**2), 0.999))
    # Closed futures keep a latent price that drifts slowly: the next open gaps a little.
    sd = sd_open * regime * np.where(open_mask, 1.0, CLOSED_VOL_FACTOR)
    idio = rng.standard_normal(n)
    # One-factor model: loading rho on the group factor makes rho the correlation with it.
    shocks = idio if common is None else dyn.rho * common + math.sqrt(1 - dyn.rho**2) * idio
    returns = sd * shocks
    return np.cumsum(returns), returns, sd


def _ohlcv(
    price: float,
    level: np.ndarray,
    returns: np.ndarray,
    wick_sd: np.ndarray,
    anchor: int,
    dyn: Dynamics,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Bars from a log path: close pinned to `price` at index `anchor`, ticks rounded, wicks drawn."""
    n = level.size
    decimals = tick_decimals(price)
    close = np.round(price * np.exp(level - level[anchor]), decimals)
    open_ = np.round(price * np.exp(level - returns - level[anchor]), decimals)  # previous close
    close[anchor] = price  # exactly the strip value (rounding may differ in the last bit)
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    up = np.round(top * np.exp(np.abs(rng.standard_normal(n)) * 0.6 * wick_sd), decimals)
    down = np.round(bottom * np.exp(-np.abs(rng.standard_normal(n)) * 0.6 * wick_sd), decimals)
    # Busier minutes when the price moves more; notional turned into units of the instrument.
    activity = 0.5 + np.abs(returns) / np.maximum(wick_sd, 1e-12)
    volume = np.round(dyn.usd_per_minute / close * rng.lognormal(0.0, 0.6, n) * activity, 4)
    return {
        "open": open_,
        "high": np.maximum(up, top),
        "low": np.minimum(down, bottom),
        "close": close,
        "volume": volume,
    }


def _latest_quote(instrument_id: str, bars: pl.DataFrame) -> dict:
    """The quote at the close of the last bar, with the 24 h change against the as-of price then."""
    last = bars.row(-1, named=True)
    quote_at = last["ts"] + timedelta(minutes=1)
    # As-of: the last bar whose close time (ts + 1 min) is at or before quote_at - 24 h.
    earlier = bars.filter(pl.col("ts") <= quote_at - timedelta(hours=24, minutes=1))
    change = None
    if earlier.height:
        change = round((last["close"] / earlier["close"][-1] - 1.0) * 100.0, 4)
    return {
        "instrument_id": instrument_id,
        "ts": quote_at,
        "source": "synthetic",
        "price": last["close"],
        "change_pct": change,
        "captured_from": "synthetic: close of the last 1m bar",
    }
