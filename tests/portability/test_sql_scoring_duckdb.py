"""SQL scoring on DuckDB gives exactly the Python scorer's assignments.

The demo warehouse was built with the dbt Python models (fit and score). A copy of it
is scored again by the SQL models (var segments_scoring: sql) from the same stored
models; every customer must get the same segment id, name and model version, and a
confidence within 1e-9. The generator is also checked for every algorithm the
package fits (k-means, mini-batch k-means, Ward, Gaussian mixture with full and
diagonal covariances, HDBSCAN with its outlier segment) against
segmentation.pipeline.score_frame.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation.config import parse_view_config
from segmentation.model_store import models_frame
from segmentation.pipeline import fit_view, score_frame
from tests.conftest import DemoWarehouse
from tests.dbt_harness import run_dbt
from tests.portability.compare import frame_differences

pytestmark = pytest.mark.dbt

VIEWS = ("value", "behavioral", "channel")


@pytest.fixture(scope="module")
def sql_scored(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo warehouse with the SQL scoring and profile models built too."""
    path = tmp_path_factory.mktemp("sql_scoring") / "scored.duckdb"
    shutil.copy(demo_warehouse.path, path)
    models = [f"segments__assignments_sql_{v}" for v in VIEWS] + [f"segments__profiles_sql_{v}" for v in VIEWS]
    result = run_dbt(["run", "--select", *models, "--vars", "{segments_scoring: sql}"], path)
    assert result.ok, result.output
    return path


def test_sql_assignments_equal_python(sql_scored: Path) -> None:
    with duckdb.connect(str(sql_scored), read_only=True) as con:
        for view in VIEWS:
            python = con.execute(f"select * from main.segments__assignments_{view}").df()
            sql = con.execute(f"select * from main.segments__assignments_sql_{view}").df()
            assert len(python) == len(sql) > 0
            same = frame_differences(
                python, sql, ["customer_id"], ["segment_id", "segment_name", "model_version", "view"], rtol=0, atol=0
            )
            assert not same, f"{view}: {same}"
            conf = frame_differences(python, sql, ["customer_id"], ["confidence"], rtol=0, atol=1e-9)
            assert not conf, f"{view}: {conf}"
            python_dates = pd.to_datetime(python["as_of_date"]).dt.date
            assert set(python_dates) == set(pd.to_datetime(sql["as_of_date"]).dt.date)


def test_sql_profiles_equal_python(sql_scored: Path) -> None:
    with duckdb.connect(str(sql_scored), read_only=True) as con:
        for view in VIEWS:
            python = con.execute(f"select * from main.segments__profiles_{view}").df()
            sql = con.execute(f"select * from main.segments__profiles_sql_{view}").df()
            plain = frame_differences(
                python, sql, ["segment_id"], ["size", "share", "avg_confidence", "segment_name", "model_version"]
            )
            assert not plain, f"{view}: {plain}"
            merged = python.merge(sql, on="segment_id", suffixes=("_py", "_sql"))
            for _, row in merged.iterrows():
                for column in ("feature_means", "feature_z_scores", "top_features"):
                    a, b = json.loads(row[f"{column}_py"]), json.loads(row[f"{column}_sql"])
                    assert list(a) == list(b), f"{view} {column}: keys {list(a)} vs {list(b)}"
                    for key in a:
                        assert (a[key] is None) == (b[key] is None), (view, column, key)
                        if a[key] is not None:
                            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-9), (view, column, key)


# ------------------------------------------------------------ every algorithm

ALGORITHMS = {
    "kmeans": {"algorithm": "kmeans", "k": 4},
    "minibatch": {"algorithm": "minibatch_kmeans", "k": 4},
    "ward": {"algorithm": "ward", "k": 3},
    "gmm_full": {"algorithm": "gmm", "k": 3, "gmm_covariance": "full"},
    "gmm_diag": {"algorithm": "gmm", "k": 3, "gmm_covariance": "diag"},
    "hdbscan": {"algorithm": "hdbscan", "hdbscan_min_cluster_size": 40},
    "single": {"algorithm": "kmeans", "k": 1},
}


def test_every_algorithm_scores_like_python(demo_warehouse: DemoWarehouse, tmp_path: Path) -> None:
    path = tmp_path / "algorithms.duckdb"
    shutil.copy(demo_warehouse.path, path)
    con = duckdb.connect(str(path))
    features = con.execute("select * from main.customer_features order by customer_id").df()
    base = {
        "view": "value",
        "features": ["recency_days", "frequency", "monetary_total", "avg_order_value", "email_open_rate"],
        "log_features": ["frequency", "monetary_total", "avg_order_value"],
        "scaling": "robust",
        "n_init": 1,
        "stability_resamples": 1,
        "sample_size": 1500,
    }
    sample = features.sample(n=1500, random_state=1).reset_index(drop=True)
    as_of = pd.Timestamp(features["as_of_date"].iloc[0]).date()
    expected: dict[str, pd.DataFrame] = {}
    for name, settings in ALGORITHMS.items():
        config = parse_view_config({**base, **settings})
        model = fit_view(
            sample,
            config,
            as_of_date=as_of,
            previous=None,
            version=1,
            max_segment_id=0,
            n_customers=len(features),
            fit_reason="test",
            fitted_at=datetime(2026, 1, 1),
        )
        if name == "hdbscan":
            assert model.has_outliers, "HDBSCAN found no clusters; the outlier path would go untested"
        frame = models_frame([model])
        con.register("model_rows", frame)
        con.execute(f"create or replace table main.algo_{name} as select * from model_rows")
        con.unregister("model_rows")
        expected[name] = score_frame(model, features)
    con.close()

    names = list(ALGORITHMS)
    args = json.dumps({"histories": [f"algo_{n}" for n in names]})
    result = run_dbt(["run-operation", "segments_print_scoring_sql", "--args", args], path)
    assert result.ok, result.output
    with duckdb.connect(str(path), read_only=True) as con:
        for name in names:
            begin, end = f"-- segments-scoring-sql-begin algo_{name}", f"-- segments-scoring-sql-end algo_{name}"
            sql = result.output.split(begin, 1)[1].split(end, 1)[0]
            actual = con.execute(sql).df()
            want = expected[name]
            assert len(actual) == len(want)
            ids = frame_differences(want, actual, ["customer_id"], ["segment_id", "segment_name"], rtol=0, atol=0)
            assert not ids, f"{name}: {ids}"
            conf = frame_differences(want, actual, ["customer_id"], ["confidence"], rtol=0, atol=1e-9)
            assert not conf, f"{name}: {conf}"
            if name == "hdbscan":
                assert (np.asarray(actual["segment_id"]) == 0).any(), "no outlier was scored"
