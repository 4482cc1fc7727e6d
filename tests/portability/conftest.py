"""Fixtures for the portability tests: real PostgreSQL and Spark warehouses.

The DuckDB side is the shared ``demo_warehouse`` (demo data, ``dbt build`` with the
dbt Python models). Each other engine gets the same raw tables, builds the features,
fits models with ``segments fit`` through its dbt target, receives the DuckDB
reference model as the newest version (so every engine scores with the same stored
JSON), and runs ``dbt build`` end to end.

PostgreSQL tests run when ``SEGMENTS_TEST_POSTGRES=1`` (``make test`` sets it and
starts the server through ``scripts/postgres.sh``); Spark tests when
``SEGMENTS_TEST_SPARK=1`` (``make test-spark``). Without the variable they are
skipped with a reason, because they need a server or a JVM.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, DemoWarehouse
from tests.portability import engines


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, steps in engines.TIMINGS.items():
        spent = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in steps.items())
        terminalreporter.write_line(f"portability on {name}: {spent}")


@pytest.fixture(scope="session")
def reference(demo_warehouse: DemoWarehouse, tmp_path_factory: pytest.TempPathFactory) -> engines.Reference:
    """The DuckDB build read once: features, stored Python models, assignments."""
    return engines.read_reference(demo_warehouse.path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """The PostgreSQL server of scripts/postgres.sh: the one `make test` started, else started here.

    Both use the script's data directory (SEGMENTS_PG_DIR or its default), so a
    server that is already running is reused and left running.
    """
    script = REPO_ROOT / "scripts" / "postgres.sh"
    env = dict(os.environ)
    was_running = subprocess.run([str(script), "status"], env=env, check=False).returncode == 0
    started = subprocess.run([str(script), "start"], env=env, capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed:\n{started.stdout}\n{started.stderr}")
    settings = engines.parse_exports(started.stdout)
    yield settings
    if not was_running:
        subprocess.run([str(script), "stop"], env=env, check=False)


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
