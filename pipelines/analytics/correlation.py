"""Return correlations between instruments: bucket log returns, the pairwise matrix, a rolling
correlation. Pure functions of given frames (no database, no Streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from pipelines.analytics.series import downsample_frame


def log_returns(closes: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
    """Wide frame t_ms × instrument of log returns between consecutive bucket closes, from a long
    frame (instrument_id, t_ms, close); columns in the order of `ids` (those present)."""
    if closes.height == 0:
        return pl.DataFrame()
    wide = closes.pivot(on="instrument_id", index="t_ms", values="close").sort("t_ms")
    present = [i for i in ids if i in wide.columns]
    return wide.select("t_ms", *[pl.col(i).log().diff().alias(i) for i in present]).slice(1)


def correlation_matrix(returns: pl.DataFrame) -> pl.DataFrame:
    """Pairwise Pearson correlation of the return columns (pairwise-complete observations)."""
    cols = [c for c in returns.columns if c != "t_ms"]
    rows = []
    for a in cols:
        row: dict[str, Any] = {"instrument_id": a}
        for b in cols:
            if a == b:
                row[b] = 1.0
                continue
            pair = returns.select(a, b).drop_nulls().drop_nans()
            row[b] = pair.select(pl.corr(a, b)).item() if pair.height > 2 else None
        rows.append(row)
    return pl.DataFrame(rows, schema={"instrument_id": pl.Utf8, **dict.fromkeys(cols, pl.Float64)})


def rolling_correlation(returns: pl.DataFrame, a: str, b: str, window: int) -> pl.DataFrame:
    """Rolling Pearson correlation of columns a and b over `window` buckets (t_ms, corr)."""
    frame = returns.select("t_ms", a, b).drop_nulls()
    if frame.height < window:
        return pl.DataFrame(schema={"t_ms": pl.Int64, "corr": pl.Float64})
    out = frame.select(
        "t_ms", pl.rolling_corr(pl.col(a), pl.col(b), window_size=window).alias("corr")
    ).drop_nulls()
    return downsample_frame(out, "t_ms", "corr")
