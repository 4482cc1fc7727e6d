"""Automatic choice of the number of segments.

The rule, applied to a seeded sub-sample of at most ``k_selection_sample`` training
points (so the sweep costs the same for 10 thousand or 10 million customers):

1. Candidates are ``k_min .. k_max``, capped at the number of distinct points and
   never below 2 (one segment is only used when the data has one distinct point).
2. For each candidate the configured algorithm is fitted and scored with the
   silhouette (on at most ``silhouette_sample`` points), Calinski–Harabasz (CH) and
   Davies–Bouldin (DB).
3. A candidate is *admissible* when its smallest segment holds at least
   ``max(min_segment_size, min_segment_share × n)`` points: a segment of a handful of
   customers is not actionable for a marketer.
4. Over the admissible candidates each metric is min–max normalised to [0, 1],
   oriented so that higher is better (DB is inverted; a metric that is equal for all
   candidates contributes 0.5). The score is the mean of the three.
5. The highest score wins; ties go to the smaller k (simpler to act on). If no
   candidate is admissible, the smallest candidate is used and the reason recorded.

Silhouette rewards compact, separated segments; CH rewards between/within variance
and on its own drifts to larger k on big samples; DB penalises segments that overlap
their nearest neighbour. Combining normalised values means no single metric's
quirk decides alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from segmentation.algorithms import fit_algorithm, ward_cut, ward_tree
from segmentation.config import ViewConfig
from segmentation.quality import separation_metrics
from segmentation.sampling import subsample_indices


@dataclass(frozen=True)
class KCandidate:
    k: int
    silhouette: float | None
    calinski_harabasz: float | None
    davies_bouldin: float | None
    smallest_share: float
    admissible: bool
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KSelection:
    k: int
    candidates: tuple[KCandidate, ...]
    reason: str


def n_distinct_rows(points: np.ndarray, limit: int) -> int:
    """Number of distinct rows, counting no further than ``limit``."""
    if len(points) == 0:
        return 0
    return min(int(np.unique(points, axis=0).shape[0]), limit)


def _normalise(values: list[float], higher_is_better: bool) -> list[float]:
    low, high = min(values), max(values)
    if high - low <= 1e-12:
        return [0.5] * len(values)
    scaled = [(v - low) / (high - low) for v in values]
    return scaled if higher_is_better else [1.0 - s for s in scaled]


def score_candidates(candidates: list[KCandidate]) -> list[KCandidate]:
    """Attach the combined score (step 4 of the rule) to admissible candidates."""
    usable = [
        c
        for c in candidates
        if c.admissible and None not in (c.silhouette, c.calinski_harabasz, c.davies_bouldin)
    ]
    if not usable:
        return candidates
    sil = _normalise([float(c.silhouette or 0.0) for c in usable], True)
    ch = _normalise([float(c.calinski_harabasz or 0.0) for c in usable], True)
    db = _normalise([float(c.davies_bouldin or 0.0) for c in usable], False)
    scores = {c.k: (s + h + d) / 3.0 for c, s, h, d in zip(usable, sil, ch, db, strict=True)}
    return [dataclasses.replace(c, score=scores.get(c.k)) for c in candidates]


def choose(candidates: list[KCandidate]) -> tuple[int, str]:
    """Step 5: best score, ties to the smaller k; fallback to the smallest candidate."""
    scored = [c for c in candidates if c.score is not None]
    if not scored:
        return candidates[0].k, "no candidate met the minimum segment size; used the smallest k"
    best = max(scored, key=lambda c: (round(float(c.score or 0.0), 9), -c.k))
    return best.k, "best combined silhouette/CH/DB score"


def select_k(points: np.ndarray, config: ViewConfig) -> KSelection:
    """Apply the documented rule; see the module docstring."""
    idx = subsample_indices(len(points), config.k_selection_sample, config.seed)
    sub = points[idx]
    distinct = n_distinct_rows(sub, config.k_max + 1)
    if distinct <= 1:
        return KSelection(1, (), "one distinct point: a single segment")
    k_high = min(config.k_max, distinct)
    k_low = min(max(config.k_min, 2), k_high)
    floor = max(config.min_segment_size, config.min_segment_share * len(sub))
    tree = ward_tree(sub[: config.hierarchical_sample]) if config.algorithm == "ward" else None
    candidates: list[KCandidate] = []
    for k in range(k_low, k_high + 1):
        if tree is not None:
            labels = ward_cut(tree, k)
            pts = sub[: len(labels)]
        else:
            labels = fit_algorithm(sub, k, config).labels
            pts = sub
        sizes = np.bincount(labels[labels >= 0], minlength=k)
        sil, ch, db = separation_metrics(pts, labels, config.silhouette_sample, config.seed)
        candidates.append(
            KCandidate(
                k=k,
                silhouette=sil,
                calinski_harabasz=ch,
                davies_bouldin=db,
                smallest_share=float(sizes.min() / max(len(labels), 1)),
                admissible=bool(sizes.min() >= floor and np.unique(labels).size == k),
            )
        )
    candidates = score_candidates(candidates)
    k, reason = choose(candidates)
    return KSelection(k, tuple(candidates), reason)
