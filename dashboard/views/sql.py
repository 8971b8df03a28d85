"""SQL: a read-only console with a schema browser, example queries, a capped grid and CSV."""

from __future__ import annotations

import streamlit as st

from dashboard import operations, sandbox, ui

EXAMPLES = {
    "Bars per instrument": (
        "select instrument_id, timeframe, count(*) as n_bars, min(ts) as first_ts, max(ts) as last_ts\n"
        "from bars\ngroup by all\norder by instrument_id, timeframe"
    ),
    "Latest strip quotes": "select * from latest_quotes order by instrument_id",
    "Events with most reports": (
        "select event_at, title, category, n_articles, n_outlets\nfrom events\n"
        "order by n_articles desc, event_at desc\nlimit 20"
    ),
    "BTC hourly closes, last 3 days": (
        "with hourly as (\n    select time_bucket(interval 1 hour, ts) as hour, arg_max(close, ts) as close\n"
        "    from bars\n    where instrument_id = 'BTC' and timeframe = '1m'\n"
        "      and ts >= (select max(ts) from bars where instrument_id = 'BTC') - interval 3 day\n"
        "    group by 1\n),\nfinal as (\n    select hour, close, 100 * (close / lag(close) over (order by hour) - 1) as ret_pct\n"
        "    from hourly\n)\nselect * from final order by hour"
    ),
    "Reports of each event": (
        "select e.title as event, a.outlet, a.published_at, a.title\nfrom events e\n"
        "join event_articles ea using (event_id)\njoin articles a using (article_id)\n"
        "order by e.event_at desc, a.published_at\nlimit 100"
    ),
    "Last run per source": (
        "select source, max(started_at) as last_run, arg_max(status, started_at) as status\n"
        "from ingest_runs group by source order by source"
    ),
}


def schema_browser() -> None:
    """Tables and views with their columns."""
    schema = operations.schema()
    if schema.height == 0:
        st.caption("No tables.")
        return
    for (name, kind), cols in schema.group_by(["table_name", "kind"], maintain_order=True):
        with st.expander(f"{name} ({kind})"):
            st.markdown(
                "\n".join(
                    f"- `{c}` {t.lower()}"
                    for c, t in cols.select("column_name", "data_type").iter_rows()
                )
            )


def body() -> None:
    """The SQL page."""
    left, right = st.columns([1, 3])
    with left:
        st.markdown("**Schema**")
        schema_browser()
    with right:
        example = st.selectbox("Example queries", ["(write your own)", *EXAMPLES], key="example")
        if example != "(write your own)" and st.session_state.get("_last_example") != example:
            st.session_state["sql_text"] = EXAMPLES[example]
            st.session_state["_last_example"] = example
        st.session_state.setdefault("sql_text", EXAMPLES["Bars per instrument"])
        query = st.text_area("Query (read-only: one SELECT statement)", key="sql_text", height=180)
        c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
        timeout = c1.number_input(
            "Timeout (s)", 1.0, 30.0, sandbox.DEFAULT_TIMEOUT_S, step=1.0, key="timeout"
        )
        cap = int(
            c2.number_input(
                "Row cap", 10, 100_000, sandbox.DEFAULT_ROW_CAP, step=1000, key="row_cap"
            )
        )
        run = c3.button("Run query", type="primary", key="run")
        if not run and "sql_result" not in st.session_state:
            st.caption(
                "Runs in a sandbox: read-only, no file or network access, memory and threads capped, statement timeout."
            )
            return
        if run:
            st.session_state["sql_result"] = operations.run_console(
                query, timeout_s=timeout, row_cap=cap
            )
        result = st.session_state["sql_result"]
        if result.error:
            label = {
                "refused": "Refused",
                "timeout": "Timed out",
                "failed": "Query failed",
                "busy": "Busy",
            }[result.kind]
            st.error(f"{label}: {result.error}")
            return
        if result.frame.width == 0:
            st.info("The statement returned no columns.")
            return
        ui.table(
            result.frame,
            "query_result",
            empty="The query returned no rows.",
            key="sql-grid",
            labels=False,
        )
        st.caption(
            f"{result.frame.height:,} row(s) in {result.elapsed_s:.2f} s. "
            + (
                f"**Cut at the row cap of {result.row_cap:,} rows** — add a filter or a limit. "
                if result.truncated
                else f"Row cap: {result.row_cap:,} rows. "
            )
        )


ui.run_page("SQL console", body)
