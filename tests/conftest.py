"""Shared fixtures: a demo warehouse built once per test session, and the PostgreSQL server.

PostgreSQL tests run when ``SEGMENTS_TEST_POSTGRES=1`` (``make test`` sets it and
starts the server through ``scripts/postgres.sh``); Spark tests when
``SEGMENTS_TEST_SPARK=1`` (``make test-spark``). Without the variable they are
skipped with a reason, because they need a server or a JVM.
"""

from __future__ import annotations

import os
import subprocess
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (SEGMENTS_TEST_POSTGRES=1)")
    config.addinivalue_line("markers", "spark: needs PySpark and Java (SEGMENTS_TEST_SPARK=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    switches = {"postgres": "SEGMENTS_TEST_POSTGRES", "spark": "SEGMENTS_TEST_SPARK"}
    for item in items:
        for marker, variable in switches.items():
            if marker in item.keywords and os.environ.get(variable) != "1":
                target = "make test" if marker == "postgres" else "make test-spark"
                item.add_marker(pytest.mark.skip(reason=f"set {variable}=1 (or run `{target}`)"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """The PostgreSQL server of scripts/postgres.sh: the one `make test` started, else started here.

    Both use the script's data directory (SEGMENTS_PG_DIR or its default), so a
    server that is already running is reused and left running.
    """
    from tests.portability.engines import parse_exports

    script = REPO_ROOT / "scripts" / "postgres.sh"
    env = dict(os.environ)
    was_running = subprocess.run([str(script), "status"], env=env, check=False).returncode == 0
    started = subprocess.run([str(script), "start"], env=env, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed:\n{started.stdout}\n{started.stderr}")
    settings = parse_exports(started.stdout)
    yield settings
    if not was_running:
        subprocess.run([str(script), "stop"], env=env, check=False)
