"""Clustering algorithms behind one interface: fit on a sample, assign everyone.

Every algorithm is reduced to a :class:`ClusterModel` made of plain arrays
(centroids, and for the Gaussian mixture its weights and covariances, for HDBSCAN a
membership radius per cluster). That is what gets stored as JSON and what scoring
uses, so scoring needs no pickled scikit-learn object and works the same on any
warehouse. Cluster *indices* here are positions 0..k-1; the stable segment ids are
attached by :mod:`segmentation.model_store`.

Assignment and confidence (documented formulas):

* centroid algorithms (k-means, mini-batch k-means, Ward): the nearest centroid, and
  ``confidence = 1 - d1 / d2`` where ``d1`` and ``d2`` are the distances to the nearest
  and second-nearest centroid: 1 at a centroid, 0 on the boundary between two
  segments; 1 when there is only one segment;
* Gaussian mixture: the component with the highest posterior, and that posterior;
* HDBSCAN: the nearest cluster centroid if the point lies within that cluster's
  radius (95th percentile of its training members' distances), with the same margin
  confidence; otherwise the outlier segment (index -1) with
  ``confidence = 1 - radius / d1`` (how clearly the point lies outside).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture

from segmentation.config import ViewConfig

OUTLIER = -1
_EPS = 1e-12


@dataclass(frozen=True)
class ClusterModel:
    """A fitted clustering as plain arrays (all in the scaled feature space)."""

    algorithm: str
    centroids: np.ndarray
    weights: np.ndarray | None = None
    covariances: np.ndarray | None = None
    covariance_type: str = "full"
    radii: np.ndarray | None = None

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "algorithm": self.algorithm,
            "centroids": self.centroids.tolist(),
        }
        if self.weights is not None:
            out["weights"] = self.weights.tolist()
        if self.covariances is not None:
            out["covariances"] = self.covariances.tolist()
            out["covariance_type"] = self.covariance_type
        if self.radii is not None:
            out["radii"] = self.radii.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterModel:
        def arr(key: str) -> np.ndarray | None:
            return None if data.get(key) is None else np.asarray(data[key], dtype=np.float64)

        centroids = np.asarray(data["centroids"], dtype=np.float64)
        if centroids.ndim == 1:
            centroids = centroids.reshape(-1, 1) if centroids.size else centroids.reshape(0, 0)
        return cls(
            algorithm=str(data["algorithm"]),
            centroids=centroids,
            weights=arr("weights"),
            covariances=arr("covariances"),
            covariance_type=str(data.get("covariance_type", "full")),
            radii=arr("radii"),
        )

    def reorder(self, order: np.ndarray) -> ClusterModel:
        """The same model with clusters permuted (``order[i]`` = old index of new i)."""
        return ClusterModel(
            algorithm=self.algorithm,
            centroids=self.centroids[order],
            weights=None if self.weights is None else self.weights[order],
            covariances=None if self.covariances is None else self.covariances[order],
            covariance_type=self.covariance_type,
            radii=None if self.radii is None else self.radii[order],
        )


def squared_distances(points: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, computed without an (n, k, d) temporary."""
    p2 = np.einsum("ij,ij->i", points, points)[:, None]
    c2 = np.einsum("ij,ij->i", centroids, centroids)[None, :]
    d2 = p2 - 2.0 * points @ centroids.T + c2
    return np.maximum(d2, 0.0)


