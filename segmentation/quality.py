"""Cluster quality on bounded samples: silhouette, Calinski–Harabasz, Davies–Bouldin,
and bootstrap stability.

Silhouette is O(m²) in the number of points, so it is always computed on a seeded
sub-sample of at most ``silhouette_sample`` points; Calinski–Harabasz and
Davies–Bouldin are O(n·k) and use the whole training sample. Nothing here ever sees
all customers.

Stability (Hennig's bootstrap scheme): refit the same algorithm with the same k on
``B`` bootstrap resamples of the training sample, assign the reference points with
each refit, and compare with the reference labels:

* ``stability_ari`` = mean adjusted Rand index over the resamples (1 = identical
  partitions, about 0 = unrelated);
* ``segment_jaccard[i]`` = mean over resamples of the best Jaccard overlap between
  reference cluster ``i`` and any cluster of the refit. Values below about 0.6 mark a
  segment that does not reliably reappear.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from segmentation.algorithms import ClusterModel, assign
from segmentation.sampling import subsample_indices


def _valid_labels(labels: np.ndarray) -> tuple[np.ndarray, bool]:
    mask = labels >= 0
    usable = mask.sum() >= 3 and 2 <= np.unique(labels[mask]).size < mask.sum()
    return mask, bool(usable)


def separation_metrics(
    points: np.ndarray, labels: np.ndarray, silhouette_sample: int, seed: int
) -> tuple[float | None, float | None, float | None]:
    """(silhouette, Calinski–Harabasz, Davies–Bouldin); ``None`` where undefined.

    Outliers (label -1) are left out. The metrics need at least two clusters and
    fewer clusters than points.
    """
    mask, usable = _valid_labels(labels)
    if not usable:
        return None, None, None
    pts, lab = points[mask], labels[mask]
    idx = subsample_indices(len(pts), silhouette_sample, seed)
    sil: float | None
    if np.unique(lab[idx]).size >= 2 and np.unique(lab[idx]).size < len(idx):
        sil = float(silhouette_score(pts[idx], lab[idx]))
    else:
        sil = None
    ch = float(calinski_harabasz_score(pts, lab))
    db = float(davies_bouldin_score(pts, lab))
    return sil, ch, db


def jaccard_best_match(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """For each reference cluster, the best Jaccard overlap with any cluster of ``other``."""
    out: dict[int, float] = {}
    ref_ids = np.unique(reference)
    other_ids = np.unique(other)
    n_other = int(other_ids.max()) + 2 if other_ids.size else 1
    sizes = np.bincount(other + 1, minlength=n_other)
    for r in ref_ids:
        in_ref = reference == r
        inter = np.bincount(other[in_ref] + 1, minlength=n_other)
        union = in_ref.sum() + sizes - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            jac = np.where(union > 0, inter / union, 0.0)
        out[int(r)] = float(jac.max()) if jac.size else 0.0
    return out


def bootstrap_stability(
    points: np.ndarray,
    reference: ClusterModel,
    refit: Callable[[np.ndarray, int], ClusterModel],
    resamples: int,
    sample_size: int,
    seed: int,
) -> tuple[float | None, dict[int, float]]:
    """Mean ARI and per-cluster Jaccard of refits on bootstrap resamples.

    ``refit(resample, i)`` fits the same algorithm and k on a resample and returns the
    model; both models then assign the same reference points.
    """
    if resamples < 1 or reference.k < 2 or len(points) < 10:
        return None, {}
    ref_idx = subsample_indices(len(points), sample_size, seed)
    ref_points = points[ref_idx]
    ref_labels, _ = assign(reference, ref_points)
    rng = np.random.default_rng(seed + 1)
    aris: list[float] = []
    jaccards: dict[int, list[float]] = {}
    for i in range(resamples):
        boot = points[rng.integers(0, len(points), size=min(len(points), sample_size))]
        model = refit(boot, i)
        labels, _ = assign(model, ref_points)
        aris.append(float(adjusted_rand_score(ref_labels, labels)))
        for cluster, value in jaccard_best_match(ref_labels, labels).items():
            jaccards.setdefault(cluster, []).append(value)
    return float(np.mean(aris)), {c: float(np.mean(v)) for c, v in sorted(jaccards.items())}
