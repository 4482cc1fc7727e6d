"""Stable segment ids across refits: Hungarian matching of new to old centroids.

After a refit, each new cluster is paired with at most one previous segment so that
the total centroid distance is minimal (``scipy.optimize.linear_sum_assignment``). A
pair only counts when its distance is below ``threshold`` (in scaled feature units):
a new cluster that is far from every old one is a new meaning and gets a new id,
``max id ever issued + 1``. Ids of old segments that disappear are retired, never
handed to a different cluster later; the model keeps ``max_segment_id`` for that.

Id ``0`` is reserved for the HDBSCAN outlier micro-segment, so ordinary segments start
at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

OUTLIER_SEGMENT_ID = 0


@dataclass(frozen=True)
class Matching:
    segment_ids: tuple[int, ...]  # per new cluster, in the new clusters' order
    matched: dict[int, float]  # segment id -> centroid distance, for carried-over ids
    new_ids: tuple[int, ...]
    retired_ids: tuple[int, ...]
    max_segment_id: int


def match_segments(
    new_centroids: np.ndarray,
    old_centroids: np.ndarray | None,
    old_ids: list[int] | tuple[int, ...],
    max_segment_id: int,
    threshold: float,
    dims: np.ndarray | None = None,
) -> Matching:
    """Give each new cluster a segment id, reusing old ids where centroids match.

    ``old_centroids`` must already be expressed in the new model's scaled space
    (see :func:`segmentation.transforms.rescale_points`); ``dims`` optionally limits
    the distance to the columns both models share. New ids are issued in the order of
    the new clusters (callers sort clusters by size first, so numbering is
    deterministic).
    """
    k_new = new_centroids.shape[0]
    ids: list[int | None] = [None] * k_new
    matched: dict[int, float] = {}
    if old_centroids is not None and len(old_ids) and k_new:
        cols = np.arange(new_centroids.shape[1]) if dims is None else np.flatnonzero(dims)
        if cols.size:
            a = new_centroids[:, cols]
            b = old_centroids[:, cols]
            cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
            rows, cols_idx = linear_sum_assignment(cost)
            for r, c in zip(rows, cols_idx, strict=True):
                if cost[r, c] <= threshold:
                    ids[r] = int(old_ids[c])
                    matched[int(old_ids[c])] = float(cost[r, c])
    next_id = max(max_segment_id, OUTLIER_SEGMENT_ID)
    new_ids: list[int] = []
    final: list[int] = []
    for value in ids:
        if value is None:
            next_id += 1
            new_ids.append(next_id)
            final.append(next_id)
        else:
            final.append(value)
    retired = tuple(sorted(set(int(i) for i in old_ids) - set(final)))
    return Matching(tuple(final), matched, tuple(new_ids), retired, next_id)
