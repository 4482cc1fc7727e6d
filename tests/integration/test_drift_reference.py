"""segment_drift_reference on the demo build: decile edges and bin counts recomputed independently."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from tests.conftest import DemoWarehouse
from tests.dbt_harness import query_duckdb


def test_decile_edges_and_counts_match_numpy(demo_warehouse: DemoWarehouse) -> None:
    """The edges the model reads at compile time are the features' deciles, and every customer sits in one bin."""
    path = demo_warehouse.path
    bins: dict[tuple[str, str], dict[int, tuple[float | None, float | None, int]]] = defaultdict(dict)
    for view, measure, bin_, lower, upper, customers in query_duckdb(
        path,
        "select view, measure, bin, lower_edge, upper_edge, customers from main.segment_drift_reference "
        "where binning = 'deciles'",
    ):
        bins[(view, measure)][bin_] = (lower, upper, customers)
    assert len(bins) >= 20
    for (view, measure), by_bin in bins.items():
        column = [v for (v,) in query_duckdb(path, f'select "{measure}" from main.customer_features')]
        values = np.array([float(v) for v in column if v is not None])
        assert by_bin[-1][2] == len(column) - len(values), (view, measure)
        deciles = np.quantile(values, [i / 10 for i in range(1, 10)])
        assert sorted(by_bin) == list(range(-1, 10)), (view, measure)
        for i, edge in enumerate(deciles, start=1):
            assert by_bin[i][0] == pytest.approx(edge, rel=1e-12, abs=1e-12), (view, measure, i)
            assert by_bin[i - 1][1] == pytest.approx(edge, rel=1e-12, abs=1e-12), (view, measure, i - 1)
        assert by_bin[9][1] is None and by_bin[0][0] is None
        stored_edges = np.array([by_bin[b][0] for b in range(1, 10)], dtype=float)
        expected = np.bincount(np.searchsorted(stored_edges, values, side="right"), minlength=10)
        assert [by_bin[b][2] for b in range(10)] == expected.tolist(), (view, measure)
