"""The daily workload of bench_event_study.py: the engine against the PyPI event-study packages
on 10,000 (event, instrument) pairs, interleaved runs, wall and CPU seconds side by side.

  data       21 series (MKT + 20 securities) × 3,650 days of daily bars (24/7 calendar, so
             calendar days = trading days for every tool); 500 events × 20 instruments;
             market model, window −10…+10, estimation 250 days with a 10-day buffer.
  engine     run_study on it (read-only connection, the CLI path), every statistic
  eventstudy on all 10,000 pairs (or --peer-pairs); easyeventstudies on --easy-pairs (300)
             extrapolated linearly (0 skips it); CARs of both checked against the engine's
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from pipelines import store

START = datetime(2025, 1, 1, tzinfo=UTC)
DAILY_WINDOW = (-10, 10)
DAILY_BUFFER = 10
DAILY_EST_SIZE = 250
DAILY_ESTIMATION = (
    DAILY_WINDOW[0] - DAILY_BUFFER - DAILY_EST_SIZE,
    DAILY_WINDOW[0] - DAILY_BUFFER - 1,
)


def make_daily(db: Path, n_securities: int, n_days: int, n_events: int, seed: int) -> pl.DataFrame:
    """Daily bars for MKT and n securities (every calendar day); returns the log returns."""
    rng = np.random.default_rng(seed)
    days = [START.date() - timedelta(days=n_days) + timedelta(days=i) for i in range(n_days)]
    market = rng.normal(0, 0.01, n_days)
    rets = {"MKT": market}
    for i in range(1, n_securities + 1):
        rets[f"D{i:02d}"] = rng.uniform(0.5, 1.5) * market + rng.normal(0.0002, 0.015, n_days)
    frames = []
    for name, r in rets.items():
        r = r.copy()
        r[0] = 0.0
        frames.append(
            pl.DataFrame(
                {
                    "instrument_id": name,
                    "timeframe": "1d",
                    "ts": [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days],
                    "close": np.exp(np.log(50.0) + np.cumsum(r)),
                    "source": "bench",
                }
            )
        )
    lo, hi = -DAILY_ESTIMATION[0] + 5, n_days - DAILY_WINDOW[1] - 5
    picks = np.sort(rng.choice(np.arange(lo, hi), size=n_events, replace=False))
    events = pl.DataFrame(
        {
            "event_id": [f"D{i:04d}" for i in range(n_events)],
            "title": "daily synthetic",
            "event_at": [
                datetime(days[p].year, days[p].month, days[p].day, 14, tzinfo=UTC) for p in picks
            ],
            "category": "daily",
        }
    )
    links = events.select("event_id").join(
        pl.DataFrame({"instrument_id": [f"D{i:02d}" for i in range(1, n_securities + 1)]}),
        how="cross",
    )
    with store.writer(db) as writer:
        writer.upsert("bars", pl.concat(frames))
        writer.upsert("events", events)
        writer.upsert("event_instruments", links)
    return pl.DataFrame({"date": days, **{k: np.r_[np.nan, v[1:]] for k, v in rets.items()}})


def task_eventstudy(returns_csv: str, pairs: list, window, est_size: int, buffer: int) -> dict:
    """eventstudy's market model, pair by pair, on the same returns."""
    import eventstudy as es

    es.Single.import_returns(returns_csv)
    out = {}
    for event_id, day, ticker in pairs:
        event = es.Single.market_model(
            security_ticker=ticker,
            market_ticker="MKT",
            event_date=np.datetime64(day),
            event_window=tuple(window),
            estimation_size=est_size,
            buffer_size=buffer,
        )
        out[f"{event_id}|{ticker}"] = float(event.CAR[-1])
    return {"car": out}


