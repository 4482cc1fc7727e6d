"""Fixtures for the demo data generator tests: small generated warehouses, built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from segmentation.demo import generate_demo_data
from tests.dbt_harness import query_duckdb

CUSTOMERS = 4000
SEED = 11


@dataclass(frozen=True)
class DemoDb:
    """A generated DuckDB file and what the generator reported writing."""

    path: Path
    counts: dict[str, int]
    customers: int
    seed: int

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return query_duckdb(self.path, sql, params)

    def scalar(self, sql: str) -> Any:
        return self.query(sql)[0][0]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    path = tmp_path_factory.mktemp("demo_full") / "demo.duckdb"
    counts = generate_demo_data(path, customers=CUSTOMERS, seed=SEED)
    return DemoDb(path, counts, CUSTOMERS, SEED)


@pytest.fixture(scope="session")
def minimal_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    path = tmp_path_factory.mktemp("demo_minimal") / "demo.duckdb"
    counts = generate_demo_data(path, customers=1500, seed=SEED, minimal=True)
    return DemoDb(path, counts, 1500, SEED)


@pytest.fixture(scope="session")
def early_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDb:
    """Generated with an end date other than the default."""
    path = tmp_path_factory.mktemp("demo_early") / "demo.duckdb"
    counts = generate_demo_data(path, customers=500, seed=SEED, end_date=date(2024, 3, 15))
    return DemoDb(path, counts, 500, SEED)
