"""Shared fixtures: a demo warehouse built once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dbt_harness import DbtResult, run_dbt

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CUSTOMERS = 3000
DEMO_SEED = 7


@dataclass(frozen=True)
class DemoWarehouse:
    """A DuckDB file holding demo raw data and the dbt build made from it."""

    path: Path
    build: DbtResult


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWarehouse]:
    from segmentation.demo import generate_demo_data

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    generate_demo_data(path, customers=DEMO_CUSTOMERS, seed=DEMO_SEED)
    result = run_dbt(["build"], path)
    assert result.ok, result.output
    yield DemoWarehouse(path=path, build=result)
