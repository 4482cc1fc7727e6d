"""Entry points for the thin dbt Python models in ``python_models/``.

Each function takes the objects a dbt Python model has (the ``dbt`` context object, the
platform ``session``, input relations and config values) and returns what the model
should materialise. Reading and writing goes through :mod:`segmentation.relations`;
the maths is in :mod:`segmentation.pipeline`.

Per view there are three models:

* ``segments__model_<view>`` (incremental): appends a new model version when a fit is
  needed (none stored, refit requested, configuration changed, inputs changed, or
  drift) and nothing otherwise, so the table is the view's model history;
* ``segments__assignments_<view>``: scores every customer with the newest model trained
  on or before the run's ``as_of_date``;
* ``segments__profiles_<view>``: size, share, means and z-scores per segment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from segmentation import relations
from segmentation.config import ConfigError, parse_bool, parse_view_config
from segmentation.model_store import (
    SegmentModel,
    model_for_date,
    models_frame,
    models_from_frame,
)
from segmentation.pipeline import (
    ViewSkipped,
    decide_refit,
    empty_assignments,
    fit_view,
    score_frame,
    usable_features,
)
from segmentation.profiles import ProfileAccumulator
from segmentation.sampling import BottomKSampler

FEATURES_MODEL = "customer_features"

PROFILE_COLUMNS: dict[str, str] = {
    "view": "string",
    "as_of_date": "datetime64[us]",
    "segment_id": "Int64",
    "segment_name": "string",
    "model_version": "Int64",
    "size": "Int64",
    "share": "Float64",
    "avg_confidence": "Float64",
    "feature_means": "string",
    "feature_z_scores": "string",
    "top_features": "string",
}


def _as_date(value: Any) -> date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def split_by_date(batch: pd.DataFrame) -> Iterator[tuple[date | None, pd.DataFrame]]:
    """Split a batch by its ``as_of_date`` (vectorised; usually a single date)."""
    if len(batch) == 0:
        return
    days = pd.to_datetime(batch["as_of_date"]).dt.normalize()
    unique = days.unique()
    if len(unique) == 1:
        yield _as_date(unique[0]), batch
        return
    for day in unique:
        mask = days.isna() if pd.isna(day) else days == day
        yield _as_date(day), batch[mask.to_numpy()]


def _stored_models(frame: pd.DataFrame) -> list[SegmentModel]:
    return models_from_frame(frame) if len(frame) else []


def build_model_versions(
    dbt: Any,
    session: Any,
    features: Any,
    settings: Mapping[str, Any] | None,
    overrides: Mapping[str, Any] | None = None,
    refit: Any = False,
) -> pd.DataFrame:
    """Body of ``segments__model_<view>``: zero or one new model version row."""
    try:
        config = parse_view_config(settings, overrides=overrides or {})
    except ConfigError as err:
        raise ConfigError(f"{dbt.this}: {err}") from err
    previous_rows = relations.read_table(session, str(dbt.this)) if dbt.is_incremental else pd.DataFrame()
    history = _stored_models(previous_rows)
    columns = relations.columns_of(features)
    try:
        resolved = usable_features(config, columns)
    except ViewSkipped as skipped:
        relations.log(f"SKIPPED {skipped}; its columns in customer_segments will be null")
        return models_frame([])

    latest_any = history[-1] if history else None
    # the stored models' columns too: the drift check applies their transforms to the sample
    needed = {"customer_id", "as_of_date", *resolved.all, *(c for m in history for c in m.transform.input_columns)}
    read = [c for c in columns if c in needed]
    sampler = BottomKSampler(config.sample_size, config.seed)
    as_of: date | None = None
    for batch in relations.iter_pandas(features, read, config.chunk_size):
        if len(batch):
            batch_max = _as_date(batch["as_of_date"].max())
            if batch_max is not None and (as_of is None or batch_max > as_of):
                as_of = batch_max
        sampler.add(batch)
    sample = sampler.result()
    if sampler.rows_seen == 0:
        relations.log(f"view {config.view!r}: SKIPPED, no customers in {FEATURES_MODEL}")
        return models_frame([])

    previous = model_for_date(history, as_of)
    decision = decide_refit(previous, config, sample, parse_bool(refit, name="segments_refit"))
    if not decision.fit:
        assert previous is not None
        psi_note = "" if decision.max_psi is None else f", max PSI {decision.max_psi:.3f}"
        relations.log(
            f"view {config.view!r}: reusing model version {previous.model_version} "
            f"(trained {previous.training_as_of_date}{psi_note})"
        )
        return models_frame([])

    reference = previous or latest_any
    try:
        model = fit_view(
            sample,
            config,
            as_of_date=as_of,
            previous=reference,
            version=(max(m.model_version for m in history) + 1) if history else 1,
            max_segment_id=max((m.max_segment_id for m in history), default=0),
            n_customers=sampler.rows_seen,
            fit_reason=decision.reason,
            fitted_at=datetime.now(UTC).replace(tzinfo=None),
            log=relations.log,
        )
    except ViewSkipped as skipped:
        relations.log(f"SKIPPED {skipped}; its columns in customer_segments will be null")
        return models_frame([])
    model = _with_psi(model, decision.max_psi)
    q = model.quality
    relations.log(
        f"view {config.view!r}: fitted version {model.model_version} ({decision.reason}): "
        f"{model.algorithm}, k={model.k}, silhouette={_fmt(q.get('silhouette'))}, "
        f"stability ARI={_fmt(q.get('stability_ari'))}, segments {model.segment_names}"
    )
    return models_frame([model])


def _with_psi(model: SegmentModel, max_psi: float | None) -> SegmentModel:
    from dataclasses import replace

    return replace(model, max_drift_psi=max_psi)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def _load_models(models_relation: Any) -> list[SegmentModel]:
    return _stored_models(relations.to_pandas(models_relation))


def build_assignments(dbt: Any, session: Any, features: Any, models_relation: Any, view: str) -> Any:
    """Body of ``segments__assignments_<view>``: every customer scored, streamed in chunks."""
    history = _load_models(models_relation)
    # The key leaves with the type it came in with: text ids stay text, never parsed as numbers.
    key_type = {"customer_id": relations.arrow_type_of(features, "customer_id")}
    if not history:
        relations.log(f"view {view!r}: no stored model (view skipped); no assignments")
        return relations.arrow_output(session, iter(()), empty_assignments(), key_type)
    columns = relations.columns_of(features)
    latest = history[-1]
    wanted = {"customer_id", "as_of_date", *(c for m in history for c in m.transform.input_columns)}
    read = [c for c in columns if c in wanted]
    chunk = int(latest.config.get("chunk_size", 100_000))

    def batches() -> Iterator[pd.DataFrame]:
        cache: dict[date | None, SegmentModel] = {}
        for batch in relations.iter_pandas(features, read, chunk):
            for key, part in split_by_date(batch):
                if key not in cache:
                    model = model_for_date(history, key)
                    if model is None:
                        raise ViewSkipped(
                            f"view {view!r}: no model trained on or before {key}; "
                            f"build segments__model_{view} for that date first"
                        )
                    cache[key] = model
                yield score_frame(cache[key], part, chunk)

    return relations.arrow_output(session, batches(), empty_assignments(), key_type)


def _profile_rows(
    model: SegmentModel,
    view: str,
    as_of: date | None,
    acc: ProfileAccumulator,
    confidence: dict[int, tuple[float, int]],
) -> list[dict[str, Any]]:
    rows = []
    for prof in acc.result():
        z = {k: v for k, v in prof.z_scores.items() if v is not None}
        top = sorted(z, key=lambda c: -abs(z[c]))[:5]
        total, count = confidence.get(prof.segment_id, (0.0, 0))
        rows.append(
            {
                "view": view,
                "as_of_date": pd.Timestamp(as_of) if as_of else pd.NaT,
                "segment_id": prof.segment_id,
                "segment_name": model.name_of(prof.segment_id),
                "model_version": model.model_version,
                "size": prof.size,
                "share": prof.share,
                "avg_confidence": total / count if count else None,
                "feature_means": json.dumps(prof.means, sort_keys=True),
                "feature_z_scores": json.dumps(prof.z_scores, sort_keys=True),
                "top_features": json.dumps({c: round(z[c], 3) for c in top}),
            }
        )
    return rows


def build_profiles(
    dbt: Any, session: Any, features: Any, assignments: Any, models_relation: Any, view: str
) -> pd.DataFrame:
    """Body of ``segments__profiles_<view>``: one row per segment and as_of_date."""
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in PROFILE_COLUMNS.items()})
    history = _load_models(models_relation)
    if not history:
        relations.log(f"view {view!r}: no stored model (view skipped); no profiles")
        return empty
    by_version = {m.model_version: m for m in history}
    columns = relations.columns_of(features)
    used = {c for m in history for c in m.transform.input_columns}
    feature_cols = ["customer_id", *[c for c in columns if c in used]]
    joined = relations.join_on(
        relations.project(features, feature_cols),
        relations.project(assignments, ["customer_id", "as_of_date", "segment_id", "confidence", "model_version"]),
        "customer_id",
    )
    accs: dict[tuple[date | None, int], ProfileAccumulator] = {}
    conf: dict[tuple[date | None, int], dict[int, tuple[float, int]]] = {}
    for batch in relations.iter_pandas(joined, None, 200_000):
        for as_of, dated in split_by_date(batch):
            versions = dated["model_version"].to_numpy(dtype=np.int64)
            for version in np.unique(versions):
                model = by_version[int(version)]
                part = dated[versions == version]
                key = (as_of, int(version))
                if key not in accs:
                    accs[key] = ProfileAccumulator.for_transform(model.transform)
                    conf[key] = {}
                seg = part["segment_id"].to_numpy(dtype=np.int64)
                accs[key].add(seg, part)
                segments, index = np.unique(seg, return_inverse=True)
                sums = np.bincount(index, weights=part["confidence"].to_numpy(dtype=np.float64))
                counts = np.bincount(index)
                for i, s_id in enumerate(segments):
                    total, count = conf[key].get(int(s_id), (0.0, 0))
                    conf[key][int(s_id)] = (total + float(sums[i]), count + int(counts[i]))
    rows: list[dict[str, Any]] = []
    for (as_of, version), acc in sorted(accs.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        rows.extend(_profile_rows(by_version[version], view, as_of, acc, conf[(as_of, version)]))
    if not rows:
        return empty
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS)).astype(PROFILE_COLUMNS)


CATALOG_COLUMNS: dict[str, str] = {
    "view": "string",
    "model_version": "Int64",
    "segment_id": "Int64",
    "segment_name": "string",
    "is_outlier_segment": "boolean",
    "training_size": "Int64",
    "training_share": "Float64",
    "stability_jaccard": "Float64",
    "is_latest_version": "boolean",
}


def catalog_rows(models: list[SegmentModel]) -> pd.DataFrame:
    """One row per segment of every model version: the ids each version can assign."""
    rows: list[dict[str, Any]] = []
    latest: dict[str, int] = {}
    for m in models:
        latest[m.view] = max(latest.get(m.view, 0), m.model_version)
    for m in models:
        ids = list(m.segment_ids) + ([0] if m.has_outliers else [])
        total = sum(m.training_sizes.values()) or 1
        jaccard = m.quality.get("segment_jaccard", {})
        for seg in ids:
            size = m.training_sizes.get(seg, 0)
            rows.append(
                {
                    "view": m.view,
                    "model_version": m.model_version,
                    "segment_id": seg,
                    "segment_name": m.name_of(seg),
                    "is_outlier_segment": seg == 0 and m.has_outliers,
                    "training_size": size,
                    "training_share": size / total,
                    "stability_jaccard": jaccard.get(str(seg)),
                    "is_latest_version": m.model_version == latest[m.view],
                }
            )
    frame = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    return frame.astype(CATALOG_COLUMNS)


def build_catalog(dbt: Any, session: Any, *models_relations: Any) -> pd.DataFrame:
    """Body of ``segment_catalog``: the segments of every stored model version."""
    models: list[SegmentModel] = []
    for relation in models_relations:
        models.extend(_load_models(relation))
    return catalog_rows(models)
