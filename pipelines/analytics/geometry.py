"""A study's geometry: bar length, estimation and event windows, as offsets or dates."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from pipelines.analytics.abnormal import Rows
from pipelines.analytics.alignment import Grid
from pipelines.analytics.spec import StudySpec
from pipelines.errors import DataError
from pipelines.schemas import TIMEFRAMES


@dataclass(frozen=True)
class Geometry:
    """Offsets and bar length of a study."""

    timeframe: str
    step_us: int
    daily: bool
    dates: bool
    l1: int
    l2: int
    t1: int
    t2: int
    ld: tuple[date, date] | None
    td: tuple[date, date] | None

    @classmethod
    def of(cls, spec: StudySpec, timeframe: str) -> Geometry:
        """The geometry of `spec` on `timeframe`."""
        step = TIMEFRAMES[timeframe]
        return cls(
            timeframe=timeframe,
            step_us=int(step / timedelta(microseconds=1)),
            daily=timeframe == "1d",
            dates=spec.window_dates is not None,
            l1=spec.estimation[0],
            l2=spec.estimation[1],
            t1=spec.window[0],
            t2=spec.window[1],
            ld=spec.estimation_dates,
            td=spec.window_dates,
        )

    @property
    def k_lo(self) -> int:
        """First offset needed on the grid (one before the first return)."""
        return min(self.l1, self.t1) - 1

    @property
    def k_hi(self) -> int:
        """Last offset needed on the grid."""
        return max(self.l2, self.t2)

    def with_offsets_of(self, rows: Rows) -> Geometry:
        """Date windows turned into the trading-day offsets they cover in the data."""
        est = rows.est_k
        ev = rows.event["k"]
        if len(est) == 0 or ev.len() == 0:
            raise DataError("no daily bars fall inside the estimation and event dates")
        return replace(
            self, l1=int(est.min()), l2=int(est.max()), t1=int(ev.min()), t2=int(ev.max())
        )

    def binds(self) -> dict[str, object]:
        """The bind parameters shared by the alignment queries."""
        ld = self.ld or (date(1970, 1, 1), date(1970, 1, 1))
        td = self.td or (date(1970, 1, 1), date(1970, 1, 1))
        return {
            "timeframe": self.timeframe,
            "k_lo": self.k_lo,
            "k_hi": self.k_hi,
            "l1": self.l1,
            "l2": self.l2,
            "t1": self.t1,
            "t2": self.t2,
            "dates": self.dates,
            "ld1": ld[0],
            "ld2": ld[1],
            "td1": td[0],
            "td2": td[1],
        }

    def grid(self, stale: int) -> Grid:
        """The intraday event-time grid of the array alignment."""
        return Grid(
            step_us=self.step_us,
            k_lo=self.k_lo,
            k_hi=self.k_hi,
            l1=self.l1,
            l2=self.l2,
            t1=self.t1,
            t2=self.t2,
            stale=stale,
        )
