"""Data health: per source the last run, its status and errors; per instrument rows, span, freshness, gaps."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, live, operations, ui


def body() -> None:
    """The Data health page."""
    st.subheader("Sources")
    runs = operations.health_runs()
    if runs.height:
        bad = runs.filter(pl.col("status").is_in(["failed", "partial"]))
        if bad.height:
            st.error(
                f"{bad.height} source(s) whose last run did not finish cleanly: {', '.join(bad['source'].to_list())}"
            )
        else:
            st.success(f"All {runs.height} source(s) finished their last run cleanly.")
    ui.table(runs, "health_sources", empty="No ingest runs recorded yet.", key="health-runs")

    st.subheader("Freshness")
    try:
        fresh = operations.source_freshness()
        if fresh.height and "stale" in fresh.columns:
            stale = fresh.filter(pl.col("stale"))
            if stale.height:
                st.warning(
                    f"{stale.height} stale: "
                    + ", ".join(
                        f"{r['name']} ({r['reason']})" for r in stale.head(8).iter_rows(named=True)
                    )
                    + (" …" if stale.height > 8 else "")
                )
        first = [c for c in ("kind", "name", "stale", "reason", "last_at") if c in fresh.columns]
        fresh = fresh.select(*first, pl.exclude(first))
        ui.table(fresh, "health_freshness", empty="No freshness report.", key="health-freshness")
    except data.FeatureMissing as exc:
        ui.missing(
            f"the freshness report ({exc}). The per-instrument ages below come from the bars."
        )

    st.subheader("Instruments")
    inst = operations.health_instruments()
    ui.table(
        inst,
        "health_instruments",
        empty="No bars stored yet.",
        column_config={
            "age_hours": st.column_config.NumberColumn("age of newest bar (h)", format="%.1f")
        },
        key="health-instruments",
    )
    st.caption(
        "Gaps: over the last 7 days of data, steps longer than one bar that start while the "
        "instrument's market is open (tw_in_session); session closures are not gaps."
    )
    unavailable = data.instruments().filter(~pl.col("available"))
    if unavailable.height:
        st.markdown("**Unavailable instruments**")
        ui.table(
            unavailable.select("instrument_id", "source", "unavailable_reason"),
            "health_unavailable",
            key="health-unavailable",
        )

    st.subheader("Rejected input")
    ui.table(
        operations.health_rejects(),
        "health_rejects",
        empty="Nothing was rejected.",
        key="health-rejects",
    )


ui.run_page("Data health", lambda: live.auto_update(body, "health"))
