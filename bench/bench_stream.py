"""Streaming quotes into the store while dashboard readers run the ticker strip's query.

A local Binance spot stream (tests/ws_replay.py, Binance's documented `24hrTicker` events) pushes
`--rate` ticker updates per second for 20 instruments; `QuoteStream` (pipelines/sources/
ccxt_stream.py: ccxt.pro's watch_tickers, one bounded commit per second through
`store.writing`) stores them. Meanwhile `--readers` processes open short-lived read-only
connections (`store.reader`, as the dashboard does) and run the strip's query (`dash_strip`)
with 50 ms think time. Baseline, same run, interleaved: the same readers with no writer.

    .venv/bin/python bench/bench_stream.py [--seconds 20] [--rate 1500] [--readers 3] [--reps 2]

Prints per phase: updates sent and stored per second, commits, reader rounds and failures,
reader latency (p50 / p99 / max), and the ratio streaming / baseline of the latency medians.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import responses  # noqa: E402

from pipelines import store  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.sources.ccxt_source import CcxtSource, ExchangeRegistry  # noqa: E402
from pipelines.sources.ccxt_stream import QuoteStream  # noqa: E402
from tests.ws_replay import BinanceReplay  # noqa: E402

BASES = ["BTC", "ETH", "SOL", "XRP", "TRX", "BNB", "ADA", "DOGE", "XLM", "ZEC",
         "HYPE", "LTC", "DOT", "AVAX", "LINK", "ATOM", "NEAR", "UNI", "AAVE", "FIL"]  # fmt: skip
EXCHANGE_INFO = ROOT / "tests" / "fixtures" / "prices" / "binance_exchangeInfo.json"


def exchange_info() -> dict:
    """Binance's exchangeInfo answer (the test fixture) widened to the 20 bench symbols."""
    doc = json.loads(EXCHANGE_INFO.read_text())
    template = next(s for s in doc["symbols"] if s["symbol"] == "BTCUSDT")
    doc["symbols"] = []
    for base in BASES:
        entry = copy.deepcopy(template)
        entry.update(symbol=f"{base}USDT", baseAsset=base)
        doc["symbols"].append(entry)
    return doc


def config_text(db: Path, url: str) -> str:
    """A config of the 20 instruments on Binance, its stream pointed at the local server."""
    parts = [f'[database]\npath = "{db}"\n[venues]\ndefault = ["binance"]\n']
    for base in BASES:
        parts.append(
            f'[[instruments]]\nid = "{base}"\nasset_class = "crypto"\nsource = "ccxt"\n'
            f'symbol = "{base}/USDT"\n'
        )
    parts.append(f'[stream]\n[stream.urls]\nbinance = "{url}"\n')
    return "".join(parts)


def reader(db: str, seconds: float, out: mp.Queue) -> None:
    """One dashboard-like reader: connect read-only, run the strip's query, think 50 ms."""
    sql = store.load_sql("prices_strip")
    params = {"order": BASES, "source": None}
    latencies, failures, errors = [], 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            with store.reader(db, retries=12, base_delay=0.02, max_delay=0.5) as con:
                store.query_frame(con, sql, params)
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # a failure is what the benchmark counts
            failures += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        time.sleep(0.05)
    out.put({"latencies": latencies, "failures": failures, "errors": errors[:5]})


