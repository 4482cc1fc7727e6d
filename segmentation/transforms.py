"""Feature transforms: signed log1p, imputation, robust/standard scaling and one-hot.

Parameters are learned on the training sample and stored as plain JSON inside the
segment model, so scoring a later month (or on another warehouse) applies exactly the
transform the clusters were fitted in. Each step exists for a reason:

* money and counts are heavily right-skewed; without a log the largest spenders
  dominate every distance, so configured columns get ``sign(x) * log1p(|x|)``;
* missing values (an open rate for a customer never emailed) are imputed with the
  training median, or zero, *after* the log, and so land at the centre of the data;
* scaling puts features on comparable units. Robust scaling uses the median and the
  interquartile range divided by 1.349 (equal to the standard deviation for normal
  data) and falls back to the standard deviation when the IQR is zero, which is common
  for share columns that are mostly 0;
* columns in a *scale group* (``scale_groups``, e.g. ``cat_share__*``) are parts of
  one composition measured in the same unit. Scaling each by its own spread would
  blow up a rarely bought category until a few of its buyers look like outliers
  and grab a segment of their own, so the group shares one scale, the pooled
  standard deviation ``sqrt(mean of the columns' variances)``; each column keeps its
  own centre;
* a feature that is constant (or entirely missing) in the sample carries no
  information and would divide by zero; it is dropped and the reason recorded.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmentation.config import ResolvedFeatures, ViewConfig

_IQR_TO_SD = 1.349
_EPS = 1e-12


class FeatureError(ValueError):
    """A feature column cannot be used as configured (e.g. text in a numeric feature)."""


@dataclass(frozen=True)
class NumericParams:
    name: str
    log: bool
    impute: float
    center: float
    scale: float


@dataclass(frozen=True)
class CategoricalParams:
    name: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class TransformParams:
    """Fitted transform; JSON round-trips through :meth:`to_dict` / :meth:`from_dict`."""

    numeric: tuple[NumericParams, ...]
    categorical: tuple[CategoricalParams, ...] = ()
    dropped: dict[str, str] = field(default_factory=dict)
    scaling: str = "robust"

    @property
    def input_columns(self) -> list[str]:
        return [p.name for p in self.numeric] + [p.name for p in self.categorical]

    @property
    def output_columns(self) -> list[str]:
        out = [p.name for p in self.numeric]
        for cat in self.categorical:
            out.extend(f"{cat.name}={level}" for level in cat.levels)
        return out

    @property
    def n_outputs(self) -> int:
        return len(self.output_columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scaling": self.scaling,
            "numeric": [asdict(p) for p in self.numeric],
            "categorical": [{"name": c.name, "levels": list(c.levels)} for c in self.categorical],
            "dropped": dict(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransformParams:
        return cls(
            numeric=tuple(NumericParams(**p) for p in data.get("numeric", [])),
            categorical=tuple(CategoricalParams(c["name"], tuple(c["levels"])) for c in data.get("categorical", [])),
            dropped=dict(data.get("dropped", {})),
            scaling=str(data.get("scaling", "robust")),
        )


def signed_log1p(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: a log that is defined for refunds and negative totals."""
    return np.sign(values) * np.log1p(np.abs(values))


