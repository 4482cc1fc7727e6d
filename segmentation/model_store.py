"""A fitted segmentation as one JSON-serialisable record, and its table row.

Everything scoring needs (feature list, transform parameters, cluster arrays, the
stable segment ids and names) plus everything an analyst wants to audit (training
date, reason for the fit, quality metrics, the automatic-k sweep, the matching to the
previous version) lives in :class:`SegmentModel`. The warehouse stores it as a row of
``segments__model_<view>`` with the headline numbers as columns and the rest as JSON, so
the model history is queryable and scoring works on any platform.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from segmentation.algorithms import OUTLIER, ClusterModel
from segmentation.drift import DriftReference
from segmentation.matching import OUTLIER_SEGMENT_ID
from segmentation.transforms import TransformParams

SCHEMA_VERSION = 1

MODEL_COLUMNS: dict[str, str] = {
    "view": "string",
    "model_version": "Int64",
    "algorithm": "string",
    "k": "Int64",
    "fitted_at": "datetime64[us]",
    "training_as_of_date": "datetime64[us]",
    "fit_reason": "string",
    "n_customers": "Int64",
    "n_train": "Int64",
    "silhouette": "Float64",
    "calinski_harabasz": "Float64",
    "davies_bouldin": "Float64",
    "stability_ari": "Float64",
    "max_drift_psi": "Float64",
    "segment_ids": "string",
    "segment_names": "string",
    "segment_jaccard": "string",
    "parameters": "string",
    "quality": "string",
    "config_fingerprint": "string",
}


@dataclass(frozen=True)
class SegmentModel:
    view: str
    model_version: int
    algorithm: str
    fitted_at: datetime
    training_as_of_date: date | None
    fit_reason: str
    features: tuple[str, ...]
    transform: TransformParams
    clusters: ClusterModel
    segment_ids: tuple[int, ...]
    segment_names: dict[int, str]
    max_segment_id: int
    config: dict[str, Any]
    config_fingerprint: str
    n_customers: int
    n_train: int
    quality: dict[str, Any] = field(default_factory=dict)
    drift_reference: DriftReference | None = None
    training_sizes: dict[int, int] = field(default_factory=dict)
    max_drift_psi: float | None = None

    @property
    def k(self) -> int:
        return len(self.segment_ids)

    @property
    def has_outliers(self) -> bool:
        return self.clusters.radii is not None

    def ids_for(self, labels: np.ndarray) -> np.ndarray:
        """Map cluster indices (``-1`` = outlier) to stable segment ids."""
        lookup = np.asarray(self.segment_ids, dtype=np.int64)
        ids = np.full(labels.shape, OUTLIER_SEGMENT_ID, dtype=np.int64)
        inside = labels != OUTLIER
        ids[inside] = lookup[labels[inside]]
        return ids

    def name_of(self, segment_id: int) -> str:
        if segment_id == OUTLIER_SEGMENT_ID and self.has_outliers:
            return self.segment_names.get(OUTLIER_SEGMENT_ID, "Outliers")
        return self.segment_names.get(segment_id, f"Segment {segment_id}")

    # ------------------------------------------------------------------ JSON

    def parameters(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "view": self.view,
            "features": list(self.features),
            "transform": self.transform.to_dict(),
            "clusters": self.clusters.to_dict(),
            "segment_ids": list(self.segment_ids),
            "segment_names": {str(k): v for k, v in sorted(self.segment_names.items())},
            "max_segment_id": self.max_segment_id,
            "training_sizes": {str(k): v for k, v in sorted(self.training_sizes.items())},
            "config": self.config,
            "drift_reference": None if self.drift_reference is None else self.drift_reference.to_dict(),
        }

    def to_row(self) -> dict[str, Any]:
        q = self.quality
        return {
            "view": self.view,
            "model_version": self.model_version,
            "algorithm": self.algorithm,
            "k": self.k,
            "fitted_at": pd.Timestamp(self.fitted_at).tz_localize(None)
            if pd.Timestamp(self.fitted_at).tzinfo
            else pd.Timestamp(self.fitted_at),
            "training_as_of_date": None if self.training_as_of_date is None else pd.Timestamp(self.training_as_of_date),
            "fit_reason": self.fit_reason,
            "n_customers": self.n_customers,
            "n_train": self.n_train,
            "silhouette": q.get("silhouette"),
            "calinski_harabasz": q.get("calinski_harabasz"),
            "davies_bouldin": q.get("davies_bouldin"),
            "stability_ari": q.get("stability_ari"),
            "max_drift_psi": self.max_drift_psi,
            "segment_ids": json.dumps(list(self.segment_ids)),
            "segment_names": _dumps({str(k): v for k, v in sorted(self.segment_names.items())}),
            "segment_jaccard": _dumps(q.get("segment_jaccard", {})),
            "parameters": _dumps(self.parameters()),
            "quality": _dumps(q),
            "config_fingerprint": self.config_fingerprint,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SegmentModel:
        params = json.loads(str(row["parameters"]))
        quality = json.loads(str(row["quality"])) if _present(row.get("quality")) else {}
        as_of: Any = row.get("training_as_of_date")
        fitted: Any = row.get("fitted_at")
        drift = params.get("drift_reference")
        psi: Any = row.get("max_drift_psi")
        return cls(
            view=str(row["view"]),
            model_version=int(row["model_version"]),
            algorithm=str(row["algorithm"]),
            fitted_at=pd.Timestamp(fitted).to_pydatetime() if _present(fitted) else datetime.min,
            training_as_of_date=pd.Timestamp(as_of).date() if _present(as_of) else None,
            fit_reason=str(row.get("fit_reason") or ""),
            features=tuple(params["features"]),
            transform=TransformParams.from_dict(params["transform"]),
            clusters=ClusterModel.from_dict(params["clusters"]),
            segment_ids=tuple(int(i) for i in params["segment_ids"]),
            segment_names={int(k): str(v) for k, v in params["segment_names"].items()},
            max_segment_id=int(params["max_segment_id"]),
            config=dict(params.get("config", {})),
            config_fingerprint=str(row.get("config_fingerprint") or ""),
            n_customers=int(row.get("n_customers") or 0),
            n_train=int(row.get("n_train") or 0),
            quality=quality,
            drift_reference=None if drift is None else DriftReference.from_dict(drift),
            training_sizes={int(k): int(v) for k, v in params.get("training_sizes", {}).items()},
            max_drift_psi=float(psi) if _present(psi) else None,
        )


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _clean(value: Any) -> Any:
    """Make numpy scalars and non-finite floats JSON-safe (NaN becomes null)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_clean(value), sort_keys=True, separators=(",", ":"))


def models_frame(models: Sequence[SegmentModel]) -> pd.DataFrame:
    """Rows for ``segments__model_<view>`` with stable dtypes (also when empty)."""
    rows = [m.to_row() for m in models]
    frame = pd.DataFrame(rows, columns=list(MODEL_COLUMNS))
    return frame.astype(MODEL_COLUMNS)


def models_from_frame(frame: pd.DataFrame) -> list[SegmentModel]:
    """Parse stored rows back into models, oldest version first."""
    models = [SegmentModel.from_row({str(k): v for k, v in row.items()}) for row in frame.to_dict("records")]
    return sorted(models, key=lambda m: m.model_version)


def model_for_date(models: Sequence[SegmentModel], as_of_date: date | None) -> SegmentModel | None:
    """The newest model trained on or before ``as_of_date`` (a past run reuses what
    was known then); ``None`` if there is none."""
    eligible = [
        m for m in models if as_of_date is None or m.training_as_of_date is None or m.training_as_of_date <= as_of_date
    ]
    return max(eligible, key=lambda m: m.model_version) if eligible else None
