"""Fit, refit and score one view: the steps the dbt models call, as pure functions.

``decide_refit`` says whether the stored model can be reused; ``fit_view`` fits a new
version on the training sample (warm-started from, and matched to, the previous one);
``score_frame`` assigns a batch of customers with a stored model. None of them touch
a warehouse; :mod:`segmentation.dbt_entry` moves data in and out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.algorithms import (
    OUTLIER,
    ClusterModel,
    assign,
    extend_init,
    fit_algorithm,
)
from segmentation.autok import n_distinct_rows, select_k
from segmentation.config import ResolvedFeatures, ViewConfig, resolve_features
from segmentation.drift import build_reference, psi
from segmentation.matching import OUTLIER_SEGMENT_ID, match_segments
from segmentation.model_store import SegmentModel
from segmentation.naming import name_segments
from segmentation.profiles import ProfileAccumulator
from segmentation.quality import bootstrap_stability, separation_metrics
from segmentation.transforms import (
    TransformParams,
    apply_transform,
    fit_transform_params,
    rescale_points,
)

Logger = Callable[[str], None]
WARM_STARTABLE = ("kmeans", "minibatch_kmeans", "gmm")

ASSIGNMENT_COLUMNS: dict[str, str] = {
    "customer_id": "object",  # opaque: any type, passed through unchanged
    "as_of_date": "datetime64[us]",
    "view": "string",
    "segment_id": "Int64",
    "segment_name": "string",
    "confidence": "Float64",
    "model_version": "Int64",
}


class ViewSkipped(Exception):
    """The view cannot be fitted (no usable feature, no customers); the message says why."""


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class RefitDecision:
    fit: bool
    reason: str
    psi: dict[str, float] = field(default_factory=dict)

    @property
    def max_psi(self) -> float | None:
        return max(self.psi.values()) if self.psi else None


def usable_features(config: ViewConfig, columns: list[str]) -> ResolvedFeatures:
    """Resolve the view's features or raise :class:`ViewSkipped` with the reason."""
    resolved = resolve_features(config, columns)
    if resolved.empty:
        raise ViewSkipped(
            f"view {config.view!r}: none of the configured features {list(config.features)} "
            f"exist in the input (its source table or model is probably absent)"
        )
    return resolved


def decide_refit(
    previous: SegmentModel | None,
    config: ViewConfig,
    sample: pd.DataFrame,
    refit_requested: bool,
) -> RefitDecision:
    """Whether to fit a new model version, and why (checked in this order):

    no stored model; a refit requested by var; the view configuration changed; a
    column the stored model uses has gone; the largest feature PSI exceeds
    ``drift_threshold``. Otherwise the stored model is reused and scoring is
    reproducible.
    """
    if previous is None:
        return RefitDecision(True, "initial fit")
    if refit_requested:
        return RefitDecision(True, "refit requested")
    if previous.config_fingerprint != config.fingerprint():
        return RefitDecision(True, "view configuration changed")
    missing = [c for c in previous.transform.input_columns if c not in sample.columns]
    if missing:
        return RefitDecision(True, f"input columns {missing} are no longer present")
    if previous.drift_reference is None or len(sample) == 0:
        return RefitDecision(False, "stored model reused")
    scores = psi(previous.drift_reference, apply_transform(previous.transform, sample))
    worst = max(scores, key=lambda c: scores[c]) if scores else None
    if worst is not None and scores[worst] > config.drift_threshold:
        return RefitDecision(True, f"drift: PSI {scores[worst]:.3f} on {worst} > {config.drift_threshold}", scores)
    return RefitDecision(False, "stored model reused", scores)


def _order_by_size(fit_model: ClusterModel, labels: np.ndarray) -> tuple[ClusterModel, np.ndarray]:
    """Drop empty clusters and order the rest by size (largest first), deterministically."""
    k = fit_model.k
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    keep = [i for i in range(k) if sizes[i] > 0] or [0]
    order = np.array(
        sorted(keep, key=lambda i: (-int(sizes[i]), tuple(np.round(fit_model.centroids[i], 9)))),
        dtype=np.int64,
    )
    remap = np.full(k, OUTLIER, dtype=np.int64)
    remap[order] = np.arange(len(order))
    new_labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], OUTLIER)
    return fit_model.reorder(order), new_labels


def _single_cluster(points: np.ndarray, algorithm: str) -> tuple[ClusterModel, np.ndarray]:
    centroid = points.mean(axis=0, keepdims=True) if len(points) else np.zeros((1, points.shape[1]))
    model = ClusterModel(algorithm, centroid)
    if algorithm == "gmm":
        d = points.shape[1]
        model = ClusterModel("gmm", centroid, weights=np.ones(1), covariances=np.eye(d)[None, :, :])
    return model, np.zeros(len(points), dtype=np.int64)


