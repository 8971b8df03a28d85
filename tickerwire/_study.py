"""`Study`: an event study's frames, its dashboard figures and a readable notebook view."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from pipelines.analytics import StudyResult, StudySpec


class Study:
    """The result of `Database.study`: Polars frames with the stable columns of the CLI's --level.

    ar: per (event, instrument, offset) of the event window: price, ret, expected, ar, car.
    car: per (event, instrument, CAR window): car, z, alpha, beta, sigma, placebo_p, ….
    summary: per offset: n, mean AR, CAAR and every test statistic with its p-value.
    placebo: per (event, instrument, CAR window): the empirical p-value from random instants.
    """

    def __init__(self, result: StudyResult) -> None:
        self.result = result

    @property
    def spec(self) -> StudySpec:
        """What was asked (events, instruments, windows, model)."""
        return self.result.spec

    @property
    def timeframe(self) -> str:
        """The bar size the study ran on (chosen when timeframe='auto')."""
        return self.result.timeframe

    @property
    def ar(self) -> pl.DataFrame:
        """Abnormal returns per event, instrument and offset."""
        return self.result.ar

    @property
    def car(self) -> pl.DataFrame:
        """Cumulative abnormal returns per event, instrument and CAR window."""
        return self.result.car

    @property
    def summary(self) -> pl.DataFrame:
        """The cross-section per offset: mean AR, CAAR and the test statistics."""
        return self.result.summary

    @property
    def placebo(self) -> pl.DataFrame:
        """Placebo p-values (empty unless the study asked for placebo draws)."""
        return self.result.placebo

    @property
    def placebo_draws(self) -> pl.DataFrame:
        """The placebo CARs behind `placebo`, one row per draw."""
        return self.result.placebo_draws

    @property
    def confounders(self) -> pl.DataFrame:
        """Other events inside each event's estimation or event window."""
        return self.result.confounders

    @property
    def notes(self) -> list[str]:
        """What the engine left out and why (missing bars, short estimation windows, …)."""
        return self.result.notes

    def plot(self) -> dict[str, go.Figure]:
        """The Study page's Plotly figures: "caar" (with its 95 % band), "car" heatmap, "placebo".

        A figure is left out when its frame is empty (no ARs, no CARs, no placebo draws).
        """
        from dashboard import (
            stat_charts,  # plotly loads on the first plot, not on `import tickerwire`
        )
        from pipelines.analytics import verdict

        figures: dict[str, go.Figure] = {}
        # The band the Study page draws: KP-adjusted for cross-sectional correlation.
        band = verdict.caar_band(self.ar, verdict.study_rbar(self.result))
        if band.height:
            figures["caar"] = stat_charts.caar_figure(
                band, unit=f"{self.timeframe} bars", band_name="95 % band (KP-adjusted)"
            )
        if self.car.height:
            lo, hi = self.spec.window
            widest = self.car.filter((pl.col("car_from") == lo) & (pl.col("car_to") == hi))
            figures["car"] = stat_charts.car_heatmap(widest if widest.height else self.car)
        if self.placebo.height and self.placebo_draws.height:
            row = self.placebo.row(0, named=True)
            keys = ("event_id", "instrument_id", "car_from", "car_to")
            draws = self.placebo_draws.filter(*[pl.col(k) == row[k] for k in keys])["car"]
            if row.get("car") is not None and draws.len():
                figures["placebo"] = stat_charts.placebo_histogram(draws.to_list(), row["car"])
        return figures

    def __repr__(self) -> str:
        n_events = self.car["event_id"].n_unique() if self.car.height else 0
        n_inst = self.car["instrument_id"].n_unique() if self.car.height else 0
        return (
            f"<tickerwire.Study {self.spec.model} model, {self.timeframe} bars, window "
            f"{list(self.spec.window)}: {n_events} event(s) × {n_inst} instrument(s), "
            f"{self.car.height} CAR row(s)>"
        )

    def _repr_html_(self) -> str:
        """A header, the CARs and the first rows of the statistics (Jupyter)."""
        parts = [f"<p><b>{html.escape(repr(self))}</b></p>"]
        if self.notes:
            notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes[:5])
            more = f"<li>… {len(self.notes) - 5} more</li>" if len(self.notes) > 5 else ""
            parts.append(f"<ul>{notes}{more}</ul>")
        shown = self.car.select(
            [c for c in ("event_id", "instrument_id", "car_from", "car_to", "car", "z")]
        )
        parts.append("<p>CAR</p>" + shown._repr_html_())
        stats = self.summary.select(
            [c for c in ("offset", "n", "mean_ar", "caar", "t_test_p", "bmp_p")]
        )
        parts.append("<p>Statistics per offset</p>" + stats.head(40)._repr_html_())
        return "".join(parts)