def centroids_from_labels(points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean of each cluster's points; an empty cluster gets NaN (callers avoid that)."""
    sums = np.zeros((k, points.shape[1]))
    np.add.at(sums, labels, points)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def _margin_confidence(d_sorted: np.ndarray) -> np.ndarray:
    if d_sorted.shape[1] < 2:
        return np.ones(d_sorted.shape[0])
    d1, d2 = d_sorted[:, 0], d_sorted[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(d2 > _EPS, 1.0 - d1 / np.maximum(d2, _EPS), 1.0)
    return np.clip(conf, 0.0, 1.0)


def _gmm_log_resp(model: ClusterModel, points: np.ndarray) -> np.ndarray:
    """Log posterior responsibilities (n, k) of a Gaussian mixture, in numpy."""
    assert model.weights is not None and model.covariances is not None
    n, d = points.shape
    k = model.k
    log_prob = np.empty((n, k))
    for j in range(k):
        diff = points - model.centroids[j]
        if model.covariance_type == "diag":
            var = np.maximum(model.covariances[j], _EPS)
            maha = np.einsum("ij,ij->i", diff, diff / var)
            log_det = float(np.sum(np.log(var)))
        else:
            chol = np.linalg.cholesky(model.covariances[j])
            sol = np.linalg.solve(chol, diff.T)
            maha = np.einsum("ij,ij->j", sol, sol)
            log_det = 2.0 * float(np.sum(np.log(np.diag(chol))))
        log_prob[:, j] = -0.5 * (maha + log_det + d * np.log(2.0 * np.pi))
    log_prob += np.log(np.maximum(model.weights, _EPS))
    top = log_prob.max(axis=1, keepdims=True)
    log_norm = top + np.log(np.exp(log_prob - top).sum(axis=1, keepdims=True))
    return log_prob - log_norm


def assign(model: ClusterModel, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster index (``-1`` for an HDBSCAN outlier) and confidence in [0, 1] per row."""
    n = points.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if model.k == 1 and model.radii is None:
        return np.zeros(n, dtype=np.int64), np.ones(n)
    if model.algorithm == "gmm":
        resp = np.exp(_gmm_log_resp(model, points))
        labels = resp.argmax(axis=1)
        return labels.astype(np.int64), np.clip(resp[np.arange(n), labels], 0.0, 1.0)
    dist = np.sqrt(squared_distances(points, model.centroids))
    labels = dist.argmin(axis=1).astype(np.int64)
    d_sorted = np.sort(dist, axis=1)[:, :2]
    confidence = _margin_confidence(d_sorted)
    if model.radii is not None:
        radius = model.radii[labels]
        outside = d_sorted[:, 0] > radius
        labels = np.where(outside, OUTLIER, labels)
        with np.errstate(invalid="ignore", divide="ignore"):
            out_conf = 1.0 - radius / np.maximum(d_sorted[:, 0], _EPS)
        confidence = np.where(outside, np.clip(out_conf, 0.0, 1.0), confidence)
    return labels, confidence


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class FitResult:
    model: ClusterModel
    labels: np.ndarray  # cluster index per training row (-1 = outlier)


def fit_kmeans(points: np.ndarray, k: int, config: ViewConfig, init: np.ndarray | None = None) -> FitResult:
    km = KMeans(
        n_clusters=k,
        init=init if init is not None else "k-means++",
        n_init=1 if init is not None else config.n_init,
        random_state=config.seed,
        max_iter=300,
    )
    labels = km.fit_predict(points)
    return FitResult(ClusterModel("kmeans", km.cluster_centers_.astype(np.float64)), labels)


def fit_minibatch_kmeans(points: np.ndarray, k: int, config: ViewConfig, init: np.ndarray | None = None) -> FitResult:
    km = MiniBatchKMeans(
        n_clusters=k,
        init=init if init is not None else "k-means++",
        n_init=1 if init is not None else config.n_init,
        random_state=config.seed,
        batch_size=4096,
        max_no_improvement=20,
    )
    km.fit(points)
    model = ClusterModel("minibatch_kmeans", km.cluster_centers_.astype(np.float64))
    labels, _ = assign(model, points)
    return FitResult(model, labels)


def fit_gmm(points: np.ndarray, k: int, config: ViewConfig, init: np.ndarray | None = None) -> FitResult:
    gm = GaussianMixture(
        n_components=k,
        covariance_type=config.gmm_covariance,
        means_init=init,
        n_init=1 if init is not None else config.n_init,
        random_state=config.seed,
        reg_covar=1e-4,
        max_iter=200,
    )
    gm.fit(points)
    model = ClusterModel(
        "gmm",
        np.asarray(gm.means_, dtype=np.float64),
        weights=np.asarray(gm.weights_, dtype=np.float64),
        covariances=np.asarray(gm.covariances_, dtype=np.float64),
        covariance_type=config.gmm_covariance,
    )
    labels, _ = assign(model, points)
    return FitResult(model, labels)


def ward_tree(points: np.ndarray) -> np.ndarray:
    """Ward linkage matrix (O(m²) memory: callers pass a bounded sub-sample)."""
    return linkage(points, method="ward")


def ward_cut(tree: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k'-1 from cutting a Ward tree into at most ``k`` clusters."""
    raw = fcluster(tree, t=k, criterion="maxclust")
    _, labels = np.unique(raw, return_inverse=True)
    return labels.astype(np.int64)


def fit_ward(points: np.ndarray, k: int, config: ViewConfig, tree: np.ndarray | None = None) -> FitResult:
    """Ward on the first ``hierarchical_sample`` rows, extended to the rest by centroid."""
    m = min(len(points), config.hierarchical_sample)
    head = points[:m]
    tree = ward_tree(head) if tree is None else tree
    head_labels = ward_cut(tree, k)
    centroids = centroids_from_labels(head, head_labels, int(head_labels.max()) + 1)
    model = ClusterModel("ward", centroids)
    labels, _ = assign(model, points)
    return FitResult(model, labels)


def fit_hdbscan(points: np.ndarray, config: ViewConfig) -> FitResult:
    """HDBSCAN on a bounded sub-sample; clusters become centroids with a radius.

    Points outside every radius form the outlier micro-segment. If HDBSCAN finds no
    cluster at all, everyone falls into one cluster (and nobody is an outlier), which
    is the honest answer for structureless data.
    """
    m = min(len(points), config.hierarchical_sample)
    head = points[:m]
    min_size = config.hdbscan_min_cluster_size or max(5, m // 100)
    if m < max(min_size, 2):
        centroids = head.mean(axis=0, keepdims=True)
        return FitResult(ClusterModel("hdbscan", centroids), np.zeros(len(points), dtype=np.int64))
    raw = HDBSCAN(min_cluster_size=min_size, copy=True).fit_predict(head)
    clusters = np.unique(raw[raw >= 0])
    if clusters.size == 0:
        centroids = head.mean(axis=0, keepdims=True)
        return FitResult(ClusterModel("hdbscan", centroids), np.zeros(len(points), dtype=np.int64))
    centroids = np.vstack([head[raw == c].mean(axis=0) for c in clusters])
    radii = np.empty(len(clusters))
    for i, c in enumerate(clusters):
        members = head[raw == c]
        dist = np.sqrt(((members - centroids[i]) ** 2).sum(axis=1))
        radii[i] = max(float(np.quantile(dist, 0.95)), _EPS)
    model = ClusterModel("hdbscan", centroids, radii=radii)
    labels, _ = assign(model, points)
    return FitResult(model, labels)


def fit_algorithm(
    points: np.ndarray,
    k: int,
    config: ViewConfig,
    init: np.ndarray | None = None,
) -> FitResult:
    """Dispatch on ``config.algorithm``; ``init`` warm-starts the iterative ones."""
    if config.algorithm == "kmeans":
        return fit_kmeans(points, k, config, init)
    if config.algorithm == "minibatch_kmeans":
        return fit_minibatch_kmeans(points, k, config, init)
    if config.algorithm == "gmm":
        return fit_gmm(points, k, config, init)
    if config.algorithm == "ward":
        return fit_ward(points, k, config)
    if config.algorithm == "hdbscan":
        return fit_hdbscan(points, config)
    raise ValueError(f"unknown algorithm {config.algorithm!r}")


def extend_init(points: np.ndarray, previous: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Initial centroids for a warm-started refit with ``k`` clusters.

    Keeps up to ``k`` previous centroids (so matched clusters start where they were)
    and adds k-means++ style seeds (drawn proportional to squared distance from the
    centroids chosen so far) when the new k is larger.
    """
    rng = np.random.default_rng(seed)
    chosen = [row for row in previous[:k]]
    while len(chosen) < k:
        current = np.vstack(chosen) if chosen else points[:1]
        d2 = squared_distances(points, current).min(axis=1)
        total = float(d2.sum())
        idx = int(rng.integers(len(points)) if total <= _EPS else rng.choice(len(points), p=d2 / total))
        chosen.append(points[idx])
    return np.vstack(chosen).astype(np.float64)
