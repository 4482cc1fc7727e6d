"""Automatic k: the documented vote over silhouette, CH and DB with a minimum size."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation import quality
from segmentation.autok import KCandidate, choose, score_candidates, select_k
from segmentation.config import parse_view_config


def _blobs(k: int, n: int = 1200, seed: int = 0, spread: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, (k, 3))
    return centres[rng.integers(0, k, n)] + rng.normal(0, spread, (n, 3))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_recovers_the_planted_number_of_clusters(k: int) -> None:
    config = parse_view_config({"view": "v", "features": ["x"], "k_min": 2, "k_max": 7, "n_init": 2})
    selection = select_k(_blobs(k, seed=k), config)
    assert selection.k == k
    assert selection.centroids is not None and selection.centroids.shape == (k, 3)
    assert [c.k for c in selection.candidates] == list(range(2, 8))


def _cand(k: int, sil: float, ch: float, db: float, admissible: bool = True) -> KCandidate:
    return KCandidate(k, sil, ch, db, 0.2, admissible)


def test_two_agreeing_metrics_outvote_the_silhouette() -> None:
    candidates = score_candidates([_cand(2, 0.6, 100, 0.9), _cand(3, 0.5, 300, 0.5), _cand(4, 0.4, 200, 0.7)])
    assert choose(candidates)[0] == 3


def test_without_majority_the_silhouette_decides() -> None:
    candidates = score_candidates([_cand(2, 0.6, 100, 0.8), _cand(3, 0.5, 300, 0.9), _cand(4, 0.4, 200, 0.5)])
    k, reason = choose(candidates)
    assert k == 2 and "silhouette decides" in reason


def test_silhouette_near_ties_go_to_the_smaller_k() -> None:
    candidates = score_candidates([_cand(4, 0.391, 100, 0.9), _cand(5, 0.395, 300, 0.5), _cand(3, 0.2, 200, 0.7)])
    assert [c.score for c in candidates] == [1.5, 2.0, 0.0]


def test_davies_bouldin_and_ch_near_ties_go_to_the_smaller_k() -> None:
    # the 1M-customer value view: DB 0.749 vs 0.748 is noise, not a vote for k=6
    candidates = score_candidates([_cand(5, 0.51, 6100, 0.749), _cand(6, 0.486, 6566, 0.748)])
    assert choose(candidates)[0] == 5
    candidates = score_candidates([_cand(3, 0.2, 1000, 0.9), _cand(4, 0.3, 1005, 0.5), _cand(5, 0.1, 1008, 0.95)])
    assert [c.score for c in candidates] == [1.0, 2.5, 0.0]  # CH within 1 % of the best: k=3 gets its vote


def test_previous_k_breaks_ties_on_refit() -> None:
    cands = [_cand(3, 0.6, 100, 0.9), _cand(4, 0.5, 200, 0.5), _cand(5, 0.3, 300, 0.7)]
    assert choose(score_candidates(cands))[0] == 3  # silhouette 3, CH 5, DB 4: no majority
    assert choose(score_candidates(cands, previous_k=4))[0] == 4  # DB and the previous k agree
    assert choose(score_candidates(cands, previous_k=9))[0] == 3  # a k that is no candidate gets nothing


def test_inadmissible_candidates_get_no_votes() -> None:
    candidates = score_candidates([_cand(2, 0.3, 100, 0.9), _cand(3, 0.9, 900, 0.1, admissible=False)])
    assert choose(candidates)[0] == 2
    assert choose([_cand(2, 0.3, 1, 1, False), _cand(3, 0.3, 1, 1, False)])[0] == 2


def test_minimum_segment_share_rejects_tiny_segments() -> None:
    rng = np.random.default_rng(0)
    main = rng.normal(0, 1, (1000, 2))
    tiny = rng.normal(30, 0.1, (10, 2))  # 1 % of customers, very far away
    config = parse_view_config({"view": "v", "features": ["x"], "k_min": 2, "k_max": 4, "min_segment_share": 0.05})
    selection = select_k(np.vstack([main, tiny]), config)
    assert not any(c.admissible for c in selection.candidates)
    assert selection.k == 2 and "minimum segment size" in selection.reason


def test_k_is_capped_by_distinct_points() -> None:
    points = np.repeat(np.array([[0.0], [5.0], [9.0]]), 20, axis=0)
    config = parse_view_config(
        {"view": "v", "features": ["x"], "k_max": 8, "min_segment_share": 0.0, "min_segment_size": 1}
    )
    selection = select_k(points, config)
    assert max(c.k for c in selection.candidates) == 3 and selection.k == 3
    assert select_k(np.zeros((20, 2)), config).k == 1


def test_silhouette_only_ever_sees_a_bounded_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = quality.silhouette_score

    def spy(points: np.ndarray, labels: np.ndarray) -> float:
        seen.append(len(points))
        return float(real(points, labels))

    monkeypatch.setattr(quality, "silhouette_score", spy)
    config = parse_view_config(
        {"view": "v", "features": ["x"], "k_max": 4, "silhouette_sample": 300, "k_selection_sample": 1500, "n_init": 1}
    )
    select_k(_blobs(3, n=20_000), config)
    assert seen and max(seen) <= 300


def test_ward_selection_reuses_one_tree() -> None:
    config = parse_view_config(
        {"view": "v", "features": ["x"], "algorithm": "ward", "k_max": 6, "hierarchical_sample": 800}
    )
    assert select_k(_blobs(4, seed=4), config).k == 4
