"""The segmentation inside `dbt build` on demo data with planted personas.

Uses the session's demo warehouse (tests/conftest.py) for the read-only checks and
copies of it for the runs that change state, so other tests see an untouched file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from tests.conftest import DemoWarehouse
from tests.dbt_harness import run_dbt

pytestmark = pytest.mark.dbt

VIEWS = ("value", "behavioral", "channel")
SEGMENT_MODELS = "path:python_models path:models/segments path:seeds/segments__segment_name_overrides.csv"


def _df(path: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def _current_assignments(path: Path) -> pd.DataFrame:
    return _df(
        path,
        "select customer_id, view, segment_id, segment_name, confidence, model_version from main.segment_assignments "
        "where as_of_date = (select max(as_of_date) from main.customer_features) order by view, customer_id",
    )


def _build(path: Path, *args: str) -> str:
    result = run_dbt(["build", "--exclude", "test_type:unit", *args], path)
    assert result.ok, result.output[-5000:]
    return result.output


@pytest.fixture
def warehouse_copy(demo_warehouse: DemoWarehouse, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "copy.duckdb"
    shutil.copy(demo_warehouse.path, target)
    yield target


def test_each_view_recovers_the_planted_personas(demo_warehouse: DemoWarehouse) -> None:
    for view in VIEWS:
        frame = _df(
            demo_warehouse.path,
            f"select a.segment_id, p.{view}_persona as persona from main.segment_assignments a "
            f"join raw.demo_personas p using (customer_id) where a.view = '{view}'",
        )
        ari = adjusted_rand_score(frame["persona"], frame["segment_id"])
        assert ari >= 0.8, f"{view}: ARI {ari:.3f}"


def test_customer_segments_is_one_wide_row_per_customer(demo_warehouse: DemoWarehouse) -> None:
    wide = _df(demo_warehouse.path, "select * from main.customer_segments")
    features = _df(demo_warehouse.path, "select count(*) as n from main.customer_features")
    assert len(wide) == features.loc[0, "n"] and wide["customer_id"].is_unique
    for view in VIEWS:
        assert wide[f"{view}_segment_id"].notna().all()
        assert wide[f"{view}_confidence"].between(0, 1).all()
    models = _df(demo_warehouse.path, "select view, k, silhouette, stability_ari, is_latest from main.segment_models")
    assert set(models["view"]) == set(VIEWS) and models["is_latest"].all()


def test_rebuild_and_forced_refit_keep_ids(warehouse_copy: Path) -> None:
    first = _current_assignments(warehouse_copy)
    output = _build(warehouse_copy, "--select", SEGMENT_MODELS)
    assert "reusing model version 1" in output
    pd.testing.assert_frame_equal(_current_assignments(warehouse_copy), first)

    output = _build(warehouse_copy, "--select", SEGMENT_MODELS, "--vars", "{segments_refit: true}")
    assert "fitted version 2 (refit requested)" in output
    refit = _current_assignments(warehouse_copy)
    merged = first.merge(refit, on=["customer_id", "view"], suffixes=("", "_refit"))
    kept = (merged["segment_id"] == merged["segment_id_refit"]).groupby(merged["view"]).mean()
    assert (kept >= 0.95).all(), kept.to_dict()
    assert set(merged["model_version_refit"]) == {2}


def test_a_later_run_keeps_ids_of_customers_whose_features_did_not_change(warehouse_copy: Path) -> None:
    as_of = str(_df(warehouse_copy, "select max(as_of_date) as d from main.customer_features").loc[0, "d"])
    earlier = (pd.Timestamp(as_of) - pd.DateOffset(months=1)).date().isoformat()
    # --full-refresh rebuilds everything except the model history (full_refresh: false)
    _build(warehouse_copy, "--full-refresh", "--vars", f"{{as_of_date: '{earlier}'}}")
    history = _df(warehouse_copy, "select view, model_version, training_as_of_date from main.segment_models")
    assert len(history) == 6 and set(history["model_version"]) == {1, 2}
    before = _current_assignments(warehouse_copy)
    features_before = _df(warehouse_copy, "select * from main.customer_features")
    _build(warehouse_copy)
    after = _current_assignments(warehouse_copy)
    features_after = _df(warehouse_copy, "select * from main.customer_features")
    used = _df(
        warehouse_copy,
        "select view, parameters from main.segment_models where model_version = 2",
    )
    both = features_before.merge(features_after, on="customer_id", suffixes=("", "_later"))
    merged = before.merge(after, on=["customer_id", "view"], suffixes=("", "_later"))
    checked = {}
    for view, parameters in used.itertuples(index=False):
        columns = json.loads(parameters)["features"]
        same = both[columns].fillna(-1).to_numpy() == both[[f"{c}_later" for c in columns]].fillna(-1).to_numpy()
        unchanged = both.loc[same.all(axis=1), "customer_id"]
        rows = merged[(merged["view"] == view) & merged["customer_id"].isin(unchanged)]
        assert (rows["segment_id"] == rows["segment_id_later"]).all(), view
        checked[view] = len(rows)
    # recency moves with the calendar, so no value customer is unchanged a month later
    assert checked["behavioral"] > 100 and checked["channel"] > 100, checked