def _choose_k(
    points: np.ndarray, config: ViewConfig, log: Logger, previous_k: int | None = None
) -> tuple[int | None, dict[str, Any], np.ndarray | None]:
    """k to fit (``None`` for HDBSCAN, which finds its own), the selection record, and
    the centroids of the chosen candidate's fit (to seed the final fit with the very
    solution that was scored)."""
    if config.algorithm == "hdbscan":
        return None, {"rule": "hdbscan chooses its own number of clusters"}, None
    if config.k is not None:
        distinct = n_distinct_rows(points, max(config.k, config.k_max) + 1)
        k = min(config.k, distinct)
        if k < config.k:
            log(f"view {config.view!r}: only {distinct} distinct customers; k reduced from {config.k} to {k}")
        return k, {"rule": "fixed k", "requested": config.k, "k": k}, None
    selection = select_k(points, config, previous_k)
    record = {
        "rule": "automatic",
        "k": selection.k,
        "reason": selection.reason,
        "candidates": [c.to_dict() for c in selection.candidates],
    }
    return selection.k, record, selection.centroids


def _warm_start(
    previous: SegmentModel | None, transform: TransformParams
) -> tuple[np.ndarray | None, np.ndarray | None, list[int]]:
    """Previous centroids in the new space (largest segment first), shared dims, ids."""
    if previous is None or previous.clusters.centroids.size == 0:
        return None, None, []
    mapped, shared = rescale_points(previous.transform, transform, previous.clusters.centroids)
    sizes = [previous.training_sizes.get(i, 0) for i in previous.segment_ids]
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], previous.segment_ids[i]))
    return mapped[order], shared, [previous.segment_ids[i] for i in order]


def _initial_centroids(
    points: np.ndarray,
    k: int | None,
    config: ViewConfig,
    previous: np.ndarray | None,
    selected: np.ndarray | None,
) -> np.ndarray | None:
    """Where the final fit of an iterative algorithm starts.

    * a refit with the same k starts from the previous centroids (warm start), so
      unchanged customers stay where they were;
    * otherwise, the centroids of the automatic-k candidate that won, so the model
      is the solution that was scored;
    * a fixed-k refit whose k changed keeps the previous centroids it can and adds
      k-means++ seeds;
    * else ``None``: a fresh fit with ``n_init`` restarts.
    """
    if config.algorithm not in WARM_STARTABLE or k is None:
        return None
    shape = (k, points.shape[1])
    if previous is not None and previous.shape == shape:
        return previous
    if selected is not None and selected.shape == shape:
        return selected
    if previous is not None:
        return extend_init(points, previous, k, config.seed)
    return None


def single_threaded() -> Any:
    """Limit BLAS and OpenMP to one thread while fitting and scoring.

    Every array here is small (at most ``sample_size`` rows to fit, ``chunk_size``
    rows to score), where multi-threaded k-means spends its time synchronising: on
    this project's 2-core benchmark machine, with dbt running two Python models side
    by side, a 5 000-point k-means sweep took 100 times longer with OpenMP threads
    than without. One thread per model also means two models never oversubscribe the
    cores.
    """
    return threadpool_limits(limits=1)


