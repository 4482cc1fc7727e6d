"""Algorithms reduced to arrays: fitting, assignment, confidence, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from segmentation.algorithms import (
    OUTLIER,
    ClusterModel,
    assign,
    extend_init,
    fit_algorithm,
    squared_distances,
)
from segmentation.config import parse_view_config

CENTRES = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0], [6.0, 6.0]])


def _blobs(n_per: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(CENTRES)), n_per)
    return CENTRES[truth] + rng.normal(0, 0.6, (len(truth), 2)), truth


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch_kmeans", "gmm", "ward"])
def test_each_algorithm_recovers_separated_blobs(algorithm: str) -> None:
    points, truth = _blobs()
    config = parse_view_config({"view": "v", "features": ["x"], "algorithm": algorithm, "n_init": 2})
    fit = fit_algorithm(points, 4, config)
    assert fit.model.k == 4
    assert adjusted_rand_score(truth, fit.labels) > 0.95
    labels, confidence = assign(fit.model, points)
    assert adjusted_rand_score(truth, labels) > 0.95
    assert np.all((confidence >= 0) & (confidence <= 1))


def test_hdbscan_finds_clusters_and_flags_outliers() -> None:
    points, truth = _blobs(200)
    far = np.array([[30.0, 30.0], [-25.0, 40.0]])
    config = parse_view_config({"view": "v", "features": ["x"], "algorithm": "hdbscan", "hdbscan_min_cluster_size": 20})
    fit = fit_algorithm(np.vstack([points, far]), 0, config)
    assert fit.model.k == 4 and fit.model.radii is not None
    labels, confidence = assign(fit.model, far)
    assert labels.tolist() == [OUTLIER, OUTLIER]
    assert np.all(confidence > 0.5)  # far outside every radius
    assert adjusted_rand_score(truth, assign(fit.model, points)[0]) > 0.9


def test_hdbscan_on_structureless_data_gives_one_cluster() -> None:
    config = parse_view_config({"view": "v", "features": ["x"], "algorithm": "hdbscan", "hdbscan_min_cluster_size": 50})
    fit = fit_algorithm(np.random.default_rng(0).random((30, 2)), 0, config)
    assert fit.model.k == 1 and set(fit.labels.tolist()) == {0}


def test_margin_confidence_formula() -> None:
    model = ClusterModel("kmeans", np.array([[0.0], [10.0]]))
    labels, confidence = assign(model, np.array([[0.0], [2.0], [5.0], [9.0]]))
    assert labels.tolist() == [0, 0, 0, 1]
    assert confidence == pytest.approx([1.0, 1 - 2 / 8, 0.0, 1 - 1 / 9])


def test_single_cluster_is_fully_confident() -> None:
    labels, confidence = assign(ClusterModel("kmeans", np.zeros((1, 2))), np.ones((3, 2)))
    assert labels.tolist() == [0, 0, 0] and confidence.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_gmm_posteriors_match_scikit_learn(covariance: str) -> None:
    points, _ = _blobs(100)
    gm = GaussianMixture(4, covariance_type=covariance, random_state=0).fit(points)
    model = ClusterModel("gmm", gm.means_, gm.weights_, gm.covariances_, covariance)
    labels, confidence = assign(model, points)
    proba = gm.predict_proba(points)
    assert np.array_equal(labels, proba.argmax(axis=1))
    assert np.allclose(confidence, proba.max(axis=1), atol=1e-8)


def test_cluster_model_round_trips_through_json() -> None:
    points, _ = _blobs(50)
    config = parse_view_config({"view": "v", "features": ["x"], "algorithm": "gmm", "n_init": 1})
    model = fit_algorithm(points, 4, config).model
    restored = ClusterModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert np.array_equal(assign(restored, points)[0], assign(model, points)[0])
    assert np.allclose(assign(restored, points)[1], assign(model, points)[1])


def test_warm_start_from_given_centroids_keeps_their_order() -> None:
    points, _ = _blobs()
    config = parse_view_config({"view": "v", "features": ["x"]})
    fit = fit_algorithm(points, 4, config, init=CENTRES[::-1].copy())
    assert np.allclose(fit.model.centroids, CENTRES[::-1], atol=0.2)


def test_extend_init_keeps_previous_and_adds_far_points() -> None:
    points, _ = _blobs()
    init = extend_init(points, CENTRES[:2], 4, seed=0)
    assert init.shape == (4, 2) and np.array_equal(init[:2], CENTRES[:2])
    assert squared_distances(init[2:], CENTRES[:2]).min() > 4.0
    assert extend_init(points, CENTRES, 2, seed=0).tolist() == CENTRES[:2].tolist()


def test_squared_distances_never_negative() -> None:
    points = np.array([[1e8, 1e8]])
    assert squared_distances(points, points)[0, 0] >= 0.0
