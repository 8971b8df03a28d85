"""Alerts: the configured rules and the alerts fired (read-only; rules live in tickerwire.toml)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, operations, ui


def body() -> None:
    """The Alerts page."""
    st.subheader("Rules")
    rules = operations.alert_rules()
    ui.table(
        rules,
        "alert_rules",
        empty="No alert rules: add [[alerts]] tables to tickerwire.toml (see the README).",
        key="alert-rules",
    )
    if rules.height and not rules["targets_set"].all():
        unset = sorted(set(rules.filter(~pl.col("targets_set"))["targets_env"].to_list()))
        st.caption(
            f"Not set in the environment: {', '.join('$' + u for u in unset)} — those rules' "
            "alerts are recorded (status no-target) but not sent."
        )

    st.subheader("History")
    try:
        hist = operations.alert_history()
    except data.FeatureMissing as exc:
        ui.missing(f"the alert history ({exc})")
        return
    if hist.height:
        failed = hist.filter(pl.col("status") == "failed")
        if failed.height:
            st.warning(
                f"{failed.height} alert(s) could not be delivered; newest: "
                f"{failed['error'][0] or 'no reason recorded'}"
            )
    # The event page link, relative to this app (the messages carry the absolute one).
    link = pl.when(pl.col("event_id").is_not_null()).then(
        pl.lit("/event?event=") + pl.col("event_id")
    )
    shown = hist.select(
        "fired_at", "rule", "title", "status", "attempts", "error", link.alias("event"), "is_test"
    )
    ui.table(
        shown,
        "alert_history",
        empty="No alert has fired yet.",
        column_config={"event": st.column_config.LinkColumn("event", display_text=r"event=(.*)$")},
        key="alert-history",
    )
    if hist.height:
        with st.expander("Newest message"):
            st.text(f"{hist['title'][0]}\n\n{hist['message'][0]}")


ui.run_page(
    "Alerts",
    body,
    caption="Rules from [[alerts]] in tickerwire.toml; evaluated after every refresh and by "
    "`tickerwire alerts test RULE`.",
)