def fit_view(
    sample: pd.DataFrame,
    config: ViewConfig,
    *,
    as_of_date: date | None,
    previous: SegmentModel | None,
    version: int,
    max_segment_id: int,
    n_customers: int,
    fit_reason: str,
    fitted_at: datetime,
    log: Logger = _noop,
) -> SegmentModel:
    """Fit a new model version for one view on the training ``sample``.

    ``previous`` (may be ``None``) warm-starts the iterative algorithms and is the
    reference for id matching; ``max_segment_id`` is the largest id ever issued for
    the view, so new segments never reuse an id.
    """
    with single_threaded():
        if len(sample) == 0:
            raise ViewSkipped(f"view {config.view!r}: no customers in scope")
        resolved = usable_features(config, list(sample.columns))
        if resolved.missing_patterns:
            log(
                f"view {config.view!r}: no columns match {list(resolved.missing_patterns)}; "
                f"fitting on {list(resolved.all)}"
            )
        transform = fit_transform_params(sample, resolved, config)
        if transform.dropped:
            log(f"view {config.view!r}: dropped features {transform.dropped}")
        points = apply_transform(transform, sample)
        quality: dict[str, Any] = {"dropped_features": transform.dropped, "n_features": points.shape[1]}

        selected: np.ndarray | None = None
        if points.shape[1] == 0 and len(sample) > 1:
            # e.g. no products table: the affinity columns exist but are empty or constant
            raise ViewSkipped(
                f"view {config.view!r}: no usable feature, every one is constant or missing: {transform.dropped}"
            )
        if points.shape[1] == 0:
            log(f"view {config.view!r}: a single customer; one segment")
            k: int | None = 1
            quality["k_selection"] = {"rule": "no usable feature", "k": 1}
        else:
            previous_k = None if previous is None else previous.k
            k, quality["k_selection"], selected = _choose_k(points, config, log, previous_k)

        prev_centroids, shared, prev_ids = _warm_start(previous, transform)
        if k == 1:
            cluster_model, labels = _single_cluster(points, config.algorithm)
        else:
            init = _initial_centroids(points, k, config, prev_centroids, selected)
            fit = fit_algorithm(points, k or 0, config, init)
            cluster_model, labels = fit.model, fit.labels
        cluster_model, labels = _order_by_size(cluster_model, labels)

        matching = match_segments(
            cluster_model.centroids, prev_centroids, prev_ids, max_segment_id, config.match_threshold, shared
        )
        seg_ids = np.asarray(matching.segment_ids, dtype=np.int64)
        label_ids = np.where(labels >= 0, seg_ids[np.maximum(labels, 0)], OUTLIER_SEGMENT_ID)
        quality["matching"] = {
            "previous_version": None if previous is None else previous.model_version,
            "matched": {str(k_): v for k_, v in matching.matched.items()},
            "new_ids": list(matching.new_ids),
            "retired_ids": list(matching.retired_ids),
        }

        sil, ch, db = separation_metrics(points, labels, config.silhouette_sample, config.seed)
        n_clusters = cluster_model.k

        def refit(resample: np.ndarray, i: int) -> ClusterModel:
            # the same method (algorithm, k, restarts) on a resample, as in Hennig's scheme
            boot_cfg = dataclasses.replace(config, seed=config.seed + 1 + i)
            return fit_algorithm(resample, n_clusters, boot_cfg).model

        ari: float | None = None
        jaccard: dict[int, float] = {}
        if n_clusters >= 2:
            ari, jaccard = bootstrap_stability(
                points,
                cluster_model,
                refit,
                config.stability_resamples,
                config.stability_sample,
                config.seed,
            )
        quality.update(
            silhouette=sil,
            calinski_harabasz=ch,
            davies_bouldin=db,
            stability_ari=ari,
            segment_jaccard={str(int(seg_ids[c])): v for c, v in jaccard.items() if c >= 0},
            outlier_share=float(np.mean(labels == OUTLIER)) if len(labels) else 0.0,
        )

        profiler = ProfileAccumulator.for_transform(transform)
        profiler.add(label_ids, sample)
        profiles = profiler.result()
        # a segment matched closely keeps its name; one that moved far is renamed
        keep = (
            {}
            if previous is None
            else {
                int(seg): previous.segment_names[int(seg)]
                for seg, distance in matching.matched.items()
                if int(seg) in previous.segment_names
                and distance <= config.match_threshold / 2
                and previous.k == cluster_model.k  # with a different k the z-scores mean something else
            }
        )
        names = name_segments(
            {p.segment_id: p.z_scores for p in profiles},
            outlier_id=OUTLIER_SEGMENT_ID if cluster_model.radii is not None else None,
            keep=keep,
        )
        for seg in matching.segment_ids:
            names.setdefault(int(seg), f"Segment {seg}")
        if cluster_model.radii is not None:
            names.setdefault(OUTLIER_SEGMENT_ID, "Outliers")

        return SegmentModel(
            view=config.view,
            model_version=version,
            algorithm=config.algorithm,
            fitted_at=fitted_at,
            training_as_of_date=as_of_date,
            fit_reason=fit_reason,
            features=tuple(transform.input_columns),
            transform=transform,
            clusters=cluster_model,
            segment_ids=tuple(int(i) for i in matching.segment_ids),
            segment_names=names,
            max_segment_id=matching.max_segment_id,
            config=config.to_dict(),
            config_fingerprint=config.fingerprint(),
            n_customers=n_customers,
            n_train=len(sample),
            quality=quality,
            drift_reference=build_reference(points, transform.output_columns),
            training_sizes={p.segment_id: p.size for p in profiles},
        )


def score_frame(model: SegmentModel, frame: pd.DataFrame, chunk_size: int = 100_000) -> pd.DataFrame:
    """Assign every row of ``frame`` (needs ``customer_id`` and the model's features).

    Rows are processed ``chunk_size`` at a time so the distance matrices stay small.
    """
    parts: list[pd.DataFrame] = []
    with single_threaded():
        for start in range(0, len(frame), max(chunk_size, 1)):
            chunk = frame.iloc[start : start + chunk_size]
            labels, confidence = assign(model.clusters, apply_transform(model.transform, chunk))
            ids = model.ids_for(labels)
            present, index = np.unique(ids, return_inverse=True)
            names = np.array([model.name_of(int(s)) for s in present], dtype=object)[index]
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": chunk["customer_id"].to_numpy(),
                        "as_of_date": chunk["as_of_date"].to_numpy() if "as_of_date" in chunk else pd.NaT,
                        "view": model.view,
                        "segment_id": ids,
                        "segment_name": names,
                        "confidence": np.round(confidence, 6),
                        "model_version": model.model_version,
                    }
                )
            )
    if not parts:
        return empty_assignments()
    out = pd.concat(parts, ignore_index=True)
    dtypes = {c: t for c, t in ASSIGNMENT_COLUMNS.items() if c != "customer_id"}  # keys keep their own dtype
    return out.astype(dtypes)


def empty_assignments() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ASSIGNMENT_COLUMNS.items()})
