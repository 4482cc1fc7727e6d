"""Comparing tables built on two engines: same rows, same values within a tolerance."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd


def _as_float(series: pd.Series) -> np.ndarray | None:
    """The column as float64 if every non-null value is a number (incl. Decimal), else None."""
    values = series.dropna()
    if values.empty:
        return series.astype("float64").to_numpy() if len(series) else np.array([])
    sample = values.iloc[0]
    if isinstance(sample, bool | np.bool_):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype) or isinstance(sample, int | float | Decimal | np.number):
        return pd.to_numeric(series, errors="raise").astype("float64").to_numpy()
    return None


def _as_text(series: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for value in series:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            out.append(None)
        elif isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
            out.append(str(pd.Timestamp(value)))
        else:
            out.append(str(value))
    return out


def frame_differences(
    expected: pd.DataFrame,
    actual: pd.DataFrame,
    key: Sequence[str],
    columns: Sequence[str] | None = None,
    rtol: float = 1e-9,
    atol: float = 1e-9,
) -> list[str]:
    """Human-readable differences between two frames joined on ``key`` (empty list: equal)."""
    problems: list[str] = []
    expected = expected.rename(columns=str.lower)
    actual = actual.rename(columns=str.lower)
    cols = list(columns) if columns is not None else [c for c in expected.columns if c not in key]
    missing = [c for c in cols if c not in actual.columns]
    if missing:
        return [f"columns missing: {missing}"]
    left = expected[list(key) + cols].copy()
    right = actual[list(key) + cols].copy()
    for frame in (left, right):
        for k in key:
            frame[k] = _as_text(frame[k])
    merged = left.merge(right, on=list(key), how="outer", suffixes=("_expected", "_actual"), indicator=True)
    only = merged["_merge"].value_counts()
    if only.get("left_only", 0) or only.get("right_only", 0):
        problems.append(f"rows only expected: {only.get('left_only', 0)}, only actual: {only.get('right_only', 0)}")
    both = merged[merged["_merge"] == "both"]
    for col in cols:
        a, b = both[f"{col}_expected"], both[f"{col}_actual"]
        fa, fb = _as_float(a), _as_float(b)
        if fa is not None and fb is not None:
            nan_mismatch = int((np.isnan(fa) != np.isnan(fb)).sum())
            ok = np.isclose(fa, fb, rtol=rtol, atol=atol, equal_nan=True)
            if nan_mismatch or not ok.all():
                worst = float(np.nanmax(np.abs(fa - fb))) if len(fa) else 0.0
                problems.append(f"{col}: {int((~ok).sum())} values differ (max abs diff {worst:.3g})")
            continue
        ta, tb = _as_text(a), _as_text(b)
        diffs = sum(1 for x, y in zip(ta, tb, strict=True) if x != y)
        if diffs:
            example = next((x, y) for x, y in zip(ta, tb, strict=True) if x != y)
            problems.append(f"{col}: {diffs} values differ, e.g. {example[0]!r} vs {example[1]!r}")
    return problems


def model_differences(expected: Mapping[str, Any], actual: Mapping[str, Any], tol: float = 1e-6) -> list[str]:
    """Differences between two stored model rows in what scoring uses."""
    pe, pa = json.loads(str(expected["parameters"])), json.loads(str(actual["parameters"]))
    problems = []
    for key in ("features", "segment_ids", "segment_names"):
        if pe[key] != pa[key]:
            problems.append(f"{key}: {pe[key]} vs {pa[key]}")
    ce = np.asarray(pe["clusters"]["centroids"], dtype=float)
    ca = np.asarray(pa["clusters"]["centroids"], dtype=float)
    if ce.shape != ca.shape or not np.allclose(ce, ca, atol=tol):
        problems.append(f"centroids differ (shapes {ce.shape} vs {ca.shape})")
    te, ta = pe["transform"]["numeric"], pa["transform"]["numeric"]
    for p, q in zip(te, ta, strict=False):
        for field in ("center", "scale", "impute"):
            if abs(float(p[field]) - float(q[field])) > tol * max(1.0, abs(float(p[field]))):
                problems.append(f"transform {p['name']}.{field}: {p[field]} vs {q[field]}")
    return problems
