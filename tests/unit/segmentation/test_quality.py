"""Quality metrics on bounded samples and bootstrap stability."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from segmentation.algorithms import ClusterModel, fit_algorithm
from segmentation.config import parse_view_config
from segmentation.quality import bootstrap_stability, jaccard_best_match, separation_metrics


def _blobs(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    return centres[rng.integers(0, 3, 900)] + rng.normal(0, 0.5, (900, 2))


def test_separation_metrics_are_good_for_separated_blobs() -> None:
    points = _blobs()
    labels = fit_algorithm(points, 3, parse_view_config({"view": "v", "features": ["x"], "n_init": 2})).labels
    sil, ch, db = separation_metrics(points, labels, silhouette_sample=200, seed=0)
    assert sil is not None and sil > 0.8
    assert ch is not None and ch > 1000
    assert db is not None and db < 0.4


def test_metrics_are_undefined_for_one_cluster_and_ignore_outliers() -> None:
    points = _blobs()
    assert separation_metrics(points, np.zeros(len(points), dtype=int), 100, 0) == (None, None, None)
    labels = np.where(points[:, 0] > 4, 1, 0)
    labels[:5] = -1
    sil, _, _ = separation_metrics(points, labels, 500, 0)
    assert sil is not None


def test_jaccard_best_match() -> None:
    reference = np.array([0, 0, 0, 1, 1, 1])
    other = np.array([5, 5, 5, 5, 7, 7])
    result = jaccard_best_match(reference, other)
    assert result[0] == pytest.approx(3 / 4)
    assert result[1] == pytest.approx(2 / 3)


def _kmeans_refit(k: int) -> Callable[[np.ndarray, int], ClusterModel]:
    def refit(resample: np.ndarray, i: int) -> ClusterModel:
        config = parse_view_config({"view": "v", "features": ["x"], "seed": i, "n_init": 1})
        return fit_algorithm(resample, k, config).model

    return refit


def test_stability_is_high_for_real_structure_and_lower_for_noise() -> None:
    config = parse_view_config({"view": "v", "features": ["x"], "n_init": 2})
    points = _blobs()
    model = fit_algorithm(points, 3, config).model
    ari, jaccard = bootstrap_stability(points, model, _kmeans_refit(3), 4, 500, seed=0)
    assert ari is not None and ari > 0.95
    assert set(jaccard) == {0, 1, 2} and min(jaccard.values()) > 0.9

    noise = np.random.default_rng(1).uniform(0, 1, (900, 2))
    noise_model = fit_algorithm(noise, 7, config).model
    noise_ari, _ = bootstrap_stability(noise, noise_model, _kmeans_refit(7), 4, 500, seed=0)
    assert noise_ari is not None and noise_ari < ari


def test_stability_skipped_when_meaningless() -> None:
    single = ClusterModel("kmeans", np.zeros((1, 2)))
    assert bootstrap_stability(_blobs(), single, _kmeans_refit(1), 3, 100, 0) == (None, {})