def numeric_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column as float64 with NaN for missing; text that is not a number is an error."""
    series = frame[name]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiu":
        return series.to_numpy(dtype=np.float64)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("float64").to_numpy()
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        raise FeatureError(
            f"column {name!r}: expected numbers, found {example!r} "
            f"({int(bad.sum())} non-numeric values); list it under 'categorical' instead"
        )
    return converted.astype("float64").to_numpy()


def _robust_center_scale(values: np.ndarray) -> tuple[float, float]:
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    scale = (q75 - q25) / _IQR_TO_SD
    if scale <= _EPS:
        scale = float(np.std(values))
    return float(median), float(scale)


def fit_transform_params(frame: pd.DataFrame, features: ResolvedFeatures, config: ViewConfig) -> TransformParams:
    """Learn the transform for ``features`` on the training ``frame``."""
    numeric: list[NumericParams] = []
    dropped: dict[str, str] = {}
    group_of = {
        name: pattern
        for pattern in config.scale_groups
        for name in features.numeric
        if fnmatch.fnmatchcase(name.lower(), pattern.lower())
    }
    group_vars: dict[str, list[float]] = {}
    for name in features.numeric:
        values = numeric_column(frame, name)
        use_log = name in features.log
        if use_log:
            values = signed_log1p(values)
        present = values[~np.isnan(values)]
        if present.size == 0:
            dropped[name] = "all values missing"
            continue
        impute = float(np.median(present)) if config.impute == "median" else 0.0
        filled = np.where(np.isnan(values), impute, values)
        if float(np.ptp(filled)) <= _EPS:
            dropped[name] = "constant"
            continue
        if config.scaling == "robust":
            center, scale = _robust_center_scale(filled)
        elif config.scaling == "standard":
            center, scale = float(np.mean(filled)), float(np.std(filled))
        else:
            center, scale = 0.0, 1.0
        if name in group_of and config.scaling != "none":
            group_vars.setdefault(group_of[name], []).append(float(np.var(filled)))
        numeric.append(NumericParams(name, use_log, impute, center, scale))
    pooled = {g: float(np.sqrt(np.mean(v))) for g, v in group_vars.items()}
    numeric = [
        dataclasses.replace(p, scale=pooled[group_of[p.name]])
        if p.name in group_of and group_of[p.name] in pooled
        else p
        for p in numeric
    ]
    categorical: list[CategoricalParams] = []
    for name in features.categorical:
        series = frame[name].astype("string")
        counts = series.dropna().value_counts()
        if counts.empty:
            dropped[name] = "all values missing"
            continue
        ranked = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
        levels = tuple(str(level) for level, _ in ranked[: config.one_hot_max_levels])
        if len(levels) < 2 and series.notna().all():
            dropped[name] = "constant"
            continue
        categorical.append(CategoricalParams(name, levels))
    return TransformParams(tuple(numeric), tuple(categorical), dropped, config.scaling)


def apply_transform(params: TransformParams, frame: pd.DataFrame) -> np.ndarray:
    """Transform rows of ``frame`` into the scaled feature matrix (n_rows, n_outputs)."""
    missing = [c for c in params.input_columns if c not in frame.columns]
    if missing:
        raise FeatureError(f"columns {missing} used by the stored model are missing from the input")
    out = np.empty((len(frame), params.n_outputs), dtype=np.float64)
    for j, p in enumerate(params.numeric):
        values = numeric_column(frame, p.name)
        if p.log:
            values = signed_log1p(values)
        values = np.where(np.isnan(values), p.impute, values)
        out[:, j] = (values - p.center) / p.scale
    col = len(params.numeric)
    for cat in params.categorical:
        series = frame[cat.name].astype("string")
        for level in cat.levels:
            out[:, col] = (series == level).fillna(False).to_numpy(dtype=np.float64)
            col += 1
    return out


def unscale(params: TransformParams, matrix: np.ndarray) -> np.ndarray:
    """Map scaled points back to the log/imputed space (undo centring and scaling)."""
    out = np.array(matrix, dtype=np.float64, copy=True)
    for j, p in enumerate(params.numeric):
        out[:, j] = out[:, j] * p.scale + p.center
    return out


def to_original_units(params: TransformParams, matrix: np.ndarray) -> np.ndarray:
    """Map scaled points back to the feature's own units (undo scaling and the log)."""
    out = unscale(params, matrix)
    for j, p in enumerate(params.numeric):
        if p.log:
            out[:, j] = np.sign(out[:, j]) * np.expm1(np.abs(out[:, j]))
    return out


def rescale_points(old: TransformParams, new: TransformParams, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Express points scaled by ``old`` in the space of ``new``.

    Used to warm-start a refit from the previous centroids and to compare old and new
    centroids for matching. Numeric columns are mapped through the unscaled space
    (identical when the log flag agrees; re-logged otherwise); one-hot columns carry
    over by name. Columns the old model did not have are set to the new centre (0),
    and the returned boolean mask marks which output columns were actually shared.
    """
    old_cols = old.output_columns
    new_cols = new.output_columns
    unscaled = unscale(old, points)
    old_numeric = {p.name: (j, p) for j, p in enumerate(old.numeric)}
    result = np.zeros((points.shape[0], len(new_cols)), dtype=np.float64)
    shared = np.zeros(len(new_cols), dtype=bool)
    for j, p in enumerate(new.numeric):
        if p.name not in old_numeric:
            continue
        i, q = old_numeric[p.name]
        values = unscaled[:, i]
        if q.log and not p.log:
            values = np.sign(values) * np.expm1(np.abs(values))
        elif p.log and not q.log:
            values = signed_log1p(values)
        result[:, j] = (values - p.center) / p.scale
        shared[j] = True
    old_index = {name: i for i, name in enumerate(old_cols)}
    for j, name in enumerate(new_cols):
        if j < len(new.numeric):
            continue
        if name in old_index:
            result[:, j] = points[:, old_index[name]]
            shared[j] = True
    return result, shared
