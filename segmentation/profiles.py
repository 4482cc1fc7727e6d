"""Segment profiles: size, share, per-feature means and z-scores.

Profiles are accumulated batch by batch (sums and counts per segment and feature), so
profiling a million customers holds k × features numbers, not the customers. Means are
in the feature's own units (days, currency, shares); the z-score of a segment on a
feature is ``(segment mean − population mean) / population standard deviation``, which
says how unusual the segment is on that feature and drives the generated names. For
features the view log-transforms (money, counts) the z-score is taken on the log scale,
the scale the clustering sees; otherwise one big spender would make every other
segment look average.
Categorical features are profiled as the share of each level (one-hot means).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segmentation.transforms import TransformParams, numeric_column, signed_log1p


@dataclass(frozen=True)
class SegmentProfile:
    segment_id: int
    size: int
    share: float
    means: dict[str, float | None] = field(default_factory=dict)
    z_scores: dict[str, float | None] = field(default_factory=dict)


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


class ProfileAccumulator:
    """Streaming per-segment feature sums; call :meth:`add` per batch, then :meth:`result`."""

    def __init__(
        self,
        numeric: Sequence[str],
        categorical: Mapping[str, Sequence[str]] | None = None,
        log_features: Sequence[str] = (),
    ) -> None:
        self.numeric = list(numeric)
        self._log_mask = np.array(
            [name in set(log_features) for name in self.numeric]
            + [False] * sum(len(v) for v in (categorical or {}).values()),
            dtype=bool,
        )
        self.categorical = {k: list(v) for k, v in (categorical or {}).items()}
        self.columns = self.numeric + [
            f"{name}={level}" for name, levels in self.categorical.items() for level in levels
        ]
        width = len(self.columns)
        self._seg_sum: dict[int, np.ndarray] = {}
        self._seg_zsum: dict[int, np.ndarray] = {}
        self._seg_cnt: dict[int, np.ndarray] = {}
        self._seg_size: dict[int, int] = {}
        self._pop_sum = np.zeros(width)
        self._pop_sq = np.zeros(width)
        self._pop_cnt = np.zeros(width)

    @classmethod
    def for_transform(cls, transform: TransformParams) -> ProfileAccumulator:
        """Profiles of the features a fitted transform uses, z-scored on its log scale."""
        return cls(
            [p.name for p in transform.numeric],
            {c.name: list(c.levels) for c in transform.categorical},
            [p.name for p in transform.numeric if p.log],
        )

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        cols = [numeric_column(frame, name) for name in self.numeric]
        for name, levels in self.categorical.items():
            series = frame[name].astype("string")
            for level in levels:
                cols.append((series == level).fillna(False).to_numpy(dtype=np.float64))
        if not cols:
            return np.empty((len(frame), 0))
        return np.column_stack(cols)

    def add(self, segment_ids: np.ndarray, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        values = self._matrix(frame)
        present = ~np.isnan(values)
        filled = np.where(present, values, 0.0)
        zbasis = filled.copy()
        zbasis[:, self._log_mask] = signed_log1p(zbasis[:, self._log_mask])
        self._pop_sum += zbasis.sum(axis=0)
        self._pop_sq += (zbasis**2).sum(axis=0)
        self._pop_cnt += present.sum(axis=0)
        segments, index = np.unique(np.asarray(segment_ids), return_inverse=True)
        n_seg = len(segments)

        def per_segment(matrix: np.ndarray) -> np.ndarray:
            """(n_seg, width) column sums per segment, one bincount per column."""
            out = np.zeros((n_seg, matrix.shape[1]))
            for j in range(matrix.shape[1]):
                out[:, j] = np.bincount(index, weights=matrix[:, j], minlength=n_seg)
            return out

        sums, zsums = per_segment(filled), per_segment(zbasis)
        counts = per_segment(present.astype(np.float64))
        sizes = np.bincount(index, minlength=n_seg)
        for i, seg in enumerate(segments):
            key = int(seg)
            self._seg_sum[key] = self._seg_sum.get(key, 0) + sums[i]
            self._seg_zsum[key] = self._seg_zsum.get(key, 0) + zsums[i]
            self._seg_cnt[key] = self._seg_cnt.get(key, 0) + counts[i]
            self._seg_size[key] = self._seg_size.get(key, 0) + int(sizes[i])

    def result(self) -> list[SegmentProfile]:
        total = sum(self._seg_size.values())
        with np.errstate(invalid="ignore", divide="ignore"):
            pop_mean = self._pop_sum / self._pop_cnt
            pop_var = self._pop_sq / self._pop_cnt - pop_mean**2
        pop_std = np.sqrt(np.maximum(pop_var, 0.0))
        profiles = []
        for seg in sorted(self._seg_size):
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = self._seg_sum[seg] / self._seg_cnt[seg]
                zmean = self._seg_zsum[seg] / self._seg_cnt[seg]
                z = np.where(pop_std > 1e-12, (zmean - pop_mean) / pop_std, 0.0)
            profiles.append(
                SegmentProfile(
                    segment_id=seg,
                    size=self._seg_size[seg],
                    share=self._seg_size[seg] / total if total else 0.0,
                    means={c: _finite_or_none(m) for c, m in zip(self.columns, mean, strict=True)},
                    z_scores={c: _finite_or_none(v) for c, v in zip(self.columns, z, strict=True)},
                )
            )
        return profiles


def profile_frame(
    frame: pd.DataFrame,
    segment_ids: np.ndarray,
    numeric: Sequence[str],
    categorical: Mapping[str, Sequence[str]] | None = None,
    log_features: Sequence[str] = (),
) -> list[SegmentProfile]:
    """Profiles of one in-memory frame (the training sample at fit time)."""
    acc = ProfileAccumulator(numeric, categorical, log_features)
    acc.add(segment_ids, frame)
    return acc.result()
