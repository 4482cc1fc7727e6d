"""Calendar of the demo history: seasonality and timestamp sampling.

The history covers ``HISTORY_DAYS`` days ending at the generator's end date.
Days are addressed as *days ago* (0 = end date) because every persona is
defined by how long ago it bought. Each day gets a demand weight

    weekday factor (weekend peak) x month factor (November/December peak,
    Black Friday to Cyber Monday spike, quiet after Christmas) x a mild growth
    trend,

and order days are drawn by inverse-CDF sampling of those weights inside each
customer's own window, so seasonality shows up in every persona without
changing how recent or frequent it is.

Because the personas describe customers *as of the end date* (new customers
and the last orders of active ones fall in the final weeks, at-risk customers
stopped 200-420 days ago), the last two months before the end date are busier
and the half year before them quieter than the calendar alone would make them;
November and December still stand out in every earlier year.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

HISTORY_DAYS = 3 * 365 + 1
"""Length of the history in days (three years, end date included)."""

DEFAULT_END_DATE = date(2026, 10, 31)
"""Date of the newest order when the caller does not choose one."""

_EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400
MICROS_PER_SECOND = 1_000_000

_WEEKDAY_FACTOR = np.array([1.00, 0.95, 0.95, 1.00, 1.08, 1.22, 1.15])  # Monday first
_MONTH_FACTOR = np.array([0.85, 0.82, 0.92, 0.95, 1.00, 0.95, 0.90, 0.95, 1.00, 1.05, 1.50, 1.70])
_HOUR_WEIGHTS = np.array(
    [
        0.6,
        0.3,
        0.2,
        0.15,
        0.15,
        0.3,
        0.8,
        1.5,
        2.5,
        3.5,
        4.0,
        4.5,
        5.0,
        4.8,
        4.2,
        4.0,
        4.2,
        4.8,
        5.5,
        6.5,
        7.0,
        6.0,
        4.0,
        2.0,
    ]
)


def _black_friday(year: int) -> date:
    """Friday after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


class Calendar:
    """Demand weights per day and vectorised sampling of order timestamps."""

    def __init__(self, end_date: date) -> None:
        self.end_date = end_date
        self.start_date = end_date - timedelta(days=HISTORY_DAYS - 1)
        self.end_epoch_day = (end_date - _EPOCH).days
        ago = np.arange(HISTORY_DAYS)
        days = [end_date - timedelta(days=int(a)) for a in ago]
        weekday = np.array([d.weekday() for d in days])
        month = np.array([d.month for d in days])
        weights = _WEEKDAY_FACTOR[weekday] * _MONTH_FACTOR[month - 1]
        for i, d in enumerate(days):
            bf = _black_friday(d.year)
            if bf <= d <= bf + timedelta(days=3):
                weights[i] *= 2.0
            elif d.month == 12 and d.day >= 24:
                weights[i] *= 0.55
        years_from_start = (HISTORY_DAYS - 1 - ago) / 365.0
        weights *= 1.0 + 0.12 * years_from_start
        self.day_weights: npt.NDArray[np.float64] = weights
        self.month_by_days_ago: npt.NDArray[np.int8] = month.astype(np.int8)
        self._cumulative = np.cumsum(weights)
        self._hour_cumulative = np.cumsum(_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
        self._hour_cumulative[-1] = 1.0

    def sample_days_ago(
        self,
        rng: np.random.Generator,
        low: npt.NDArray[np.int64],
        high: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Draw one day per element in ``[low, high]`` days ago, by demand weight."""
        cum = self._cumulative
        below = np.where(low > 0, cum[np.maximum(low - 1, 0)], 0.0)
        top = cum[high]
        u = below + rng.random(low.shape[0]) * (top - below)
        drawn = np.searchsorted(cum, u, side="left").astype(np.int64)
        return np.clip(drawn, low, high)

    def timestamps_us(self, rng: np.random.Generator, days_ago: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Microsecond timestamps on the given days, with an intraday profile."""
        n = days_ago.shape[0]
        hour = np.searchsorted(self._hour_cumulative, rng.random(n), side="right")
        second_in_hour = rng.integers(0, 3600, size=n)
        seconds = (self.end_epoch_day - days_ago) * SECONDS_PER_DAY + hour * 3600 + second_in_hour
        return seconds.astype(np.int64) * MICROS_PER_SECOND

    def uniform_timestamps_us(
        self,
        rng: np.random.Generator,
        start_us: npt.NDArray[np.int64],
        end_us: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Whole-second timestamps drawn uniformly in ``[start_us, end_us]``."""
        span_s = np.maximum((end_us - start_us) // MICROS_PER_SECOND, 0)
        offset = (rng.random(start_us.shape[0]) * (span_s + 1)).astype(np.int64)
        return start_us + np.minimum(offset, span_s) * MICROS_PER_SECOND

    @property
    def end_of_history_us(self) -> int:
        """Last whole second of the end date: nothing is generated after it."""
        return ((self.end_epoch_day + 1) * SECONDS_PER_DAY - 1) * MICROS_PER_SECOND
