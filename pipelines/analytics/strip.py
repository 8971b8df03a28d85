"""The ticker strip's rows: quotes first, the newest bar where no quote is stored, every
watchlist entry in order (missing ones marked unavailable). Pure functions of given frames."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def with_bar_prices(quotes: pl.DataFrame, bars: pl.DataFrame) -> pl.DataFrame:
    """Fill instruments that have no quote with the newest bar close and its 24 h change
    (`bars`: instrument_id, price, change_pct, priced_at from sql/queries/prices_strip_bars)."""
    if bars.height == 0:
        return quotes
    filled = quotes.join(bars, on="instrument_id", how="left", suffix="_bar")
    return filled.with_columns(
        pl.coalesce("price", "price_bar").alias("price"),
        pl.when(pl.col("price").is_null())
        .then(pl.col("change_pct_bar"))
        .otherwise(pl.col("change_pct"))
        .alias("change_pct"),
        pl.coalesce("priced_at", "priced_at_bar").alias("priced_at"),
        pl.when(pl.col("price").is_null() & pl.col("price_bar").is_not_null())
        .then(pl.lit("bars"))
        .otherwise(pl.col("priced_from"))
        .alias("priced_from"),
    ).drop("price_bar", "change_pct_bar", "priced_at_bar")


def in_watchlist_order(frame: pl.DataFrame, order: Sequence[str]) -> pl.DataFrame:
    """The strip in watchlist order; watchlist ids with no row come as unavailable entries."""
    have = set(frame["instrument_id"].to_list())
    missing = [i for i in order if i not in have]
    if not missing:
        return frame
    extra = pl.DataFrame(
        {
            "instrument_id": missing,
            "available": [False] * len(missing),
            "unavailable_reason": ["not in the database"] * len(missing),
        }
    )
    pos = {inst: n for n, inst in enumerate(order)}
    return (
        pl.concat([frame, extra], how="diagonal_relaxed")
        .with_columns(pl.col("instrument_id").replace_strict(pos, default=len(pos)).alias("_pos"))
        .sort("_pos", maintain_order=True)
        .drop("_pos")
    )