def task_easyeventstudies(returns_parquet: str, pairs: list, window, estimation) -> dict:
    """Run EasyEventStudies.run_event_study with its two downloads (yfinance, Kenneth French's
    factor file) answered from local data at the network boundary."""
    import pandas as pd
    from EasyEventStudies import easy_event_studies as ees

    returns = pd.read_parquet(returns_parquet)
    returns["date"] = pd.to_datetime(returns["date"])
    # Prices whose simple returns (what the package computes) equal our log returns.
    prices = (1 + returns.drop(columns="date").fillna(0.0)).cumprod() * 50.0
    prices.index = returns["date"]
    factors = pd.DataFrame(
        {
            "Unnamed: 0": returns["date"].dt.strftime("%Y%m%d").astype(int),
            "Mkt-RF": returns["MKT"].fillna(0.0) * 100,
            "SMB": 0.0,
            "HML": 0.0,
            "RF": 0.0,
        }
    )

    def download(ticker, start, end, **_):
        frame = prices.loc[(prices.index >= start) & (prices.index < end), [ticker]]
        frame.columns = pd.MultiIndex.from_tuples([("Close", ticker)], names=["Price", "Ticker"])
        frame.index.name = "Date"
        return frame

    ees.yf.download = download
    ees.get_fama_french_daily_factors = lambda: factors.copy()
    out = {}
    for event_id, day, ticker in pairs:
        res = ees.run_event_study(
            ticker,
            pd.Timestamp(day),
            estimation_window=tuple(estimation),
            event_window=tuple(window),
            historical_days=1,
        )
        out[f"{event_id}|{ticker}"] = float(res["CAR"].dropna().iloc[-1])
    return {"car": out}


def compare(ours: dict, theirs: dict) -> tuple[int, float]:
    """How many keys both have, and the largest absolute CAR difference on them."""
    keys = [k for k in theirs if k in ours]
    diff = max((abs(ours[k] - theirs[k]) for k in keys), default=float("nan"))
    return len(keys), diff


