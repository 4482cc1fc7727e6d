"""Feature drift between the training sample and today's customers (PSI).

At fit time each transformed feature gets decile bin edges and the share of training
points per bin. Later runs bin the current sample with the same edges and compute the
population stability index per feature:

    PSI = Σ_bins (p_now − p_train) · ln(p_now / p_train)

with shares floored at 1e-4 so an empty bin does not give infinity. Rules of thumb:
< 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift. The model is refit when the
largest feature PSI exceeds the view's ``drift_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_FLOOR = 1e-4


@dataclass(frozen=True)
class DriftReference:
    columns: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    shares: tuple[tuple[float, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "edges": [list(e) for e in self.edges],
            "shares": [list(s) for s in self.shares],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReference:
        return cls(
            tuple(data.get("columns", [])),
            tuple(tuple(float(x) for x in e) for e in data.get("edges", [])),
            tuple(tuple(float(x) for x in s) for s in data.get("shares", [])),
        )


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    bins = np.searchsorted(edges, values, side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    return counts / max(len(values), 1)


def build_reference(matrix: np.ndarray, columns: list[str], n_bins: int = 10) -> DriftReference:
    """Decile edges and bin shares of each transformed column of the training sample."""
    edges_all: list[tuple[float, ...]] = []
    shares_all: list[tuple[float, ...]] = []
    quantiles = np.linspace(0, 1, n_bins + 1)[1:-1]
    for j in range(matrix.shape[1]):
        column = matrix[:, j]
        edges = np.unique(np.quantile(column, quantiles)) if len(column) else np.array([])
        edges_all.append(tuple(float(e) for e in edges))
        shares_all.append(tuple(float(s) for s in _shares(column, edges)))
    return DriftReference(tuple(columns), tuple(edges_all), tuple(shares_all))


def psi(reference: DriftReference, matrix: np.ndarray) -> dict[str, float]:
    """PSI per column of ``matrix`` (same columns, same transform) against the reference."""
    out: dict[str, float] = {}
    if len(matrix) == 0:
        return out
    for j, name in enumerate(reference.columns):
        edges = np.asarray(reference.edges[j])
        ref = np.maximum(np.asarray(reference.shares[j]), _FLOOR)
        now = np.maximum(_shares(matrix[:, j], edges), _FLOOR)
        out[name] = float(np.sum((now - ref) * np.log(now / ref)))
    return out
