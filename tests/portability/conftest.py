"""Fixtures for the portability tests: real PostgreSQL and Spark warehouses.

The DuckDB side is the shared ``demo_warehouse`` (demo data, ``dbt build`` with the
dbt Python models). Each other engine gets the same raw tables, builds the features,
fits models with ``segments fit`` through its dbt target, receives the DuckDB
reference model as the newest version (so every engine scores with the same stored
JSON), and runs ``dbt build`` end to end.

The PostgreSQL server and the switches that skip these tests without it are in
tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DemoWarehouse
from tests.portability import engines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, steps in engines.TIMINGS.items():
        spent = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in steps.items())
        terminalreporter.write_line(f"portability on {name}: {spent}")


@pytest.fixture(scope="session")
def reference(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> engines.Reference:
    """The DuckDB build read once: features, stored Python models, assignments."""
    return engines.read_reference(demo_warehouse.path)


@pytest.fixture(scope="session")
def postgres_build(
    postgres_server: dict[str, str],
    demo_warehouse: DemoWarehouse,
    reference: engines.Reference,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[engines.EngineBuild]:
    """Demo data loaded into a fresh database, features built, models fitted, dbt build run."""
    database = f"segments_test_{uuid.uuid4().hex[:8]}"
    engine = engines.PostgresEngine(postgres_server, database)
    engine.create_database()
    try:
        workdir = tmp_path_factory.mktemp("postgres")
        yield engines.build_engine(engine, demo_warehouse.path, reference, workdir)
    finally:
        engine.drop_database()


@pytest.fixture(scope="session")
def spark_build(
    demo_warehouse: DemoWarehouse,
    reference: engines.Reference,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[engines.EngineBuild]:
    """Demo data in a local Spark session's Hive catalog, then the same flow as Postgres."""
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java (17) on PATH")
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail(f"Spark tests need dbt-spark[session] and pyspark: run scripts/spark.sh install ({sys.executable})")
    workdir = tmp_path_factory.mktemp("spark")
    # Derby and the warehouse must live where every process (loader, dbt, segments fit) finds them.
    home = Path(os.environ.get("SEGMENTS_SPARK_DIR", f"/tmp/segments-spark-test-{os.getuid()}")) / uuid.uuid4().hex[:8]
    engine = engines.SparkEngine(home)
    try:
        yield engines.build_engine(engine, demo_warehouse.path, reference, workdir)
    finally:
        shutil.rmtree(home, ignore_errors=True)