def median_run(runs: list[dict], key: str = "wall") -> dict:
    """The run with the median `key` (the upper one of an even count)."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def line(label: str, res: dict, extra: str = "") -> None:
    """One timed result: wall seconds, CPU seconds, peak memory."""
    print(
        f"  {label:<34} {res['wall']:8.3f} s  CPU {res['cpu']:6.2f} s  "
        f"peak RSS {res['peak_mb']:7.0f} MB {extra}"
    )


def run_daily(args, tmp: Path, measure: Callable, measure_before: Callable | None) -> dict:
    """The daily workload: engine (and --before's) and eventstudy interleaved --repeat times,
    easyeventstudies once; medians reported. Returns the figures for the JSON summary."""
    quick = args.quick
    daily, returns_path, csv_path = (
        tmp / "daily.duckdb", tmp / "daily_returns.parquet", tmp / "daily_returns.csv"
    )  # fmt: skip
    n_days, d_events = (1500, 60) if quick else (3650, 500)
    if not daily.exists():
        returns = make_daily(daily, 20, n_days, d_events, seed=7)
        returns.write_parquet(returns_path)
        returns.drop_nulls().with_columns(pl.col("date").cast(pl.Utf8)).write_csv(csv_path)
    print(
        f"\ndaily workload: 21 series × {n_days} days, {d_events} events × 20 instruments = "
        f"{d_events * 20:,} pairs, window {DAILY_WINDOW}, estimation {DAILY_ESTIMATION}, market model"
    )
    spec = dict(
        db=str(daily), category="daily", model="market", benchmark="MKT", timeframe="1d",
        window=DAILY_WINDOW, estimation=DAILY_ESTIMATION,
        cars=((DAILY_WINDOW[0], DAILY_WINDOW[1]),),
    )  # fmt: skip
    with store.reader(daily) as con:
        pairs = con.execute(
            "select e.event_id, strftime(e.event_at, '%Y-%m-%d'), l.instrument_id from events e "
            "join event_instruments l using (event_id) where e.category = 'daily' "
            "order by e.event_at, l.instrument_id"
        ).fetchall()
    rng = np.random.default_rng(3)
    n_peer = min(args.peer_pairs or len(pairs), len(pairs))
    subset = [pairs[i] for i in sorted(rng.choice(len(pairs), n_peer, replace=False))]
    peer_args = dict(
        returns_csv=str(csv_path), pairs=subset, window=DAILY_WINDOW,
        est_size=DAILY_EST_SIZE, buffer=DAILY_BUFFER,
    )  # fmt: skip
    engines, peers, befores = [], [], []
    for _ in range(args.repeat):
        print(f"  load average {os.getloadavg()[0]:.1f}")
        engines.append(measure("engine", **spec))
        peers.append(measure("eventstudy", **peer_args))
        if measure_before:
            befores.append(measure_before("engine", spec))
    engine, peer = median_run(engines), median_run(peers)
    walls = lambda runs, key: " ".join(f"{r[key]:.2f}" for r in runs)  # noqa: E731
    print(f"  runs, wall s: engine {walls(engines, 'wall')}; eventstudy {walls(peers, 'wall')}")
    print(f"  runs, CPU s:  engine {walls(engines, 'cpu')}; eventstudy {walls(peers, 'cpu')}")
    e_cpu, p_cpu = median_run(engines, "cpu")["cpu"], median_run(peers, "cpu")["cpu"]
    line("engine (run_study), all pairs", engine, f"  {engine['payload']['pairs']} pairs")
    if befores:
        print(f"  before runs: wall {walls(befores, 'wall')}; CPU {walls(befores, 'cpu')}")
        line("before (--before checkout)", median_run(befores))
        n_same, diff = compare(engine["payload"]["car"], median_run(befores)["payload"]["car"])
        print(f"    before vs engine CAR: {n_same} pairs, max |Δ| = {diff:.2e}")
    how = "measured" if n_peer == len(pairs) else f"→ ×{len(pairs) / n_peer:.1f} linear"
    line(f"eventstudy ({n_peer} pairs, {how})", peer)
    n_same, diff = compare(engine["payload"]["car"], peer["payload"]["car"])
    print(f"    same answers: {n_same}/{n_peer} pairs compared, max |ΔCAR| = {diff:.2e}")
    scale = len(pairs) / n_peer
    print(
        f"  ratios (medians): eventstudy / engine = {peer['wall'] * scale / engine['wall']:.1f}× wall, "
        f"{p_cpu * scale / e_cpu:.1f}× CPU   (load average {os.getloadavg()[0]:.1f} at the end)"
    )
    out = {
        "engine_daily_s": engine["wall"], "engine_daily_cpu_s": e_cpu,
        "eventstudy_s": peer["wall"] * scale, "eventstudy_cpu_s": p_cpu * scale,
        "engine_daily_runs": [(r["wall"], r["cpu"]) for r in engines],
        "eventstudy_runs": [(r["wall"], r["cpu"]) for r in peers],
        "before_runs": [(r["wall"], r["cpu"]) for r in befores],
    }  # fmt: skip
    n_easy = min(min(args.easy_pairs, 20) if quick else args.easy_pairs, len(pairs))
    if n_easy:
        easy = [pairs[i] for i in sorted(rng.choice(len(pairs), n_easy, replace=False))]
        out["easyeventstudies_s"] = _easy(measure, returns_path, easy, len(pairs), engine)
    print(
        "  py-event-studies: not run — it pins pandas<3 and pyarrow<18, which would downgrade "
        "this project's pandas 3.1 / pyarrow 25 (see bench/README.md)"
    )
    return out


def _easy(
    measure: Callable, returns_path: Path, pairs: list, n_total: int, engine: dict
) -> float | None:
    """easyeventstudies on some pairs, extrapolated linearly to n_total (None if it fails)."""
    try:
        res = measure(
            "easyeventstudies", returns_parquet=str(returns_path), pairs=pairs,
            window=DAILY_WINDOW, estimation=DAILY_ESTIMATION,
        )  # fmt: skip
    except Exception as exc:  # a peer that cannot run is reported, not fatal
        print(f"  easyeventstudies: could not run: {exc}")
        return None
    full = res["wall"] * n_total / len(pairs)
    line(f"easyeventstudies ({len(pairs)} pairs)", res, f"  → {full:.1f} s linear")
    n_same, diff = compare(engine["payload"]["car"], res["payload"]["car"])
    print(f"    same answers: {n_same}/{len(pairs)} pairs, max |ΔCAR| = {diff:.2e}")
    return full
