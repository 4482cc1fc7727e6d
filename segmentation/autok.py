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
4. Among admissible candidates each metric votes for its best k: highest silhouette,
   highest CH, lowest DB. Values within a metric's tolerance of the best count as a
   tie and the tie goes to the smallest k (simpler to act on): silhouette and DB
   within 0.01 (about the sampling error of a 3 000-point silhouette), CH within 1 %.
   On a refit, the previous model's k gets one vote too (if admissible), so k only
   changes when the metrics clearly disagree with it.
5. A k with at least two votes wins; otherwise the silhouette's choice. If no
   candidate is admissible, the smallest candidate is used and the reason recorded.

Why a vote rather than a weighted sum: the three metrics live on different scales and
have known biases. CH keeps growing with k on large, skewed samples and DB can prefer
merging two close segments, while the silhouette scores every point's assignment
directly. Two metrics agreeing is strong evidence; otherwise the most direct measure
decides. Each candidate's ``score`` records its number of votes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
    centroids: np.ndarray | None = None  # the chosen candidate's fit, to seed the final fit


def n_distinct_rows(points: np.ndarray, limit: int) -> int:
    """Number of distinct rows, counting no further than ``limit``."""
    if len(points) == 0:
        return 0
    return min(int(np.unique(points, axis=0).shape[0]), limit)


SILHOUETTE_TOLERANCE = 0.01
DAVIES_BOULDIN_TOLERANCE = 0.01
CALINSKI_HARABASZ_RELATIVE_TOLERANCE = 0.01


def _smallest_near_best(candidates: list[KCandidate], value: Callable[[KCandidate], float], slack: float) -> int:
    """Smallest k whose (higher-is-better) value is within ``slack`` of the best."""
    best = max(value(c) for c in candidates)
    return min(c.k for c in candidates if value(c) >= best - slack)


def score_candidates(candidates: list[KCandidate], previous_k: int | None = None) -> list[KCandidate]:
    """Step 4: attach each admissible candidate's number of votes as its score."""
    usable = [
        c for c in candidates if c.admissible and None not in (c.silhouette, c.calinski_harabasz, c.davies_bouldin)
    ]
    if not usable:
        return candidates
    top_ch = max(float(c.calinski_harabasz or 0.0) for c in usable)
    best_sil = _smallest_near_best(usable, lambda c: float(c.silhouette or 0.0), SILHOUETTE_TOLERANCE)
    best_ch = _smallest_near_best(
        usable, lambda c: float(c.calinski_harabasz or 0.0), CALINSKI_HARABASZ_RELATIVE_TOLERANCE * top_ch
    )
    best_db = _smallest_near_best(usable, lambda c: -float(c.davies_bouldin or 0.0), DAVIES_BOULDIN_TOLERANCE)
    votes = {c.k: 0.0 for c in usable}
    for k in (best_sil, best_ch, best_db):
        votes[k] += 1.0
    if previous_k in votes:
        votes[previous_k] += 1.0
    # the silhouette's vote breaks a three-way split (step 5)
    votes[best_sil] += 0.5
    return [dataclasses.replace(c, score=votes.get(c.k)) for c in candidates]


def choose(candidates: list[KCandidate]) -> tuple[int, str]:
    """Steps 4-5: majority of votes, else silhouette; fallback to the smallest k."""
    scored = [c for c in candidates if c.score is not None]
    if not scored:
        return candidates[0].k, "no candidate met the minimum segment size; used the smallest k"
    best = max(scored, key=lambda c: (float(c.score or 0.0), -c.k))
    if (best.score or 0.0) >= 2.0:
        return best.k, "at least two votes (silhouette, CH, DB, previous k) agree"
    return best.k, "no majority among the votes: silhouette decides"


def select_k(points: np.ndarray, config: ViewConfig, previous_k: int | None = None) -> KSelection:
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
    centroids: dict[int, np.ndarray] = {}
    for k in range(k_low, k_high + 1):
        if tree is not None:
            labels = ward_cut(tree, k)
            pts = sub[: len(labels)]
        else:
            fit = fit_algorithm(sub, k, config)
            labels, centroids[k] = fit.labels, fit.model.centroids
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
    candidates = score_candidates(candidates, previous_k)
    k, reason = choose(candidates)
    return KSelection(k, tuple(candidates), reason, centroids.get(k))
