"""`segments fit` on DuckDB: the same refit decision and fit as the dbt Python model.

A copy of the demo warehouse already holds version 1 of every model, fitted by the
dbt Python model. Fitting again through the dbt target must keep it (nothing
changed), `--dry-run` must write nothing, and `--refit` must append version 2,
warm-started and matched so segment ids and names carry over.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from tests.conftest import REPO_ROOT, DemoWarehouse
from tests.dbt_harness import dbt_env

pytestmark = pytest.mark.dbt


def _fit(path: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **dbt_env(path)}
    command = [sys.executable, "-m", "segmentation.fit_cli", "--project-dir", str(REPO_ROOT), *args]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)


def _versions(path: Path) -> list[tuple[int, str, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select model_version, fit_reason, parameters from main.segments__model_value order by model_version"
        ).fetchall()
    finally:
        con.close()
    return [(int(v), str(r), str(p)) for v, r, p in rows]


@pytest.fixture(scope="module")
def warehouse(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fit_cli") / "fit.duckdb"
    shutil.copy(demo_warehouse.path, path)
    return path


def test_fit_keeps_a_stored_model_that_still_fits(warehouse: Path, tmp_path: Path) -> None:
    before = _versions(warehouse)
    result = _fit(warehouse, tmp_path, "--view", "value")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "value: no new version" in result.stdout
    assert "reusing model version 1" in result.stdout + result.stderr
    assert _versions(warehouse) == before


def test_dry_run_writes_nothing(warehouse: Path, tmp_path: Path) -> None:
    before = _versions(warehouse)
    result = _fit(warehouse, tmp_path, "--view", "value", "--refit", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would write it to" in result.stdout
    assert _versions(warehouse) == before


def test_refit_appends_a_matched_version(warehouse: Path, tmp_path: Path) -> None:
    result = _fit(warehouse, tmp_path, "--view", "value", "--refit")
    assert result.returncode == 0, result.stdout + result.stderr
    versions = _versions(warehouse)
    assert [v for v, _, _ in versions] == [1, 2]
    assert versions[1][1] == "refit requested"
    first, second = json.loads(versions[0][2]), json.loads(versions[1][2])
    assert second["segment_ids"] == first["segment_ids"]
    assert second["segment_names"] == first["segment_names"]
    np.testing.assert_allclose(second["clusters"]["centroids"], first["clusters"]["centroids"], atol=1e-6)


def test_missing_features_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = _fit(empty, tmp_path, "--view", "value")
    assert result.returncode != 0
    assert "customer_features" in result.stderr
    assert "build the features first" in result.stderr