def run_readers(db: Path, seconds: float, n: int) -> list[dict]:
    """Start `n` reader processes, wait for them, return their results."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=reader, args=(str(db), seconds, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    return results


def summarise(results: list[dict]) -> dict:
    """Rounds, failures and latency percentiles over every reader."""
    lat = sorted(x for r in results for x in r["latencies"])

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {
        "rounds": len(lat),
        "failures": sum(r["failures"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:3],
        "p50": pct(0.5),
        "p99": pct(0.99),
        "max": lat[-1] if lat else float("nan"),
    }


def baseline(db: Path, seconds: float, readers: int) -> dict:
    """Readers alone (nothing writes)."""
    return summarise(run_readers(db, seconds, readers))


def replay_process(prices: dict[str, float], rate: float, conn) -> None:  # noqa: ANN001
    """The local Binance stream in a process of its own (so it does not share our GIL)."""
    with BinanceReplay(prices, rate=rate) as replay:
        conn.send(replay.url)
        while conn.recv() != "stop":
            conn.send(len(replay.sent.tickers))
        conn.send(len(replay.sent.tickers))


def streaming(db: Path, cfg: Path, seconds: float, readers: int, rate: float) -> dict:
    """Readers while the stream stores `rate` updates per second."""
    prices = {f"{b}USDT": 100.0 + i for i, b in enumerate(BASES)}
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(target=replay_process, args=(prices, rate, there))
    server.start()
    url = here.recv()

    def sent() -> int:
        here.send("count")
        return here.recv()

    cfg.write_text(config_text(db, url))
    source = CcxtSource(registry=ExchangeRegistry(), cache_dir=db.parent / "cache")
    # markets over REST on the first run only; later runs read the source's markets cache
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, "https://api.binance.com/api/v3/exchangeInfo",
                 json=exchange_info())  # fmt: skip
        stream = QuoteStream(db, load_config(cfg), report=lambda _m: None, source=source)
        stream.start()
    time.sleep(2.0)  # connected and past the first commit
    stored0, sent0, commits0 = stream.writer.stored, sent(), stream.writer.commits
    received0 = stream.buffer.received
    t0, cpu0 = time.monotonic(), time.process_time()
    results = run_readers(db, seconds, readers) if readers else (time.sleep(seconds) or [])
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    stored1, sent1, received1 = stream.writer.stored, sent(), stream.buffer.received
    commits = stream.writer.commits - commits0
    stream.stop()
    here.send("stop")
    here.recv()
    server.join(30)
    out = summarise(results)
    out.update(
        sent_per_s=(sent1 - sent0) / elapsed,
        received_per_s=(received1 - received0) / elapsed,  # parsed by ccxt, buffered
        stored_per_s=(stored1 - stored0) / elapsed,
        commits_per_s=commits / elapsed,
        # this process only runs the stream (server and readers are other processes): its CPU
        # seconds per update do not depend on how busy the machine is
        stored_per_cpu_s=(stored1 - stored0) / cpu if cpu else float("nan"),
        dropped=stream.buffer.dropped,
    )
    return out


def main() -> None:
    """Interleave baseline and streaming runs; print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=1500.0)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stream.duckdb"
        cfg = Path(tmp) / "stream.toml"
        cfg.write_text(config_text(db, "ws://127.0.0.1:1/ws"))
        with store.writing(db, "bench"):
            pass
        base, live = [], []
        for rep in range(args.reps):
            base.append(baseline(db, args.seconds, args.readers))
            live.append(streaming(db, cfg, args.seconds, args.readers, args.rate))
            print(f"rep {rep + 1}: baseline {base[-1]}\n        streaming {live[-1]}", flush=True)

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"\nreaders: {args.readers} processes, strip query, 50 ms think; {args.seconds:g} s a phase"
    )
    print(
        "| phase | sent/s | stored/s | commits/s | reader rounds | failures | p50 ms | p99 ms | max ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rows in (("baseline (no writer)", base), ("streaming", live)):
        sent = f"{med(rows, 'sent_per_s'):,.0f}" if "sent_per_s" in rows[0] else "–"
        stored = f"{med(rows, 'stored_per_s'):,.0f}" if "stored_per_s" in rows[0] else "–"
        commits = f"{med(rows, 'commits_per_s'):.2f}" if "commits_per_s" in rows[0] else "–"
        print(
            f"| {name} | {sent} | {stored} | {commits} | {med(rows, 'rounds'):.0f} | "
            f"{sum(r['failures'] for r in rows)} | {1000 * med(rows, 'p50'):.1f} | "
            f"{1000 * med(rows, 'p99'):.1f} | {1000 * med(rows, 'max'):.1f} |"
        )
    print(f"reader p50 streaming / baseline: {med(live, 'p50') / med(base, 'p50'):.2f}")
    print(f"stream process: {med(live, 'stored_per_cpu_s'):,.0f} updates stored per CPU-second")


if __name__ == "__main__":
    main()
